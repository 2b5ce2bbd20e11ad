"""Statically quantized ops (eager-mode ``torch.ao.quantization``) in ONNX's QDQ form.

Each quantized op becomes its float op between ``DequantizeLinear`` of the inputs (already done:
quantized tensors are carried as dequantized values, see ``converter/translate/quant.py``) and
``QuantizeLinear``/``DequantizeLinear`` with the output scale and zero point. Weights are int8
initializers behind a ``DequantizeLinear`` with per-tensor or per-channel (axis) scales; biases
stay float, as fbgemm adds them. Packed weights (``Conv2dPackedParamsBase``,
``LinearPackedParamsBase``) are frozen constants of class type: their ``unpack()`` gives the
quantized weight and the float bias.
"""

from __future__ import annotations

from typing import Protocol, cast

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import quant
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__ = [
    "PackedWeights",
    "dequantized_weight",
    "packed_params",
    "quantized_input",
    "requantize_output",
]

_PER_TENSOR = (torch.per_tensor_affine, torch.per_tensor_symmetric)
_PER_CHANNEL = (torch.per_channel_affine, torch.per_channel_symmetric)
_WEIGHT_TYPES = {torch.qint8: ir.DataType.INT8, torch.quint8: ir.DataType.UINT8}


class PackedWeights(Protocol):
    """The methods of torch's packed weight classes that translation reads."""

    def unpack(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...
    def stride(self) -> list[int]: ...
    def padding(self) -> list[int]: ...
    def dilation(self) -> list[int]: ...
    def groups(self) -> int: ...
    def transpose(self) -> bool: ...
    def output_padding(self) -> list[int]: ...


def packed_params(ctx: TranslationContext, value: torch._C.Value) -> PackedWeights:
    """The packed weight object behind a constant input (it must have ``unpack``)."""
    obj = ctx.entry(value)
    if not hasattr(obj, "unpack"):
        raise Unsupported("the packed weights are not a frozen constant")
    return cast(PackedWeights, obj)


def dequantized_weight(
    ctx: TranslationContext, w: torch.Tensor, transpose: bool = False
) -> ir.Value:
    """An int8/uint8 weight initializer behind DequantizeLinear (per tensor or per channel)."""
    if w.dtype not in _WEIGHT_TYPES:
        raise Unsupported(f"weights of dtype {w.dtype} have no ONNX DequantizeLinear form")
    dtype = _WEIGHT_TYPES[w.dtype]
    scheme = w.qscheme()
    axis: int | None = None
    if scheme in _PER_TENSOR:
        scale = ctx.constant(w.q_scale(), ir.DataType.FLOAT)
        zeros = [w.q_zero_point()]
        zero = ctx.constant(zeros[0], dtype)
    elif scheme in _PER_CHANNEL:
        axis = w.q_per_channel_axis()
        scale = ctx.constant(w.q_per_channel_scales().float().numpy(), ir.DataType.FLOAT)
        zeros = w.q_per_channel_zero_points().tolist()
        zero = ctx.constant(zeros, dtype)
    else:
        raise Unsupported(f"weights quantized {scheme} (float zero points) have no ONNX form")
    low, high = (-128, 127) if dtype == ir.DataType.INT8 else (0, 255)
    if not all(low <= z <= high for z in zeros):
        raise Unsupported("a weight zero point is outside the range of its dtype")
    ints = w.int_repr()
    if transpose:
        ints = ints.t()
        axis = None if axis is None else 1 - axis
    stored = ctx.initializer("qweight", ints)
    return ctx.op("DequantizeLinear", stored, scale, zero, axis=axis)


def quantized_input(
    ctx: TranslationContext, node: TSNode, index: int
) -> tuple[ir.Value, quant.QParams]:
    """The node's input ``index`` and its grid; Unsupported for a float input."""
    x = ctx.tensor(node.inputs[index])
    params = quant.qparams(x)
    if params is None:
        raise Unsupported(f"input {index} is not a quantized tensor jit2onnx can follow")
    return x, params


def requantize_output(
    ctx: TranslationContext, node: TSNode, y: ir.Value, like: quant.QParams, relu: bool
) -> ir.Value:
    """Relu if fused, then round to the output grid given by the node's last two arguments."""
    if relu:
        y = ctx.op("Relu", y)
    scale = float(ctx.const(node.inputs[-2]))  # type: ignore[arg-type]
    zero = ctx.const_int(node.inputs[-1])
    return quant.requantize(ctx, y, quant.QParams(scale, zero, like.dtype))


def _bias(ctx: TranslationContext, b: torch.Tensor | None) -> ir.Value | None:
    return None if b is None else ctx.initializer("qbias", b.float())


@handler("aten::quantize_per_tensor")
def aten_quantize_per_tensor(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::quantize_per_tensor(Tensor self, float scale, int zero_point, ScalarType dtype) -> Tensor

    Also ``.tensor_qparams``, where scale and zero point are (constant) tensors.
    """  # noqa: E501
    if node.overload not in ("", "tensor_qparams"):
        raise Unsupported(f"the {node.overload!r} overload is not supported")
    x = ctx.tensor(node.input("self"), ir.DataType.FLOAT)
    scale = float(ctx.const(node.input("scale")))  # type: ignore[arg-type]
    zero = ctx.const_int(node.input("zero_point"))
    dtype = quant.quant_dtype(ctx.const_int(node.input("dtype")))
    return quant.requantize(ctx, x, quant.QParams(scale, zero, dtype))


@handler("aten::dequantize")
def aten_dequantize(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::dequantize.self(Tensor self) -> Tensor; also .tensors(Tensor[] tensors)"""
    entry = ctx.entry(node.inputs[0])
    items = entry if isinstance(entry, list | tuple) else [entry]
    floats = [ctx.op("Identity", ctx.as_tensor(e)) for e in items]
    return floats if isinstance(entry, list | tuple) else floats[0]


@handler("prim::is_quantized")
def prim_is_quantized(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::is_quantized(Tensor a) -> bool"""
    return quant.is_quantized(ctx.entry(node.inputs[0]))


@handler("aten::q_scale", "aten::q_zero_point")
def aten_q_scale(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::q_scale(Tensor self) -> float; aten::q_zero_point(Tensor self) -> int"""
    _, params = quantized_input(ctx, node, 0)
    return params.scale if node.kind == "aten::q_scale" else params.zero_point


@handler(
    "quantized::conv1d",
    "quantized::conv2d",
    "quantized::conv3d",
    "quantized::conv1d_relu",
    "quantized::conv2d_relu",
    "quantized::conv3d_relu",
)
def quantized_conv(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::conv2d.new(Tensor qx, Conv2dPackedParamsBase packed_weight, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    packed = packed_params(ctx, node.inputs[1])
    if packed.transpose():
        raise Unsupported("transposed packed convolution weights in a plain convolution")
    w, b = packed.unpack()
    if node.kind.startswith("quantized::conv1d"):  # packed as a 2-d conv with a unit height
        w = w.squeeze(2)
    weight = dequantized_weight(ctx, w)
    kernel = list(w.shape[2:])
    n = len(kernel)
    pads = list(packed.padding())[-n:]
    y = ctx.op(
        "Conv",
        x,
        weight,
        _bias(ctx, b),
        kernel_shape=kernel,
        strides=list(packed.stride())[-n:],
        pads=pads + pads,
        dilations=list(packed.dilation())[-n:],
        group=int(packed.groups()),
    )
    return requantize_output(ctx, node, y, params, node.kind.endswith("_relu"))


@handler("quantized::linear", "quantized::linear_relu")
def quantized_linear(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::linear(Tensor X, LinearPackedParamsBase W_prepack, float Y_scale_i, int Y_zero_point_i) -> Tensor Y"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    w, b = packed_params(ctx, node.inputs[1]).unpack()
    y = ctx.op("MatMul", x, dequantized_weight(ctx, w, transpose=True))
    bias = _bias(ctx, b)
    if bias is not None:
        y = ctx.op("Add", y, bias)
    return requantize_output(ctx, node, y, params, node.kind.endswith("_relu"))


@handler("quantized::add", "quantized::add_relu", "quantized::mul", "quantized::mul_relu")
def quantized_binary(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::add(Tensor qa, Tensor qb, float scale, int zero_point) -> Tensor qc; mul"""
    if node.overload:
        raise Unsupported(
            f"the {node.overload!r} overload picks its output scale at run time; "
            "only the form with an explicit output scale and zero point is supported"
        )
    a, params = quantized_input(ctx, node, 0)
    b, _ = quantized_input(ctx, node, 1)
    y = ctx.op("Add" if "add" in node.kind else "Mul", a, b)
    return requantize_output(ctx, node, y, params, node.kind.endswith("_relu"))


@handler("quantized::cat")
def quantized_cat(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::cat(Tensor[] qx, int dim, float? scale, int? zero_point) -> Tensor"""
    parts = [ctx.as_tensor(e) for e in ctx.entry(node.input("qx"))]  # type: ignore[attr-defined]
    found = [quant.qparams(p) for p in parts]
    first = found[0]
    if first is None or None in found:
        raise Unsupported("an input of the concatenation is not a quantized tensor")
    axis = ctx.const_int(node.input("dim"))
    y = ctx.op("Concat", *parts, axis=axis)
    if ctx.is_none(node.input("scale")):
        return quant.requantize(ctx, y, first)
    return requantize_output(ctx, node, y, first, relu=False)


@handler("quantized::hardswish")
def quantized_hardswish(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::hardswish(Tensor input, float output_scale, int output_zero_point) -> Tensor"""
    x, params = quantized_input(ctx, node, 0)
    return requantize_output(ctx, node, ctx.op("HardSwish", x), params, relu=False)


@handler(
    "quantized::conv_transpose1d", "quantized::conv_transpose2d", "quantized::conv_transpose3d"
)
def quantized_conv_transpose(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::conv_transpose2d(Tensor qx, Conv2dPackedParamsBase packed_weight, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    packed = packed_params(ctx, node.inputs[1])
    w, b = packed.unpack()
    if node.kind.endswith("1d"):  # packed as a 2-d transposed conv with a unit height
        w = w.squeeze(2)
    kernel = list(w.shape[2:])
    n = len(kernel)
    pads = list(packed.padding())[-n:]
    y = ctx.op(
        "ConvTranspose",
        x,
        dequantized_weight(ctx, w),
        _bias(ctx, b),
        kernel_shape=kernel,
        strides=list(packed.stride())[-n:],
        pads=pads + pads,
        dilations=list(packed.dilation())[-n:],
        output_padding=list(packed.output_padding())[-n:],
        group=int(packed.groups()),
    )
    return requantize_output(ctx, node, y, params, relu=False)


@handler("quantized::leaky_relu")
def quantized_leaky_relu(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::leaky_relu(Tensor qx, Scalar negative_slope, bool inplace, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    slope = float(ctx.const(node.input("negative_slope")))  # type: ignore[arg-type]
    return requantize_output(ctx, node, ctx.op("LeakyRelu", x, alpha=slope), params, relu=False)


@handler("quantized::sigmoid", "quantized::softmax", "quantized::matmul")
def quantized_float_op(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::sigmoid(Tensor qx, float output_scale, int output_zero_point) -> Tensor; softmax(qx, int dim, ...); matmul(qa, qb, ...)"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    if node.kind == "quantized::sigmoid":
        y = ctx.op("Sigmoid", x)
    elif node.kind == "quantized::softmax":
        y = ctx.op("Softmax", x, axis=ctx.const_int(node.input("dim")))
    else:
        y = ctx.op("MatMul", x, quantized_input(ctx, node, 1)[0])
    return requantize_output(ctx, node, y, params, relu=False)


@handler("quantized::conv2d_add", "quantized::conv2d_add_relu")
def quantized_conv2d_add(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::conv2d_add(Tensor qx, Tensor qaccum, Conv2dPackedParamsBase packed_weight, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    accum, _ = quantized_input(ctx, node, 1)
    packed = packed_params(ctx, node.input("packed_weight"))
    w, b = packed.unpack()
    pads = list(packed.padding())
    y = ctx.op(
        "Conv",
        x,
        dequantized_weight(ctx, w),
        _bias(ctx, b),
        kernel_shape=list(w.shape[2:]),
        strides=list(packed.stride()),
        pads=pads + pads,
        dilations=list(packed.dilation()),
        group=int(packed.groups()),
    )
    y = ctx.op("Add", y, accum)
    return requantize_output(ctx, node, y, params, node.kind.endswith("_relu"))
