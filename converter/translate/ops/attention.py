"""Attention: scaled_dot_product_attention, the fused nn.MultiheadAttention and
nn.TransformerEncoderLayer fast paths, baddbmm and einsum.

Two softmax flavours are reproduced exactly, because PyTorch differs between its kernels:

* ``scaled_dot_product_attention`` uses a "safe" softmax: a row whose scores are all -inf
  (every key masked out) gives zeros, not NaN.
* ``_native_multi_head_attention`` (the fast path of nn.MultiheadAttention and of
  nn.TransformerEncoderLayer in eval mode without grad) uses a masked softmax on a boolean mask
  where any non-zero value of a float mask counts as masked; a fully masked row gives NaN.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import erf, tensor_list
from converter.translate.registry import handler

__all__: list[str] = []

INT64 = ir.DataType.INT64
BOOL = ir.DataType.BOOL
_FLOATS = (ir.DataType.FLOAT16, ir.DataType.BFLOAT16, ir.DataType.FLOAT, ir.DataType.DOUBLE)


# ---- small builders --------------------------------------------------------------------------
def _float_tensor(ctx: TranslationContext, ts_value: torch._C.Value, what: str) -> ir.Value:
    x = ctx.tensor(ts_value)
    if ctx.dtype(x) not in _FLOATS:
        raise Unsupported(f"{what} of type {ctx.dtype(x).name}: attention needs a float tensor")
    return x


def _swap_last(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """Transpose the last two dims."""
    rank = ctx.rank(x)
    if rank < 2:
        raise Unsupported(f"attention needs tensors of rank >= 2, got rank {rank}")
    return ctx.op("Transpose", x, perm=[*range(rank - 2), rank - 1, rank - 2])


def _linear(ctx: TranslationContext, x: ir.Value, w: ir.Value, b: ir.Value | None) -> ir.Value:
    """x @ w.T + b, like aten::linear on a batched input."""
    y = ctx.op("MatMul", x, ctx.op("Transpose", w, perm=[1, 0]))
    return y if b is None else ctx.op("Add", y, b)


def _row_max(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """ReduceMax over the last axis, keeping it (axes became an input in opset 18)."""
    if ctx.opset >= 18:
        return ctx.op("ReduceMax", x, ctx.constant([-1], INT64), keepdims=1)
    return ctx.op("ReduceMax", x, axes=[-1], keepdims=1)


def _safe_softmax(ctx: TranslationContext, scores: ir.Value) -> ir.Value:
    """Softmax over the last axis; rows whose scores are all -inf give 0 (aten::_safe_softmax)."""
    dtype = ctx.dtype(scores)
    p = ctx.op("Softmax", scores, axis=-1)
    dead = ctx.op("Equal", _row_max(ctx, scores), ctx.constant(-np.inf, dtype))
    return ctx.op("Where", dead, ctx.constant(0.0, dtype), p)


def _additive(ctx: TranslationContext, mask: ir.Value, dtype: ir.DataType) -> ir.Value:
    """A boolean keep-mask as 0 / -inf in ``dtype``; a float mask cast to ``dtype``."""
    if ctx.dtype(mask) == BOOL:
        zero, neg_inf = ctx.constant(0.0, dtype), ctx.constant(-np.inf, dtype)
        return ctx.op("Where", mask, zero, neg_inf)
    if ctx.dtype(mask) not in _FLOATS:
        raise Unsupported(
            f"attention mask of type {ctx.dtype(mask).name}: PyTorch takes bool or float masks"
        )
    return ctx.cast(mask, dtype)


def _dim(ctx: TranslationContext, x: ir.Value, axis: int) -> ir.Value:
    """Dim ``axis`` (non-negative) of ``x`` as a 0-d INT64 tensor."""
    piece = ctx.op("Shape", x, start=axis, end=axis + 1)
    return ctx.op("Squeeze", piece, ctx.constant([0], INT64))


def _causal_keep(ctx: TranslationContext, q: ir.Value, k: ir.Value) -> ir.Value:
    """The [L, S] boolean lower-triangular keep-mask (top-left aligned, as in PyTorch)."""
    zero, one = ctx.constant(0, INT64), ctx.constant(1, INT64)
    rows = ctx.op("Range", zero, _dim(ctx, q, ctx.rank(q) - 2), one)
    cols = ctx.op("Range", zero, _dim(ctx, k, ctx.rank(k) - 2), one)
    rows = ctx.op("Unsqueeze", rows, ctx.constant([1], INT64))
    return ctx.op("LessOrEqual", cols, rows)


def _same_dim(a: ir.Value, b: ir.Value, axis_a: int, axis_b: int) -> bool:
    """True if two dims are known to be equal (the same size or the same symbolic name)."""
    if a.shape is None or b.shape is None:
        return False
    da, db = a.shape[axis_a], b.shape[axis_b]
    if isinstance(da, int) or isinstance(db, int):
        return da == db
    return da.value is not None and da.value == db.value


# ---- scaled_dot_product_attention ------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Sdpa:
    """The arguments of one aten::scaled_dot_product_attention node."""

    q: ir.Value
    k: ir.Value
    v: ir.Value
    mask: ir.Value | None  # as given: bool (True = attend) or float (added)
    causal: bool
    scale: float | None
    gqa: bool


def _sdpa_args(ctx: TranslationContext, node: TSNode) -> _Sdpa:
    q = _float_tensor(ctx, node.input("query"), "query")
    dtype = ctx.dtype(q)
    k = ctx.tensor(node.input("key"), dtype)
    v = ctx.tensor(node.input("value"), dtype)
    dropout = float(ctx.const(node.input("dropout_p")))  # type: ignore[arg-type]
    if dropout > 0.0:
        raise Unsupported(
            f"scaled_dot_product_attention with dropout_p={dropout}: PyTorch drops attention "
            "weights at random whenever dropout_p > 0, even in eval mode, so the output is "
            "random; pass dropout_p=0.0 outside training (e.g. `self.p if self.training else 0.0`)"
        )
    mask = None if ctx.is_none(node.input("attn_mask")) else ctx.tensor(node.input("attn_mask"))
    scale_arg = node.input("scale") if node.has_input("scale") else None
    scale = None
    if scale_arg is not None and not ctx.is_none(scale_arg):
        scale = float(ctx.const(scale_arg))  # type: ignore[arg-type]
    gqa = node.has_input("enable_gqa") and bool(ctx.const(node.input("enable_gqa")))
    for name, x in (("query", q), ("key", k), ("value", v)):
        if ctx.rank(x) < 2:
            raise Unsupported(f"scaled_dot_product_attention {name} of rank {ctx.rank(x)} (< 2)")
    causal = bool(ctx.const(node.input("is_causal")))
    return _Sdpa(q, k, v, mask, causal, scale, gqa)


def _repeat_heads(ctx: TranslationContext, q: ir.Value, kv: ir.Value) -> ir.Value:
    """enable_gqa: repeat each key/value head (dim -3) to match the query's head count."""
    rank_q, rank = ctx.rank(q), ctx.rank(kv)
    if rank_q < 3 or rank < 3:
        raise Unsupported("enable_gqa needs query, key and value of rank >= 3 (heads at dim -3)")
    hq, hkv = ctx.static_dim(q, rank_q - 3), ctx.static_dim(kv, rank - 3)
    if hq is None or hkv is None:
        raise Unsupported("enable_gqa with a head count (dim -3) only known at run time")
    if hq == hkv:
        return kv
    if hq % hkv:
        raise Unsupported(f"enable_gqa: {hq} query heads are not a multiple of {hkv} key heads")
    # [..., Hkv, S, E] -> [..., Hkv, 1, S, E] -> [..., Hkv, G, S, E] -> [..., Hq, S, E]
    x = ctx.op("Unsqueeze", kv, ctx.constant([rank - 2], INT64))
    x = ctx.op("Expand", x, ctx.constant([hq // hkv, 1, 1], INT64))
    parts = [ctx.constant([hq], INT64), ctx.op("Shape", kv, start=rank - 2)]
    if rank > 3:
        parts.insert(0, ctx.op("Shape", kv, end=rank - 3))
    return ctx.op("Reshape", x, ctx.op("Concat", *parts, axis=0))


def _default_scale(ctx: TranslationContext, q: ir.Value) -> ir.Value:
    """1 / sqrt(E), E the query's last dim."""
    dtype = ctx.dtype(q)
    size = ctx.static_dim(q, ctx.rank(q) - 1)
    if size is not None:
        return ctx.constant(1.0 / math.sqrt(size), dtype)
    e = ctx.cast(ctx.op("Shape", q, start=-1), dtype)
    return ctx.op("Reciprocal", ctx.op("Sqrt", e))


def _sdpa_decomposed(ctx: TranslationContext, a: _Sdpa) -> ir.Value:
    """softmax(Q Kᵀ * scale + mask) V, with PyTorch's safe softmax when a mask is given."""
    dtype = ctx.dtype(a.q)
    k, v = a.k, a.v
    if a.gqa:
        k, v = _repeat_heads(ctx, a.q, k), _repeat_heads(ctx, a.q, v)
    scale = _default_scale(ctx, a.q) if a.scale is None else ctx.constant(a.scale, dtype)
    scores = ctx.op("Mul", ctx.op("MatMul", a.q, _swap_last(ctx, k)), scale)
    if a.causal:
        scores = ctx.op("Add", scores, _additive(ctx, _causal_keep(ctx, a.q, k), dtype))
    if a.mask is None:
        # Each causal row keeps at least key 0, so no row can be fully masked.
        return ctx.op("MatMul", ctx.op("Softmax", scores, axis=-1), v)
    scores = ctx.op("Add", scores, _additive(ctx, a.mask, dtype))
    return ctx.op("MatMul", _safe_softmax(ctx, scores), v)


@handler("aten::scaled_dot_product_attention")
def aten_scaled_dot_product_attention(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, float dropout_p=0., bool is_causal=False, *, float? scale=None, bool enable_gqa=False) -> Tensor"""  # noqa: E501
    return _sdpa_decomposed(ctx, _sdpa_args(ctx, node))


def _attention_op_misfit(ctx: TranslationContext, a: _Sdpa) -> str | None:
    """Why ONNX Attention (as ONNX Runtime runs it) cannot take these arguments, or None."""
    ranks = {ctx.rank(a.q), ctx.rank(a.k), ctx.rank(a.v)}
    if len(ranks) != 1 or ranks.pop() not in (3, 4):
        return "query, key and value are not all 3-D or all 4-D"
    if ctx.dtype(a.q) != ir.DataType.FLOAT:
        # float16 runs, but ONNX Runtime rounds differently from PyTorch (off by an ulp)
        return f"{ctx.dtype(a.q).name} inputs"
    if a.mask is not None and a.causal:
        return "both is_causal and attn_mask"
    if a.mask is not None and ctx.rank(a.mask) > ctx.rank(a.q):
        return "a mask of higher rank than the query"
    if ctx.rank(a.q) == 4:
        # ONNX Runtime wants one batch size and a query head count that is a multiple of the
        # key's (grouped-query attention); PyTorch also broadcasts.
        if not (_same_dim(a.q, a.k, 0, 0) and _same_dim(a.q, a.v, 0, 0)):
            return "batch sizes not known to match"
        if not _same_dim(a.k, a.v, 1, 1):
            return "key and value head counts not known to match"
        hq, hkv = ctx.static_dim(a.q, 1), ctx.static_dim(a.k, 1)
        if not _same_dim(a.q, a.k, 1, 1) and (hq is None or hkv is None or hq % hkv):
            return "head counts not known to match or to group"
        if not a.gqa and not _same_dim(a.q, a.k, 1, 1) and hkv != 1:
            return "differing head counts without enable_gqa"
    elif not (_same_dim(a.q, a.k, 0, 0) and _same_dim(a.q, a.v, 0, 0)):
        return "batch sizes not known to match"
    return None


@handler("aten::scaled_dot_product_attention", since_opset=23)
def aten_scaled_dot_product_attention_23(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scaled_dot_product_attention(...) -> Tensor (ONNX Attention, opset 23)

    Falls back to the decomposition for what ONNX Runtime's Attention does not take or does
    not match PyTorch on: ranks other than 3 and 4, dtypes other than float32, is_causal with
    a mask, masks of higher rank than the query, batch or head dims that do not line up.
    """
    a = _sdpa_args(ctx, node)
    if _attention_op_misfit(ctx, a) is not None:
        return _sdpa_decomposed(ctx, a)
    q, k, v, mask = a.q, a.k, a.v, a.mask
    three_d = ctx.rank(q) == 3
    if three_d:  # [N, L, E] is one head: [N, 1, L, E]
        axis = ctx.constant([1], INT64)
        q, k, v = (ctx.op("Unsqueeze", x, axis) for x in (q, k, v))
        if mask is not None and ctx.rank(mask) == 3:
            mask = ctx.op("Unsqueeze", mask, axis)
    if mask is not None:
        if ctx.dtype(mask) != BOOL:
            mask = _additive(ctx, mask, ctx.dtype(q))
        # ONNX Runtime wants the mask's last two dims to be exactly (L, S).
        rank = ctx.rank(mask)
        if not (rank >= 2 and _same_dim(mask, q, rank - 2, 2) and _same_dim(mask, k, rank - 1, 2)):
            target = ctx.op(
                "Concat",
                ctx.op("Shape", q, start=2, end=3),
                ctx.op("Shape", k, start=2, end=3),
                axis=0,
            )
            mask = ctx.op("Expand", mask, target)
    y = ctx.op("Attention", q, k, v, mask, is_causal=int(a.causal), scale=a.scale)
    return ctx.op("Squeeze", y, ctx.constant([1], INT64)) if three_d else y


# ---- nn.MultiheadAttention / nn.TransformerEncoderLayer fast paths ---------------------------
def _native_mha(
    ctx: TranslationContext,
    query: ir.Value,
    key: ir.Value,
    value: ir.Value,
    same_qkv: bool,
    embed_dim: int,
    heads: int,
    weights: tuple[ir.Value, ir.Value, ir.Value, ir.Value],
    mask: ir.Value | None,
    mask_type: int | None,
    need_weights: bool,
    average: bool,
) -> tuple[ir.Value, ir.Value | None]:
    """What native_multi_head_attention_cpu computes: (output, attention weights or None)."""
    qkv_weight, qkv_bias, proj_weight, proj_bias = weights
    for name, x in (("query", query), ("key", key), ("value", value)):
        if ctx.rank(x) != 3:
            raise Unsupported(
                f"{name} must be 3-D (batch, sequence, embed_dim), not {ctx.rank(x)}-D"
            )
    if embed_dim % heads:
        raise Unsupported(f"embed_dim {embed_dim} is not divisible by num_heads {heads}")
    dtype = ctx.dtype(query)
    head_dim = embed_dim // heads
    e = embed_dim
    if same_qkv:  # self-attention: one packed projection, split into q, k, v
        packed = _linear(ctx, query, qkv_weight, qkv_bias)
        sizes = ctx.constant([e, e, e], INT64)
        q, k, v = ctx.op_multi("Split", packed, sizes, axis=2, num_outputs=3)
    else:
        sizes = ctx.constant([e, e, e], INT64)
        ws = ctx.op_multi("Split", qkv_weight, sizes, axis=0, num_outputs=3)
        bs = ctx.op_multi("Split", qkv_bias, sizes, axis=0, num_outputs=3)
        q, k, v = (
            _linear(ctx, x, w, b) for x, w, b in zip((query, key, value), ws, bs, strict=True)
        )
    split_heads = ctx.constant([0, 0, heads, head_dim], INT64)

    def heads_first(x: ir.Value, perm: list[int]) -> ir.Value:
        return ctx.op("Transpose", ctx.op("Reshape", x, split_heads), perm=perm)

    # q is scaled by 1/sqrt(head_dim) before the product, as PyTorch's kernel does.
    inv_sqrt = ctx.constant(1.0 / math.sqrt(head_dim), dtype)
    qh = ctx.op("Mul", heads_first(q, [0, 2, 1, 3]), inv_sqrt)  # [B, H, L, hd]
    kt = heads_first(k, [0, 2, 3, 1])  # [B, H, hd, S]
    vh = heads_first(v, [0, 2, 1, 3])  # [B, H, S, hd]
    scores = ctx.op("MatMul", qh, kt)  # [B, H, L, S]
    if mask is not None:
        masked = _masked_positions(ctx, mask, mask_type)
        scores = ctx.op("Where", masked, ctx.constant(-np.inf, dtype), scores)
    # PyTorch's masked softmax gives NaN for a fully masked row; so does Softmax of all -inf.
    p = ctx.op("Softmax", scores, axis=-1)
    ctx_heads = ctx.op("MatMul", p, vh)  # [B, H, L, hd]
    merged = ctx.op(
        "Reshape",
        ctx.op("Transpose", ctx_heads, perm=[0, 2, 1, 3]),
        ctx.constant([0, 0, e], INT64),
    )
    out = _linear(ctx, merged, proj_weight, proj_bias)
    if not need_weights:
        return out, None
    if not average:
        return out, p
    summed = ctx.op("ReduceSum", p, ctx.constant([1], INT64), keepdims=0)
    return out, ctx.op("Div", summed, ctx.constant(float(heads), dtype))


def _masked_positions(ctx: TranslationContext, mask: ir.Value, mask_type: int | None) -> ir.Value:
    """The boolean "masked out" tensor, broadcastable to the [B, H, L, S] scores.

    PyTorch turns a float mask into bool (any non-zero, -inf included, masks out). A 2-D mask is
    (L, S) for mask_type 0 and a (B, S) key padding mask for mask_type 1; any other mask must
    have the shape of the scores (mask_type 2).
    """
    if mask_type is None:
        raise Unsupported("a mask without mask_type (PyTorch refuses it: mask type undefined)")
    if ctx.dtype(mask) != BOOL:
        zero = ctx.constant(0, ctx.dtype(mask))
        mask = ctx.op("Not", ctx.op("Equal", mask, zero))
    rank = ctx.rank(mask)
    if rank == 2 and mask_type == 1:
        return ctx.op("Unsqueeze", mask, ctx.constant([1, 2], INT64))
    if rank == 2 and mask_type == 0:
        return mask
    if rank == 4:
        return mask
    raise Unsupported(
        f"a {rank}-D mask with mask_type {mask_type}: PyTorch wants a 2-D mask of type 0 or 1, "
        "or a 4-D mask shaped like the attention scores"
    )


def _optional_int(ctx: TranslationContext, ts_value: torch._C.Value) -> int | None:
    return None if ctx.is_none(ts_value) else ctx.const_int(ts_value)


@handler("aten::_native_multi_head_attention")
def aten_native_multi_head_attention(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::_native_multi_head_attention(Tensor query, Tensor key, Tensor value, int embed_dim, int num_head, Tensor qkv_weight, Tensor qkv_bias, Tensor proj_weight, Tensor proj_bias, Tensor? mask=None, bool need_weights=True, bool average_attn_weights=True, int? mask_type=None) -> (Tensor, Tensor)

    The second output is the attention weights ([B, L, S] averaged over heads, or
    [B, H, L, S]); with need_weights=False PyTorch returns an undefined tensor (None).
    """  # noqa: E501
    if node.overload:
        raise Unsupported(f"the {node.overload!r} overload (writes into given tensors)")
    query = _float_tensor(ctx, node.input("query"), "query")
    dtype = ctx.dtype(query)
    key, value = ctx.tensor(node.input("key"), dtype), ctx.tensor(node.input("value"), dtype)
    w = (
        ctx.tensor(node.input("qkv_weight"), dtype),
        ctx.tensor(node.input("qkv_bias"), dtype),
        ctx.tensor(node.input("proj_weight"), dtype),
        ctx.tensor(node.input("proj_bias"), dtype),
    )
    mask = None if ctx.is_none(node.input("mask")) else ctx.tensor(node.input("mask"))
    # PyTorch checks that query, key and value are the same tensor (one packed projection).
    same = len({node.input(n).unique() for n in ("query", "key", "value")}) == 1
    out, weights = _native_mha(
        ctx,
        query,
        key,
        value,
        same,
        ctx.const_int(node.input("embed_dim")),
        ctx.const_int(node.input("num_head")),
        w,
        mask,
        _optional_int(ctx, node.input("mask_type")),
        bool(ctx.const(node.input("need_weights"))),
        bool(ctx.const(node.input("average_attn_weights"))),
    )
    return out, weights


def _gelu(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """Exact (erf) GELU: ONNX Gelu from opset 20, else 0.5 * x * (1 + erf(x / sqrt(2)))."""
    dtype = ctx.dtype(x)
    if ctx.opset >= 20 and dtype != ir.DataType.DOUBLE:
        return ctx.op("Gelu", x)
    t = erf(ctx, ctx.op("Mul", x, ctx.constant(1 / math.sqrt(2), dtype)), "exact gelu")
    half_x = ctx.op("Mul", x, ctx.constant(0.5, dtype))
    return ctx.op("Mul", half_x, ctx.op("Add", t, ctx.constant(1.0, dtype)))


@handler("aten::_transformer_encoder_layer_fwd")
def aten_transformer_encoder_layer_fwd(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::_transformer_encoder_layer_fwd(Tensor src, int embed_dim, int num_heads, Tensor qkv_weight, Tensor qkv_bias, Tensor proj_weight, Tensor proj_bias, bool use_gelu, bool norm_first, float eps, Tensor norm_weight_1, Tensor norm_bias_1, Tensor norm_weight_2, Tensor norm_bias_2, Tensor ffn_weight_1, Tensor ffn_bias_1, Tensor ffn_weight_2, Tensor ffn_bias_2, Tensor? mask=None, int? mask_type=None) -> Tensor"""  # noqa: E501
    if node.overload:
        raise Unsupported(f"the {node.overload!r} overload (writes into a given tensor)")
    src = _float_tensor(ctx, node.input("src"), "src")
    dtype = ctx.dtype(src)

    def t(name: str) -> ir.Value:
        return ctx.tensor(node.input(name), dtype)

    embed_dim = ctx.const_int(node.input("embed_dim"))
    heads = ctx.const_int(node.input("num_heads"))
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    norm_first = bool(ctx.const(node.input("norm_first")))
    use_gelu = bool(ctx.const(node.input("use_gelu")))
    mask = None if ctx.is_none(node.input("mask")) else ctx.tensor(node.input("mask"))
    mask_type = _optional_int(ctx, node.input("mask_type"))
    attn_weights = (t("qkv_weight"), t("qkv_bias"), t("proj_weight"), t("proj_bias"))

    def norm(x: ir.Value, i: int) -> ir.Value:
        weight, bias = t(f"norm_weight_{i}"), t(f"norm_bias_{i}")
        return ctx.op("LayerNormalization", x, weight, bias, axis=-1, epsilon=eps)

    x = norm(src, 1) if norm_first else src
    x, _ = _native_mha(
        ctx, x, x, x, True, embed_dim, heads, attn_weights, mask, mask_type, False, True
    )
    x = ctx.op("Add", x, src)
    if not norm_first:
        x = norm(x, 1)
    residual = x
    if norm_first:
        x = norm(x, 2)
    hidden = _linear(ctx, x, t("ffn_weight_1"), t("ffn_bias_1"))
    hidden = _gelu(ctx, hidden) if use_gelu else ctx.op("Relu", hidden)
    x = ctx.op("Add", _linear(ctx, hidden, t("ffn_weight_2"), t("ffn_bias_2")), residual)
    return norm(x, 2) if not norm_first else x


# ---- baddbmm and einsum ----------------------------------------------------------------------
@handler("aten::baddbmm")
def aten_baddbmm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor"""  # noqa: E501
    if node.overload:
        raise Unsupported(f"the {node.overload!r} overload of baddbmm")
    (c, a, b), dtype = ctx.operands(node.input("self"), node.input("batch1"), node.input("batch2"))
    beta = ctx.const(node.input("beta"))
    alpha = ctx.const(node.input("alpha"))
    y = ctx.op("MatMul", a, b)
    if alpha != 1:
        y = ctx.op("Mul", y, ctx.constant(alpha, dtype))
    if beta == 0:  # PyTorch ignores self then: its NaN and inf do not propagate
        return y
    if beta != 1:
        c = ctx.op("Mul", c, ctx.constant(beta, dtype))
    return ctx.op("Add", c, y)


_EINSUM_TYPES = (
    ir.DataType.FLOAT,
    ir.DataType.DOUBLE,
    ir.DataType.FLOAT16,
    ir.DataType.INT32,
    ir.DataType.INT64,
)
_TERM = re.compile(r"^[A-Za-z]*(\.\.\.)?[A-Za-z]*$")


def _explicit_equation(equation: str, ranks: list[int]) -> tuple[str, list[int]]:
    """The equation with PyTorch's implicit output spelled out, and each operand's ellipsis size.

    Implicit output (no "->"): the ellipsis dims first, then every label used once, in PyTorch's
    order (upper case before lower case, as in ASCII).
    """
    eq = re.sub(r"\s+", "", equation)
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise Unsupported(
            f"einsum equation {equation!r} has {len(terms)} operand(s), got {len(ranks)}"
        )
    if not all(_TERM.match(t) for t in terms) or (arrow and not _TERM.match(rhs)):
        raise Unsupported(f"einsum equation {equation!r}: only letters and one '...' per term")
    ellipses = []
    for term, rank in zip(terms, ranks, strict=True):
        letters = len(term.replace("...", ""))
        if "..." in term:
            ellipses.append(rank - letters)
        elif letters != rank:
            raise Unsupported(f"einsum term {term!r} does not match an operand of rank {rank}")
        else:
            ellipses.append(0)
        if ellipses[-1] < 0:
            raise Unsupported(
                f"einsum term {term!r} has more labels than the operand's rank {rank}"
            )
    if not arrow:
        counts: dict[str, int] = {}
        for term in terms:
            for ch in term.replace("...", ""):
                counts[ch] = counts.get(ch, 0) + 1
        once = "".join(sorted(ch for ch, n in counts.items() if n == 1))
        rhs = ("..." if any("..." in t for t in terms) else "") + once
    return ",".join(terms) + "->" + rhs, ellipses


@handler("aten::einsum")
def aten_einsum(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::einsum(str equation, Tensor[] tensors, *, int[]? path=None) -> Tensor"""
    if node.overload:
        raise Unsupported(f"the {node.overload!r} overload of einsum")
    equation = ctx.const(node.input("equation"))
    if not isinstance(equation, str):
        raise Unsupported("einsum equation computed at run time")
    tensors = tensor_list(ctx, node.input("tensors"))
    if not tensors:
        raise Unsupported("einsum of no tensors")
    dtype = ctx.dtype(tensors[0])
    if any(ctx.dtype(x) != dtype for x in tensors):
        raise Unsupported("einsum of tensors of different dtypes")
    if dtype not in _EINSUM_TYPES:
        raise Unsupported(
            f"einsum of {dtype.name} tensors: ONNX Runtime's Einsum takes float, double, "
            "float16, int32 and int64"
        )
    explicit, ellipses = _explicit_equation(equation, [ctx.rank(x) for x in tensors])
    # ONNX Runtime wants every '...' to stand for the same number of dims; PyTorch aligns them
    # from the right, so a shorter one gets leading 1s where its '...' starts.
    widest = max(ellipses)
    terms = explicit.split("->")[0].split(",")
    padded = []
    for x, term, n in zip(tensors, terms, ellipses, strict=True):
        if "..." in term and n < widest:
            start = term.index("...")
            axes = list(range(start, start + widest - n))
            x = ctx.op("Unsqueeze", x, ctx.constant(axes, INT64))
        padded.append(x)
    return ctx.op("Einsum", *padded, equation=explicit)
