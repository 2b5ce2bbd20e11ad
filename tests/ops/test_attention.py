"""Parity of attention: scaled_dot_product_attention (and ONNX Attention from opset 23),
nn.MultiheadAttention and nn.TransformerEncoderLayer (their fused fast paths
aten::_native_multi_head_attention and aten::_transformer_encoder_layer_fwd, and the slow paths
they fall back to), baddbmm and einsum.

Masks given as model inputs share a sequence dim with the query, and a symbolic dim cannot span
two inputs yet (only the batch dim is grouped across inputs), so those cases keep sequences
static; the dynamic-sequence cases derive their padding masks inside the model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from converter import ConvertOptions, TranslationError, convert
from tests.harness import OpCase, assert_parity, onnx_op_types, save_archive

E, HEADS, FFN = 16, 4, 32  # d_model, heads, feed-forward width of the nn layers


# ---- modules: scaled_dot_product_attention ---------------------------------------------------
class _Sdpa(nn.Module):
    """SDPA of q on kv; the value is 2*kv - 1, so key and value share the length S."""

    def __init__(self, causal: bool = False, scale: float | None = None, gqa: bool = False) -> None:
        super().__init__()
        self.causal, self.gqa = causal, gqa
        self.scale: float | None = scale

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        v = kv * 2.0 - 1.0
        return F.scaled_dot_product_attention(
            q, kv, v, is_causal=self.causal, scale=self.scale, enable_gqa=self.gqa
        )


class _SdpaMask(nn.Module):
    """SDPA with a mask input (bool: True attends; float: added to the scores)."""

    def __init__(self, causal: bool = False) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q: torch.Tensor, kv: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(
            q, kv, kv * 2.0 - 1.0, attn_mask=mask, is_causal=self.causal
        )


class _SdpaDropout(nn.Module):
    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, kv, kv, dropout_p=0.2)


class _SelfAttention(nn.Module):
    """Heads split from x [B, L, E]; a key padding mask derived from x (so L can change).

    ``mask``: "bool" (keep-mask), "float" (0 / -inf), "bias" (a float bias from x) or "none".
    """

    def __init__(self, mask: str = "bool", heads: int = 2, causal: bool = False) -> None:
        super().__init__()
        self.mask, self.heads, self.causal = mask, heads, causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, e = x.size(0), x.size(1), x.size(2)
        h = x.view(b, n, self.heads, e // self.heads).transpose(1, 2)
        keep = (x[:, :, 0] > -1.0)[:, None, None, :]
        mask: torch.Tensor | None = None
        if self.mask == "bool":
            mask = keep
        elif self.mask == "float":
            pad = x[:, :, 0] <= -1.0
            mask = torch.zeros_like(x[:, :, 0]).masked_fill(pad, float("-inf"))[:, None, None, :]
        elif self.mask == "bias":
            mask = torch.matmul(h, h.transpose(-2, -1)) * 0.1
        return F.scaled_dot_product_attention(
            h, h * 0.5, h + 1.0, attn_mask=mask, is_causal=self.causal
        )


# ---- modules: nn.MultiheadAttention and its fused op -----------------------------------------
class _Mha(nn.Module):
    """nn.MultiheadAttention self-attention; mask from x, a causal buffer or both."""

    def __init__(
        self,
        batch_first: bool = True,
        need_weights: bool = True,
        average: bool = True,
        pad: bool = False,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=batch_first)
        self.batch_first, self.need_weights, self.average = batch_first, need_weights, average
        self.pad, self.causal = pad, causal
        self.register_buffer("causal_mask", torch.ones(5, 5, dtype=torch.bool).triu(1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad: torch.Tensor | None = None
        if self.pad:
            pad = x[:, :, 0] > 1.0 if self.batch_first else (x[:, :, 0] > 1.0).transpose(0, 1)
        mask = self.causal_mask if self.causal else None
        y, w = self.attn(
            x,
            x,
            x,
            key_padding_mask=pad,
            attn_mask=mask,
            need_weights=self.need_weights,
            average_attn_weights=self.average,
        )
        if w is None:
            return y, y.sum(-1)
        return y, w


class _MhaPadInput(nn.Module):
    """nn.MultiheadAttention with the key padding mask as an input (True = padding)."""

    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=batch_first)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, w = self.attn(x, x, x, key_padding_mask=pad)
        assert w is not None
        return y, w


class _MhaCross(nn.Module):
    """Cross-attention with distinct query, key and value (no fast path).

    Key and value are separate tensors: with `key is value` the slow path splits the packed
    weight with sizes computed from the traced embed_dim, which is not translated yet.
    """

    def __init__(self, need_weights: bool = False) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
        return self.attn(x, key, value, need_weights=self.need_weights)[0]


class _NativeMha(nn.Module):
    """torch._native_multi_head_attention called directly (scriptable)."""

    def __init__(
        self,
        need_weights: bool = True,
        average: bool = True,
        mask_type: int | None = None,
        cross: bool = False,
    ) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)
        self.need_weights, self.average, self.cross = need_weights, average, cross
        self.mask_type: int | None = mask_type

    def forward(
        self, x: torch.Tensor, other: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        kv = x
        mask: torch.Tensor | None = None
        if self.cross:
            assert other is not None
            kv = other
        else:
            mask = other
        w, b = self.attn.in_proj_weight, self.attn.in_proj_bias
        assert w is not None and b is not None
        y, weights = torch._native_multi_head_attention(
            x,
            kv,
            kv,
            self.attn.embed_dim,
            self.attn.num_heads,
            w,
            b,
            self.attn.out_proj.weight,
            self.attn.out_proj.bias,
            mask,
            self.need_weights,
            self.average,
            self.mask_type,
        )
        if not self.need_weights:
            return y, y.sum(-1)
        return y, weights


# ---- modules: nn.TransformerEncoderLayer and its fused op ------------------------------------
def _layer(norm_first: bool = False, activation: str = "relu", batch_first: bool = True) -> Any:
    return nn.TransformerEncoderLayer(
        E,
        HEADS,
        FFN,
        dropout=0.1,
        activation=activation,
        norm_first=norm_first,
        batch_first=batch_first,
    )


class _Encoder(nn.Module):
    """One encoder layer; padding mask from x and/or a causal buffer (bool, True = masked)."""

    def __init__(self, pad: bool = False, causal: bool = False, **kwargs: Any) -> None:
        super().__init__()
        self.layer = _layer(**kwargs)
        self.batch_first = self.layer.self_attn.batch_first
        self.pad, self.causal = pad, causal
        self.register_buffer("causal_mask", torch.ones(5, 5, dtype=torch.bool).triu(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad: torch.Tensor | None = None
        if self.pad:
            pad = x[:, :, 0] > 1.0 if self.batch_first else (x[:, :, 0] > 1.0).transpose(0, 1)
        mask = self.causal_mask if self.causal else None
        return self.layer(x, src_mask=mask, src_key_padding_mask=pad)


class _EncoderPadInput(nn.Module):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.layer = _layer(**kwargs)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        return self.layer(x, src_key_padding_mask=pad)


class _NativeEncoder(nn.Module):
    """torch._transformer_encoder_layer_fwd called directly (scriptable)."""

    def __init__(
        self, norm_first: bool = False, use_gelu: bool = False, mask_type: int | None = None
    ) -> None:
        super().__init__()
        self.layer = _layer(norm_first, "gelu" if use_gelu else "relu")
        self.norm_first, self.use_gelu = norm_first, use_gelu
        self.mask_type: int | None = mask_type

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        layer = self.layer
        w, b = layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias
        assert w is not None and b is not None
        return torch._transformer_encoder_layer_fwd(
            x,
            layer.self_attn.embed_dim,
            layer.self_attn.num_heads,
            w,
            b,
            layer.self_attn.out_proj.weight,
            layer.self_attn.out_proj.bias,
            self.use_gelu,
            self.norm_first,
            layer.norm1.eps,
            layer.norm1.weight,
            layer.norm1.bias,
            layer.norm2.weight,
            layer.norm2.bias,
            layer.linear1.weight,
            layer.linear1.bias,
            layer.linear2.weight,
            layer.linear2.bias,
            mask,
            self.mask_type,
        )


# ---- modules: baddbmm and einsum -------------------------------------------------------------
class _Baddbmm(nn.Module):
    def __init__(self, beta: float = 1.0, alpha: float = 1.0) -> None:
        super().__init__()
        self.beta, self.alpha = beta, alpha

    def forward(self, c: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(c, a, b, beta=self.beta, alpha=self.alpha)


class _Einsum(nn.Module):
    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, a, b)


class _Einsum1(nn.Module):
    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, a)


# ---- inputs ----------------------------------------------------------------------------------
def _qkv() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 4, 5, 8), torch.randn(2, 4, 7, 8)


def _qkv_3d() -> tuple[torch.Tensor, ...]:
    return torch.randn(3, 5, 8), torch.randn(3, 7, 8)


def _qkv_5d() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 2, 3, 5, 8), torch.randn(2, 2, 3, 7, 8)


def _qkv_gqa() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 6, 5, 8), torch.randn(2, 2, 7, 8)


def _qkv_one_kv_head() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 4, 5, 8), torch.randn(2, 1, 7, 8)


def _qkv_bool_mask() -> tuple[torch.Tensor, ...]:
    """A keep-mask broadcast over heads, with query row 1 of batch 0 attending nowhere."""
    mask = torch.rand(2, 1, 5, 7) > 0.3
    mask[0, 0, 1] = False
    return (*_qkv(), mask)


def _qkv_float_mask() -> tuple[torch.Tensor, ...]:
    mask = torch.randn(2, 4, 5, 7)
    mask[1, 2, 3] = float("-inf")  # a row with no key: zeros, as PyTorch gives
    return (*_qkv(), mask)


def _qkv_square_mask() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 4, 6, 8), torch.randn(2, 4, 6, 8), torch.rand(6, 6) > 0.3


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 5, E),)


def _x_seq_first() -> tuple[torch.Tensor, ...]:
    return (torch.randn(5, 2, E),)


def _padding() -> torch.Tensor:
    pad = torch.zeros(2, 5, dtype=torch.bool)
    pad[1, 3:] = True
    return pad


def _x_pad() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 5, E), _padding()


def _x_seq_first_pad() -> tuple[torch.Tensor, ...]:
    return torch.randn(5, 2, E), _padding()


def _x_fully_padded() -> tuple[torch.Tensor, ...]:
    """Batch 1 is all padding: PyTorch's fused path gives NaN there."""
    pad = _padding()
    pad[1] = True
    return torch.randn(2, 5, E), pad


