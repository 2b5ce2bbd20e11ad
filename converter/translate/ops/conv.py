"""Convolutions (plain, grouped, transposed), explicit padding ops and embedding lookup."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

_INT64_MAX = 2**63 - 1
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}


def _expand(values: list[int], n: int) -> list[int]:
    """An int-list argument for ``n`` spatial dims (one value stands for all of them)."""
    return values * n if len(values) == 1 else values


def _ints(ctx: TranslationContext, node: TSNode, name: str, n: int) -> list[int]:
    return _expand(ctx.const_ints(node.input(name)), n)


def _conv_pads(padding: list[int] | str, kernel: list[int], dilation: list[int]) -> list[int]:
    """ONNX pads (all begins, then all ends) for symmetric int padding or 'same'/'valid'."""
    if isinstance(padding, list):
        return _expand(padding, len(kernel)) * 2
    if padding == "valid":
        return [0] * 2 * len(kernel)
    if padding != "same":
        raise Unsupported(f"unknown convolution padding {padding!r}")
    # 'same' (stride 1): the odd one of the total padding goes at the end, as in PyTorch
    total = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
    return [t // 2 for t in total] + [t - t // 2 for t in total]


def _conv(
    ctx: TranslationContext,
    node: TSNode,
    padding: list[int] | str,
    output_padding: list[int] | None = None,
) -> ir.Value:
    """Emit Conv, or ConvTranspose when ``output_padding`` is given; adds a missing batch dim."""
    x = ctx.tensor(node.input("input"))
    w = ctx.tensor(node.input("weight"), ctx.dtype(x))
    n = ctx.rank(w) - 2
    kernel = [ctx.static_dim(w, d) for d in range(2, n + 2)]
    if None in kernel:
        raise Unsupported("the convolution kernel size is not static")
    dilation = _ints(ctx, node, "dilation", n)
    attrs: dict[str, object] = {
        "kernel_shape": kernel,
        "strides": _ints(ctx, node, "stride", n),
        "pads": _conv_pads(padding, kernel, dilation),  # type: ignore[arg-type]
        "dilations": dilation,
        "group": ctx.const_int(node.input("groups")),
    }
    if output_padding is not None:
        attrs["output_padding"] = output_padding
    inputs = [x, w]
    if not ctx.is_none(node.input("bias")):  # no empty trailing input when there is no bias
        inputs.append(ctx.tensor(node.input("bias"), ctx.dtype(x)))
    unbatched = ctx.rank(x) == n + 1
    if unbatched:
        inputs[0] = ctx.op("Unsqueeze", x, ctx.constant([0]))
    y = ctx.op("Conv" if output_padding is None else "ConvTranspose", *inputs, **attrs)
    return ctx.op("Squeeze", y, ctx.constant([0])) if unbatched else y


@handler("aten::_convolution", "aten::convolution")
def aten_convolution(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::_convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups, bool benchmark, bool deterministic, bool cudnn_enabled, bool allow_tf32) -> Tensor"""  # noqa: E501
    pads = ctx.const_ints(node.input("padding"))
    if not ctx.const(node.input("transposed")):
        return _conv(ctx, node, pads)
    n = len(ctx.const_ints(node.input("stride")))
    output_padding = _ints(ctx, node, "output_padding", n)
    return _conv(ctx, node, pads, output_padding)


@handler("aten::conv1d", "aten::conv2d", "aten::conv3d", "aten::_convolution_mode")
def aten_conv(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], SymInt[2] padding=[0, 0], SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor

    Also the ``.padding`` overloads and ``aten::_convolution_mode``, where padding is 'same' or
    'valid'.
    """  # noqa: E501
    mode = ctx.const(node.input("padding"))
    pads = mode if isinstance(mode, str) else ctx.const_ints(node.input("padding"))
    return _conv(ctx, node, pads)


@handler("aten::conv_transpose1d", "aten::conv_transpose2d", "aten::conv_transpose3d")
def aten_conv_transpose(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::conv_transpose2d.input(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], SymInt[2] padding=[0, 0], SymInt[2] output_padding=[0, 0], SymInt groups=1, SymInt[2] dilation=[1, 1]) -> Tensor"""  # noqa: E501
    n = ctx.rank(ctx.tensor(node.input("weight"))) - 2
    output_padding = _ints(ctx, node, "output_padding", n)
    pads = ctx.const_ints(node.input("padding"))
    return _conv(ctx, node, pads, output_padding)


