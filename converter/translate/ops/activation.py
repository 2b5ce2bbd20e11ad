"""Activations, softmax and eval-mode dropout."""

from __future__ import annotations

import math

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import erf
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
        t = erf(ctx, ctx.op("Mul", x, ctx.constant(1 / math.sqrt(2), dtype)), "exact gelu")
    half_x = ctx.op("Mul", x, ctx.constant(0.5, dtype))
    return ctx.op("Mul", half_x, ctx.op("Add", t, ctx.constant(1.0, dtype)))


@handler("aten::gelu", since_opset=20)
def aten_gelu_20(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::gelu(Tensor self, *, str approximate='none') -> Tensor (ONNX Gelu, opset 20)"""
    x = _x(ctx, node)
    approximate = ctx.const(node.input("approximate"))
    if approximate == "none" and ctx.dtype(x) == ir.DataType.DOUBLE:
        erf(ctx, x, "exact gelu")  # refused: no float64 kernel (ONNX Runtime's Gelu uses Erf)
    return ctx.op("Gelu", x, approximate=approximate)


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


@handler("aten::prelu")
def aten_prelu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::prelu(Tensor self, Tensor weight) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    weight = ctx.tensor(node.input("weight"), ctx.dtype(x))
    rank = ctx.rank(x)
    if rank >= 2:  # one slope per channel (dim 1), or a single slope: [C, 1, ...] broadcasts
        weight = ctx.op("Reshape", weight, ctx.constant([-1] + [1] * (rank - 2)))
    return ctx.op("PRelu", x, weight)


@handler("aten::glu")
def aten_glu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::glu(Tensor self, int dim=-1) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    axis = ctx.const_int(node.input("dim")) % ctx.rank(x)
    size = ctx.static_dim(x, axis)
    if size is not None:
        a, b = ctx.op_multi("Split", x, ctx.constant([size // 2] * 2), axis=axis, num_outputs=2)
    else:  # the halving point is only known at run time: slice at Shape(x)[axis] / 2
        dim = ctx.op("Gather", ctx.op("Shape", x), ctx.constant([axis]), axis=0)
        half = ctx.op("Div", dim, ctx.constant([2]))
        axes = ctx.constant([axis])
        a = ctx.op("Slice", x, ctx.constant([0]), half, axes)
        b = ctx.op("Slice", x, half, dim, axes)
    return ctx.op("Mul", a, ctx.op("Sigmoid", b))


@handler("aten::mish", "aten::mish_")
def aten_mish(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::mish(Tensor self) -> Tensor"""
    x = _x(ctx, node)
    return ctx.op("Mul", x, ctx.op("Tanh", ctx.op("Softplus", x)))


@handler("aten::mish", "aten::mish_", since_opset=18)
def aten_mish_18(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::mish(Tensor self) -> Tensor (ONNX Mish, opset 18)"""
    return ctx.op("Mish", _x(ctx, node))


@handler("aten::softplus")
def aten_softplus(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor"""
    x = _x(ctx, node)
    beta, threshold = _scalar(ctx, node, "beta", x), _scalar(ctx, node, "threshold", x)
    if float(ctx.const(node.input("beta"))) == 1.0:  # type: ignore[arg-type]
        scaled = x
        y = ctx.op("Softplus", x)
    else:
        scaled = ctx.op("Mul", x, beta)
        y = ctx.op("Div", ctx.op("Softplus", scaled), beta)
    # PyTorch returns x itself where beta * x > threshold (linear regime), not softplus.
    return ctx.op("Where", ctx.op("Greater", scaled, threshold), x, y)


@handler("aten::celu", "aten::celu_")
def aten_celu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::celu(Tensor self, Scalar alpha=1.0) -> Tensor"""
    alpha = float(ctx.const(node.input("alpha")))  # type: ignore[arg-type]
    x = _x(ctx, node)
    if ctx.dtype(x) == ir.DataType.FLOAT:
        return ctx.op("Celu", x, alpha=alpha)
    # ONNX Celu is float32-only. PyTorch computes celu as (exp(x * (1/alpha)) - 1) * alpha
    # for x <= 0; alpha is applied as a tensor, since Elu's attribute is rounded to float32.
    dtype = ctx.dtype(x)
    elu = ctx.op("Elu", ctx.op("Mul", x, ctx.constant(1.0 / alpha, dtype)), alpha=1.0)
    negative = ctx.op("Mul", elu, ctx.constant(alpha, dtype))
    return ctx.op("Where", ctx.op("Greater", x, ctx.constant(0.0, dtype)), x, negative)


@handler("aten::selu", "aten::selu_")
def aten_selu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::selu(Tensor self) -> Tensor"""
    # PyTorch's constants (ONNX's attribute defaults are rounded differently).
    alpha, gamma = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return ctx.op("Selu", _x(ctx, node), alpha=alpha, gamma=gamma)


@handler("aten::threshold", "aten::threshold_")
def aten_threshold(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::threshold(Tensor self, Scalar threshold, Scalar value) -> Tensor"""
    x = _x(ctx, node)
    threshold, value = _scalar(ctx, node, "threshold", x), _scalar(ctx, node, "value", x)
    # x <= threshold -> value, else x (NaN is kept, as in PyTorch)
    return ctx.op("Where", ctx.op("LessOrEqual", x, threshold), value, x)


@handler("aten::log_sigmoid")
def aten_log_sigmoid(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::log_sigmoid(Tensor self) -> Tensor"""
    # log(sigmoid(x)) = -softplus(-x); ONNX Runtime's Softplus does not overflow for large x.
    return ctx.op("Neg", ctx.op("Softplus", ctx.op("Neg", _x(ctx, node))))


@handler("aten::hardshrink")
def aten_hardshrink(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::hardshrink(Tensor self, Scalar lambd=0.5) -> Tensor"""
    x = _x(ctx, node)
    lambd, zero = _scalar(ctx, node, "lambd", x), ctx.constant(0.0, ctx.dtype(x))
    # Where rather than ONNX Shrink, which maps NaN to 0 (PyTorch keeps NaN).
    return ctx.op("Where", ctx.op("LessOrEqual", ctx.op("Abs", x), lambd), zero, x)


@handler("aten::softshrink")
def aten_softshrink(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::softshrink(Tensor self, Scalar lambd=0.5) -> Tensor"""
    x = _x(ctx, node)
    lambd = float(ctx.const(node.input("lambd")))  # type: ignore[arg-type]
    low, high = ctx.constant(-lambd, ctx.dtype(x)), ctx.constant(lambd, ctx.dtype(x))
    # x - clip(x, -lambd, lambd): x -/+ lambd outside the band, 0 inside, NaN kept.
    return ctx.op("Sub", x, ctx.op("Clip", x, low, high))


@handler("aten::rrelu", "aten::rrelu_")
def aten_rrelu(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::rrelu(Tensor self, Scalar lower=0.125, Scalar upper=0.3333333333333333, bool training=False, Generator? generator=None) -> Tensor"""  # noqa: E501
    if ctx.const(node.input("training")):
        raise Unsupported(
            "rrelu recorded in training mode (training=True: random slopes); "
            "call .eval() before tracing"
        )
    lower = float(ctx.const(node.input("lower")))  # type: ignore[arg-type]
    upper = float(ctx.const(node.input("upper")))  # type: ignore[arg-type]
    return ctx.op("LeakyRelu", _x(ctx, node), alpha=(lower + upper) / 2)


@handler("aten::logit", "aten::logit_")
def aten_logit(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logit(Tensor self, float? eps=None) -> Tensor"""
    x = _x(ctx, node)
    if not ctx.dtype(x).is_floating_point():
        x = ctx.cast(x, ir.DataType.FLOAT)
    dtype = ctx.dtype(x)
    eps_arg = node.input("eps")
    eps = None if ctx.is_none(eps_arg) else float(ctx.const(eps_arg))  # type: ignore[arg-type]
    if eps is not None and eps >= 0:  # a negative eps means no clamping, as in PyTorch
        x = ctx.op("Clip", x, ctx.constant(eps, dtype), ctx.constant(1.0 - eps, dtype))
    return ctx.op("Log", ctx.op("Div", x, ctx.op("Sub", ctx.constant(1.0, dtype), x)))