def _x_float_pad() -> tuple[torch.Tensor, ...]:
    """A float padding mask: the fused kernel masks every non-zero entry (0.5 too)."""
    mask = torch.zeros(2, 5)
    mask[0, 4] = float("-inf")
    mask[1, 2] = 0.5
    return torch.randn(2, 5, E), mask


def _x_causal_2d() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 5, E), torch.ones(5, 5, dtype=torch.bool).triu(1)


def _x_mask_4d() -> tuple[torch.Tensor, ...]:
    mask = torch.rand(2, HEADS, 5, 5) > 0.7
    return torch.randn(2, 5, E), mask


def _x_memory() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 5, E), torch.randn(2, 5, E)


def _x_cross() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 4, E), torch.randn(2, 6, E), torch.randn(2, 6, E)


def _bmm() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 5), torch.randn(2, 3, 4), torch.randn(2, 4, 5)


def _bmm_broadcast() -> tuple[torch.Tensor, ...]:
    return torch.randn(3, 1), torch.randn(2, 3, 4), torch.randn(2, 4, 5)


def _bmm_nan_self() -> tuple[torch.Tensor, ...]:
    c, a, b = _bmm()
    c[0, 0, 0], c[1, 1, 1] = float("nan"), float("inf")
    return c, a, b


def _pair(*shapes: tuple[int, ...]) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: tuple(torch.randn(*s) for s in shapes)