# ---- padding ---------------------------------------------------------------------------------
def _pad(
    ctx: TranslationContext, x: ir.Value, pad: list[int], mode: str, value: object
) -> ir.Value:
    """Pad with PyTorch's pad list: (begin, end) pairs starting from the last dim."""
    rank = ctx.rank(x)
    if len(pad) % 2 or len(pad) // 2 > rank:
        raise Unsupported(f"pad list {pad} does not fit a rank-{rank} tensor")
    begin, end = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):
        begin[rank - 1 - i], end[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    if mode != "constant" and min(pad) < 0:
        raise Unsupported(f"negative pads (cropping) in {mode!r} mode")
    if mode == "circular":
        if ctx.opset >= 19:
            return ctx.op("Pad", x, ctx.constant(begin + end), mode="wrap")
        return _pad_circular(ctx, x, begin, end)
    if mode not in _PAD_MODES:
        raise Unsupported(f"unknown padding mode {mode!r}")
    fill = None
    if mode == "constant":
        fill = ctx.constant(0 if value is None else value, ctx.dtype(x))
    return ctx.op("Pad", x, ctx.constant(begin + end), fill, mode=_PAD_MODES[mode])


def _pad_circular(
    ctx: TranslationContext, x: ir.Value, begin: list[int], end: list[int]
) -> ir.Value:
    """Circular padding from Slice + Concat (ONNX Pad has mode 'wrap' only from opset 19)."""
    for axis, (b, e) in enumerate(zip(begin, end, strict=True)):
        if not b and not e:
            continue
        axes = ctx.constant([axis])
        parts = (
            [ctx.op("Slice", x, ctx.constant([-b]), ctx.constant([_INT64_MAX]), axes)] if b else []
        )
        parts.append(x)
        if e:
            parts.append(ctx.op("Slice", x, ctx.constant([0]), ctx.constant([e]), axes))
        x = ctx.op("Concat", *parts, axis=axis)
    return x


@handler("aten::pad")
def aten_pad(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::pad(Tensor self, SymInt[] pad, str mode="constant", float? value=None) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    mode = str(ctx.const(node.input("mode")))
    value = ctx.const(node.input("value"))
    return _pad(ctx, x, ctx.const_ints(node.input("pad")), mode, value)


@handler("aten::constant_pad_nd")
def aten_constant_pad_nd(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    value = ctx.const(node.input("value"))
    return _pad(ctx, x, ctx.const_ints(node.input("pad")), "constant", value)


@handler(
    "aten::reflection_pad1d",
    "aten::reflection_pad2d",
    "aten::reflection_pad3d",
    "aten::replication_pad1d",
    "aten::replication_pad2d",
    "aten::replication_pad3d",
    "aten::_pad_circular",
)
def aten_reflection_pad(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::reflection_pad2d(Tensor self, SymInt[4] padding) -> Tensor; replication, circular"""
    x = ctx.tensor(node.input("self"))
    pad = ctx.const_ints(node.inputs[1])
    mode = "reflect" if "reflection" in node.kind else "replicate"
    return _pad(ctx, x, pad, "circular" if "circular" in node.kind else mode, None)


@handler("aten::embedding")
def aten_embedding(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False, bool sparse=False) -> Tensor"""  # noqa: E501
    weight = ctx.tensor(node.input("weight"))
    indices = ctx.tensor(node.input("indices"))
    if not ctx.dtype(indices).is_integer():
        raise Unsupported("embedding indices must be an integer tensor")
    return ctx.op("Gather", weight, indices, axis=0)
