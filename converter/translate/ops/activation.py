"""Activations, softmax and eval-mode dropout."""

from __future__ import annotations

import math

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []


def _x(ctx: TranslationContext, node: TSNode) -> ir.Value:
    return ctx.tensor(node.inputs[0])


def _scalar(ctx: TranslationContext, node: TSNode, name: str, like: ir.Value) -> ir.Value:
    return ctx.constant(float(ctx.const(node.input(name))), ctx.dtype(like))  # type: ignore[arg-type]


@handler("aten::relu", "aten::relu_")
def aten_relu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::relu(Tensor self) -> Tensor"""
    return ctx.op("Relu", _x(ctx, node))


@handler("aten::relu6", "aten::relu6_")
def aten_relu6(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::relu6(Tensor self) -> Tensor"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    return ctx.op("Clip", x, ctx.constant(0.0, dtype), ctx.constant(6.0, dtype))


@handler("aten::hardtanh", "aten::hardtanh_")
def aten_hardtanh(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor"""
    x = _x(ctx, node)
    low, high = _scalar(ctx, node, "min_val", x), _scalar(ctx, node, "max_val", x)
    return ctx.op("Clip", x, low, high)


@handler("aten::leaky_relu", "aten::leaky_relu_")
def aten_leaky_relu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor"""
    slope = float(ctx.const(node.input("negative_slope")))  # type: ignore[arg-type]
    return ctx.op("LeakyRelu", _x(ctx, node), alpha=slope)


@handler("aten::elu", "aten::elu_")
def aten_elu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor"""
    alpha = float(ctx.const(node.input("alpha")))  # type: ignore[arg-type]
    scale = float(ctx.const(node.input("scale")))  # type: ignore[arg-type]
    input_scale = float(ctx.const(node.input("input_scale")))  # type: ignore[arg-type]
    x = _x(ctx, node)
    if input_scale != 1.0:
        x = ctx.op("Mul", x, ctx.constant(input_scale, ctx.dtype(x)))
    y = ctx.op("Elu", x, alpha=alpha)
    return y if scale == 1.0 else ctx.op("Mul", y, ctx.constant(scale, ctx.dtype(x)))


@handler("aten::gelu", "aten::gelu_")
def aten_gelu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::gelu(Tensor self, *, str approximate='none') -> Tensor"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if ctx.const(node.input("approximate")) == "tanh":
        # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
        cube = ctx.op("Mul", ctx.op("Mul", x, x), x)
        inner = ctx.op("Add", x, ctx.op("Mul", cube, ctx.constant(0.044715, dtype)))
        t = ctx.op("Tanh", ctx.op("Mul", inner, ctx.constant(math.sqrt(2 / math.pi), dtype)))
    else:
        # 0.5 * x * (1 + erf(x / sqrt(2)))
        t = ctx.op("Erf", ctx.op("Mul", x, ctx.constant(1 / math.sqrt(2), dtype)))
    half_x = ctx.op("Mul", x, ctx.constant(0.5, dtype))
    return ctx.op("Mul", half_x, ctx.op("Add", t, ctx.constant(1.0, dtype)))


@handler("aten::gelu", since_opset=20)
def aten_gelu_20(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::gelu(Tensor self, *, str approximate='none') -> Tensor (ONNX Gelu, opset 20)"""
    return ctx.op("Gelu", _x(ctx, node), approximate=ctx.const(node.input("approximate")))


@handler("aten::silu", "aten::silu_")
def aten_silu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::silu(Tensor self) -> Tensor"""
    x = _x(ctx, node)
    return ctx.op("Mul", x, ctx.op("Sigmoid", x))


@handler("aten::hardswish", "aten::hardswish_")
def aten_hardswish(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::hardswish(Tensor self) -> Tensor"""
    return ctx.op("HardSwish", _x(ctx, node))


@handler("aten::hardsigmoid", "aten::hardsigmoid_")
def aten_hardsigmoid(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::hardsigmoid(Tensor self) -> Tensor"""
    return ctx.op("HardSigmoid", _x(ctx, node), alpha=1.0 / 6.0, beta=0.5)


@handler("aten::softmax", "aten::log_softmax", "aten::_softmax", "aten::_log_softmax")
def aten_softmax(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::softmax.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor"""
    x = _x(ctx, node)
    if node.has_input("dtype") and not ctx.is_none(node.input("dtype")):
        from converter.translate.dtypes import from_scalar_type

        x = ctx.cast(x, from_scalar_type(ctx.const_int(node.input("dtype"))))
    dim = ctx.const_int(node.input("dim"))
    op_type = "LogSoftmax" if "log" in node.kind else "Softmax"
    return ctx.op(op_type, x, axis=dim)


@handler(
    "aten::dropout",
    "aten::dropout_",
    "aten::feature_dropout",
    "aten::alpha_dropout",
    "aten::feature_alpha_dropout",
)
def aten_dropout(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::dropout(Tensor input, float p, bool train) -> Tensor (eval only: identity)"""
    if ctx.const(node.input("train")):
        raise Unsupported(
            "dropout recorded in training mode (train=True); call model.eval() before tracing"
        )
    return _x(ctx, node)