def _ints() -> tuple[torch.Tensor, ...]:
    return torch.randint(-4, 5, (3, 4)), torch.randint(-4, 5, (4, 2))


# Dynamic dims: batch (dim 0 of every input of rank >= 2) by default, plus these.
_SDPA_SEQ: dict[str, Any] = {"dynamic_dims": {0: (2,), 1: (2,)}}  # L of q, S of kv
_SDPA_SEQ_3D: dict[str, Any] = {"dynamic_dims": {0: (1,), 1: (1,)}}
_SEQ: dict[str, Any] = {"dynamic_dims": {0: (1,)}}  # [B, L, E]
_SEQ_FIRST: dict[str, Any] = {"dynamic_dims": {0: (0, 1)}}  # [L, B, E]: L is "batch" here
_STATIC: dict[str, Any] = {"dynamic_batch": False}

_SDPA_OPS = frozenset({"Mul", "Sub", "Transpose", "MatMul", "Softmax"})
_SAFE_SOFTMAX = frozenset({"ReduceMax", "Equal", "Where"})
_CAUSAL_OPS = frozenset({"Shape", "Squeeze", "Range", "Unsqueeze", "LessOrEqual", "Where", "Add"})
_MHA_OPS = frozenset({"MatMul", "Transpose", "Add", "Split", "Reshape", "Mul", "Softmax"})
_WEIGHTS_AVG = frozenset({"ReduceSum", "Div"})

CASES = [
    # ---- scaled_dot_product_attention: decomposition ----
    OpCase("sdpa", _Sdpa, _qkv, expect_ops=_SDPA_OPS, **_SDPA_SEQ),
    OpCase("sdpa_causal", lambda: _Sdpa(causal=True), _qkv, expect_ops=_SDPA_OPS | _CAUSAL_OPS,
           **_SDPA_SEQ),
    OpCase("sdpa_scale", lambda: _Sdpa(scale=0.3), _qkv, expect_ops=_SDPA_OPS),
    OpCase("sdpa_bool_mask", _SdpaMask, _qkv_bool_mask,
           expect_ops=_SDPA_OPS | _SAFE_SOFTMAX | {"Add"}),
    OpCase("sdpa_float_mask", _SdpaMask, _qkv_float_mask,
           expect_ops=_SDPA_OPS | _SAFE_SOFTMAX | {"Add"}),
    OpCase("sdpa_causal_and_mask", lambda: _SdpaMask(causal=True), _qkv_square_mask, **_STATIC),
    OpCase("sdpa_padding_from_input", _SelfAttention, _x, **_SEQ),
    OpCase("sdpa_float_padding_from_input", lambda: _SelfAttention("float"), _x, **_SEQ),
    OpCase("sdpa_float_bias", lambda: _SelfAttention("bias"), _x, **_SEQ),
    OpCase("sdpa_causal_self", lambda: _SelfAttention("none", causal=True), _x, **_SEQ),
    OpCase("sdpa_3d", _Sdpa, _qkv_3d, **_SDPA_SEQ_3D),
    OpCase("sdpa_3d_causal", lambda: _Sdpa(causal=True), _qkv_3d, **_SDPA_SEQ_3D),
    OpCase("sdpa_5d_causal", lambda: _Sdpa(causal=True), _qkv_5d),
    OpCase("sdpa_gqa", lambda: _Sdpa(gqa=True), _qkv_gqa, dynamic_dims={1: (2,)}),
    OpCase("sdpa_one_kv_head", _Sdpa, _qkv_one_kv_head),
    OpCase("sdpa_scripted", lambda: _Sdpa(scale=0.5), _qkv, mode="script", **_SDPA_SEQ),
    OpCase("sdpa_causal_scripted", lambda: _Sdpa(causal=True), _qkv, mode="script"),
    OpCase("sdpa_gqa_scripted", lambda: _Sdpa(gqa=True), _qkv_gqa, mode="script"),
    OpCase("sdpa_bool_mask_scripted", _SdpaMask, _qkv_bool_mask, mode="script"),
    OpCase("sdpa_float_mask_scripted", _SdpaMask, _qkv_float_mask, mode="script"),
    OpCase("sdpa_padding_from_input_scripted", _SelfAttention, _x, mode="script", **_SEQ),
    # ---- scaled_dot_product_attention: ONNX Attention (opset 23) ----
    OpCase("sdpa_opset23", _Sdpa, _qkv, opset=23, expect_ops=frozenset({"Attention", "Mul", "Sub"}),
           **_SDPA_SEQ),
    OpCase("sdpa_causal_opset23", lambda: _Sdpa(causal=True), _qkv, opset=23,
           expect_ops=frozenset({"Attention", "Mul", "Sub"}), **_SDPA_SEQ),
    OpCase("sdpa_scale_opset23", lambda: _Sdpa(scale=0.3), _qkv, opset=23),
    OpCase("sdpa_bool_mask_opset23", _SdpaMask, _qkv_bool_mask, opset=23,
           expect_ops=frozenset({"Attention", "Mul", "Sub"})),
    OpCase("sdpa_float_mask_opset23", _SdpaMask, _qkv_float_mask, opset=23,
           expect_ops=frozenset({"Attention", "Mul", "Sub"})),
    OpCase("sdpa_padding_from_input_opset23", _SelfAttention, _x, opset=23, **_SEQ),
    OpCase("sdpa_float_padding_from_input_opset23", lambda: _SelfAttention("float"), _x,
           opset=23, **_SEQ),
    OpCase("sdpa_3d_opset23", _Sdpa, _qkv_3d, opset=23,
           expect_ops=frozenset({"Attention", "Mul", "Sub", "Unsqueeze", "Squeeze"}),
           **_SDPA_SEQ_3D),
    OpCase("sdpa_gqa_opset23", lambda: _Sdpa(gqa=True), _qkv_gqa, opset=23,
           expect_ops=frozenset({"Attention", "Mul", "Sub"})),
    OpCase("sdpa_5d_opset23_decomposed", lambda: _Sdpa(causal=True), _qkv_5d, opset=23),
    OpCase("sdpa_causal_and_mask_opset23_decomposed", lambda: _SdpaMask(causal=True),
           _qkv_square_mask, opset=23, **_STATIC),
    OpCase("sdpa_bool_mask_scripted_opset23", _SdpaMask, _qkv_bool_mask, mode="script",
           opset=23),
    # ---- nn.MultiheadAttention, traced: batch_first records the fused op ----
    OpCase("mha_fast", _Mha, _x, expect_ops=_MHA_OPS | _WEIGHTS_AVG, **_SEQ),
    OpCase("mha_fast_weights_per_head", lambda: _Mha(average=False), _x, **_SEQ),
    OpCase("mha_fast_no_weights", lambda: _Mha(need_weights=False), _x, **_SEQ),
    OpCase("mha_fast_padding", lambda: _Mha(pad=True), _x, **_SEQ),
    OpCase("mha_fast_padding_input", _MhaPadInput, _x_pad),
    OpCase("mha_fast_fully_padded_row", _MhaPadInput, _x_fully_padded),
    OpCase("mha_fast_causal", lambda: _Mha(causal=True), _x),
    OpCase("mha_fast_causal_padding", lambda: _Mha(causal=True, pad=True), _x),
    # ---- nn.MultiheadAttention, traced: sequence-first and cross-attention slow paths ----
    OpCase("mha_seq_first", lambda: _Mha(batch_first=False), _x_seq_first, **_SEQ_FIRST),
    OpCase("mha_seq_first_padding", lambda: _Mha(batch_first=False, pad=True), _x_seq_first,
           **_SEQ_FIRST),
    OpCase("mha_seq_first_padding_input", lambda: _MhaPadInput(batch_first=False),
           _x_seq_first_pad),
    OpCase("mha_seq_first_no_weights_causal_padding",
           lambda: _Mha(batch_first=False, need_weights=False, causal=True, pad=True),
           _x_seq_first),
    OpCase("mha_cross", _MhaCross, _x_cross, **_SEQ),
    OpCase("mha_cross_weights", lambda: _MhaCross(need_weights=True), _x_cross, **_SEQ),
    # ---- aten::_native_multi_head_attention called directly ----
    OpCase("native_mha_scripted", _NativeMha, _x, mode="script", **_SEQ),
    OpCase("native_mha_weights_per_head_scripted", lambda: _NativeMha(average=False), _x,
           mode="script"),
    OpCase("native_mha_no_weights_scripted", lambda: _NativeMha(need_weights=False), _x,
           mode="script"),
    OpCase("native_mha_padding_scripted", lambda: _NativeMha(mask_type=1), _x_pad,
           mode="script"),
    OpCase("native_mha_float_padding", lambda: _NativeMha(mask_type=1), _x_float_pad),
    OpCase("native_mha_attn_mask_2d", lambda: _NativeMha(mask_type=0), _x_causal_2d),
    OpCase("native_mha_mask_4d_scripted", lambda: _NativeMha(mask_type=2), _x_mask_4d,
           mode="script"),
    OpCase("native_mha_cross_scripted", lambda: _NativeMha(cross=True), _x_memory,
           mode="script"),
    # ---- nn.TransformerEncoderLayer, traced: every norm_first x activation x batch_first ----
    *[
        OpCase(f"encoder_{'pre' if nf else 'post'}norm_{act}_{'bf' if bf else 'sf'}",
               lambda nf=nf, act=act, bf=bf: _Encoder(norm_first=nf, activation=act,
                                                      batch_first=bf),
               _x if bf else _x_seq_first, **(_SEQ if bf else _SEQ_FIRST))
        for nf in (False, True) for act in ("relu", "gelu") for bf in (True, False)
    ],
    OpCase("encoder_padding", lambda: _Encoder(pad=True), _x, **_SEQ),
    OpCase("encoder_padding_input", _EncoderPadInput, _x_pad),
    OpCase("encoder_fully_padded_row", _EncoderPadInput, _x_fully_padded),
    OpCase("encoder_causal", lambda: _Encoder(causal=True, norm_first=True), _x),
    OpCase("encoder_causal_padding", lambda: _Encoder(causal=True, pad=True, activation="gelu"),
           _x),
    OpCase("encoder_seq_first_causal_padding",
           lambda: _Encoder(causal=True, pad=True, batch_first=False), _x_seq_first),
    OpCase("encoder_gelu_opset20", lambda: _Encoder(activation="gelu"), _x, opset=20),
    # ---- aten::_transformer_encoder_layer_fwd called directly ----
    OpCase("native_encoder_scripted", _NativeEncoder, _x, mode="script", **_SEQ),
    OpCase("native_encoder_prenorm_gelu_padding_scripted",
           lambda: _NativeEncoder(norm_first=True, use_gelu=True, mask_type=1), _x_pad,
           mode="script"),
    # ---- baddbmm ----
    OpCase("baddbmm", _Baddbmm, _bmm, expect_ops=frozenset({"MatMul", "Add"})),
    OpCase("baddbmm_beta_alpha", lambda: _Baddbmm(0.5, -2.0), _bmm,
           expect_ops=frozenset({"MatMul", "Mul", "Add"})),
    OpCase("baddbmm_broadcast_self", lambda: _Baddbmm(2.0), _bmm_broadcast, **_STATIC),
    OpCase("baddbmm_beta0_ignores_nan", lambda: _Baddbmm(0.0, 1.5), _bmm_nan_self,
           expect_ops=frozenset({"MatMul", "Mul"})),
    OpCase("baddbmm_scripted", lambda: _Baddbmm(0.5, -2.0), _bmm, mode="script"),
    # ---- einsum ----
    OpCase("einsum_bmm", lambda: _Einsum("bij,bjk->bik"), _pair((2, 3, 4), (2, 4, 5)),
           expect_ops=frozenset({"Einsum"})),
    OpCase("einsum_scores", lambda: _Einsum("bhqd,bhkd->bhqk"),
           _pair((2, 2, 3, 4), (2, 2, 5, 4)), dynamic_dims={0: (2,), 1: (2,)}),
    OpCase("einsum_outer", lambda: _Einsum("i,j->ij"), _pair((3,), (4,)), **_STATIC),
    OpCase("einsum_diagonal", lambda: _Einsum1("ii->i"), _pair((3, 3)), **_STATIC),
    OpCase("einsum_trace_implicit", lambda: _Einsum1("ii"), _pair((3, 3)), **_STATIC),
    OpCase("einsum_implicit_upper_case", lambda: _Einsum("bA,ba"), _pair((2, 3), (2, 4))),
    OpCase("einsum_ellipsis_broadcast", lambda: _Einsum("...i,...i->..."),
           _pair((2, 3, 4), (3, 4)), expect_ops=frozenset({"Unsqueeze", "Einsum"})),
    OpCase("einsum_ellipsis_middle", lambda: _Einsum("b...d,bd->b..."),
           _pair((2, 3, 4), (2, 4))),
    OpCase("einsum_int64", lambda: _Einsum("ij,jk->ik"), _ints, **_STATIC),
    OpCase("einsum_bmm_scripted", lambda: _Einsum("bij,bjk->bik"), _pair((2, 3, 4), (2, 4, 5)),
           mode="script"),
    OpCase("einsum_spaces_scripted", lambda: _Einsum("b i j, b j k -> b i k"),
           _pair((2, 3, 4), (2, 4, 5)), mode="script"),
    OpCase("einsum_diagonal_scripted", lambda: _Einsum1("bii->bi"), _pair((2, 3, 3)),
           mode="script"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_opset23_attention_keeps_a_padding_mask_as_a_full_mask(tmp_path: Path) -> None:
    # ONNX Runtime's Attention wants the mask's last two dims to be (L, S): [B, 1, 1, S] is
    # expanded with the query's and key's lengths.
    result, _ = assert_parity(OpCase("pad23", _SelfAttention, _x, opset=23, **_SEQ), tmp_path)
    assert {"Attention", "Expand"} <= onnx_op_types(result.output)


# ---- causal masks that follow a dynamic sequence length -------------------------------------
# nn.Transformer.generate_square_subsequent_mask(n) records aten::full and aten::triu, which
# belong to other families (creation, indexing): these cases run once the registry has them.
class _CausalMha(nn.Module):
    """nn.MultiheadAttention with a generated causal mask and the is_causal hint."""

    def __init__(self, batch_first: bool = True, need_weights: bool = True) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=batch_first)
        self.batch_first, self.need_weights = batch_first, need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(1) if self.batch_first else x.size(0)
        mask = nn.Transformer.generate_square_subsequent_mask(n)
        return self.attn(x, x, x, attn_mask=mask, is_causal=True, need_weights=self.need_weights)[0]


class _CausalEncoder(nn.Module):
    """An encoder layer with a generated causal mask and the is_causal hint."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.layer = _layer(**kwargs)
        self.batch_first = self.layer.self_attn.batch_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.size(1) if self.batch_first else x.size(0)
        mask = nn.Transformer.generate_square_subsequent_mask(n)
        return self.layer(x, src_mask=mask, is_causal=True)


DYNAMIC_CAUSAL_CASES = [
    OpCase("mha_fast_generated_causal", _CausalMha, _x, **_SEQ),
    OpCase("mha_seq_first_generated_causal_sdpa",
           lambda: _CausalMha(batch_first=False, need_weights=False), _x_seq_first,
           **_SEQ_FIRST),
    OpCase("encoder_generated_causal", lambda: _CausalEncoder(norm_first=True), _x, **_SEQ),
    OpCase("encoder_seq_first_generated_causal",
           lambda: _CausalEncoder(batch_first=False, activation="gelu"), _x_seq_first,
           **_SEQ_FIRST),
]  # fmt: skip


@pytest.mark.parametrize("case", DYNAMIC_CAUSAL_CASES, ids=[c.id for c in DYNAMIC_CAUSAL_CASES])
def test_generated_causal_mask_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


# ---- scripted nn.MultiheadAttention / nn.TransformerEncoderLayer -----------------------------
# Their scripted forward picks the fused fast path at run time (is_grad_enabled, requires_grad,
# the device type, is_nested, "why not" messages, `key is value`); the ONNX graph is the
# eval-mode, no-grad computation.
class _Cross(nn.Module):
    """Cross-attention: queries from x, keys and values from memory (another length)."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.attn(x, memory, memory)[0]
        return y


def _x_memory() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 5, E), torch.randn(2, 7, E)


SCRIPTED_NN_CASES = [
    OpCase("mha_scripted", _Mha, _x, mode="script", expect_ops=_MHA_OPS | _WEIGHTS_AVG, **_SEQ),
    OpCase("mha_padding_input_scripted", _MhaPadInput, _x_pad, mode="script"),
    OpCase("mha_seq_first_scripted", lambda: _MhaPadInput(batch_first=False), _x_seq_first_pad,
           mode="script"),
    OpCase("encoder_scripted", lambda: _Encoder(pad=True), _x, mode="script", **_SEQ),
    OpCase("encoder_prenorm_gelu_scripted",
           lambda: _EncoderPadInput(norm_first=True, activation="gelu"), _x_pad, mode="script"),
    OpCase("encoder_seq_first_scripted", lambda: _Encoder(batch_first=False, norm_first=True),
           _x_seq_first, mode="script", **_SEQ_FIRST),
    OpCase("mha_cross_scripted", _Cross, _x_memory, mode="script", **_STATIC),
    OpCase("mha_cross_traced", _Cross, _x_memory, **_STATIC),
]  # fmt: skip


@pytest.mark.parametrize("case", SCRIPTED_NN_CASES, ids=[c.id for c in SCRIPTED_NN_CASES])
def test_scripted_nn_module_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


# ---- refusals --------------------------------------------------------------------------------
def test_sdpa_dropout_is_refused(tmp_path: Path) -> None:
    x = _qkv()
    archive = save_archive(_SdpaDropout(), x, tmp_path / "dropout.pt")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "dropout.onnx", x, options=ConvertOptions(dynamic_batch=False))
    message = str(info.value)
    assert "aten::scaled_dot_product_attention" in message
    assert "dropout_p=0.2" in message and "random" in message


def test_einsum_of_a_type_onnx_runtime_lacks_is_refused(tmp_path: Path) -> None:
    x = (torch.randint(0, 5, (3, 4), dtype=torch.uint8), torch.randint(0, 5, (4, 2)).byte())
    archive = save_archive(_Einsum("ij,jk->ik"), x, tmp_path / "einsum.pt")
    with pytest.raises(TranslationError, match="einsum of UINT8 tensors"):
        convert(archive, tmp_path / "einsum.onnx", x, options=ConvertOptions(dynamic_batch=False))


def test_native_mha_float_mask_masks_every_nonzero_entry() -> None:
    """The premise of native_mha_float_padding: the fused kernel reads a float mask as bool."""
    x, mask = _x_float_pad()
    torch.manual_seed(0)
    m = nn.MultiheadAttention(E, HEADS, batch_first=True).eval()
    args = (E, HEADS, m.in_proj_weight, m.in_proj_bias, m.out_proj.weight, m.out_proj.bias)
    with torch.no_grad():
        _, w = torch._native_multi_head_attention(x, x, x, *args, mask, True, False, 1)
    assert np.all(w[1, :, :, 2].numpy() == 0.0)  # 0.5 masks key 2 out, like -inf
    assert np.all(w[0, :, :, 4].numpy() == 0.0)
