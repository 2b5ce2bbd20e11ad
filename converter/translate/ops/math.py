"""More element-wise math: rounding, logs and exps, trigonometry, logical and bitwise ops,
NaN-aware minimum/maximum, float classification, lerp/addcmul/addcdiv, hypot and friends.

Numerics follow PyTorch's CPU kernels: float16 and bfloat16 are computed in float32 and rounded
once (PyTorch's "opmath" type), and functions that ONNX lacks are composed from exact steps or
well-conditioned formulas (log1p, expm1, atan2, hypot), never from approximations that would
drift from PyTorch. Where ONNX Runtime's CPU provider has no float64 kernel for an ONNX op
(Tan, Sinh, Atan, ...), float64 inputs are refused instead of silently computed in float32.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

BOOL = ir.DataType.BOOL
FLOAT = ir.DataType.FLOAT
DOUBLE = ir.DataType.DOUBLE
FLOAT16 = ir.DataType.FLOAT16
BFLOAT16 = ir.DataType.BFLOAT16
INT32 = ir.DataType.INT32
INT64 = ir.DataType.INT64

# Element types ONNX Runtime's CPU Where, Max/Min and Sign take (others go through a cast).
_WHERE_TYPES = frozenset(
    {FLOAT16, FLOAT, DOUBLE, ir.DataType.INT8, ir.DataType.UINT8, INT32, INT64}
)
_MINMAX_TYPES = _WHERE_TYPES
_SIGN_TYPES = frozenset(
    {FLOAT16, FLOAT, DOUBLE, ir.DataType.INT8, ir.DataType.INT16, INT32, INT64, ir.DataType.UINT8}
)


# ---- helpers ---------------------------------------------------------------------------------
def _opmath(dtype: ir.DataType) -> ir.DataType:
    """The type PyTorch's CPU kernels compute a float dtype in (float32 for 16-bit floats)."""
    return FLOAT if dtype in (FLOAT16, BFLOAT16) else dtype


def _float_result(dtype: ir.DataType) -> ir.DataType:
    """Result dtype of a float function: floats keep theirs, integers and bools give float32."""
    return dtype if dtype.is_floating_point() else FLOAT


def _x(ctx: TranslationContext, node: TSNode) -> ir.Value:
    return ctx.tensor(node.inputs[0])


def _c(ctx: TranslationContext, value: float, dtype: ir.DataType) -> ir.Value:
    return ctx.constant(value, dtype)


def _where(ctx: TranslationContext, cond: ir.Value, a: ir.Value, b: ir.Value) -> ir.Value:
    """Where for every element type (ONNX Runtime's CPU Where takes no bool, int16, bfloat16)."""
    dtype = ctx.dtype(a)
    if dtype in _WHERE_TYPES:
        return ctx.op("Where", cond, a, b)
    if dtype == BOOL:
        return ctx.op("Or", ctx.op("And", cond, a), ctx.op("And", ctx.op("Not", cond), b))
    wide = FLOAT if dtype.is_floating_point() else INT64
    return ctx.cast(ctx.op("Where", cond, ctx.cast(a, wide), ctx.cast(b, wide)), dtype)


def _full_bool(ctx: TranslationContext, like: ir.Value, value: bool) -> ir.Value:
    """A bool tensor of ``like``'s shape filled with ``value``."""
    fill = ir.tensor(np.array([value], dtype=np.bool_), dtype=BOOL)
    y = ctx.op("ConstantOfShape", ctx.op("Shape", like), value=fill)
    if like.shape is not None:
        y.shape = ir.Shape(list(like.shape))
    return y


def _isnan(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    dtype = ctx.dtype(x)
    if not dtype.is_floating_point():
        return _full_bool(ctx, x, False)
    return ctx.op("IsNaN", ctx.cast(x, FLOAT) if dtype == BFLOAT16 else x)


def _isinf(ctx: TranslationContext, x: ir.Value, *, pos: bool = True, neg: bool = True) -> ir.Value:
    if not ctx.dtype(x).is_floating_point():
        return _full_bool(ctx, x, False)
    x = ctx.cast(x, _opmath(ctx.dtype(x)))  # IsInf takes no 16-bit floats before opset 20
    return ctx.op("IsInf", x, detect_positive=int(pos), detect_negative=int(neg))


def _signbit(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """True where the sign bit is set: negative numbers and -0.0 (a NaN counts as positive:
    ONNX cannot read a NaN's sign bit)."""
    dtype = ctx.dtype(x)
    if dtype == BOOL:
        return _full_bool(ctx, x, False)
    if not dtype.is_floating_point():
        return ctx.op("Less", x, _c(ctx, 0, dtype))
    x = ctx.cast(x, _opmath(dtype))
    zero = _c(ctx, 0.0, ctx.dtype(x))
    negative_zero = ctx.op(
        "And",
        ctx.op("Equal", x, zero),
        ctx.op("Less", ctx.op("Reciprocal", x), zero),  # 1/-0 = -inf
    )
    return ctx.op("Or", ctx.op("Less", x, zero), negative_zero)


def _refuse_double(op_type: str, what: str) -> Unsupported:
    return Unsupported(
        f"{what} of a float64 tensor: ONNX Runtime's CPU provider has no float64 {op_type} "
        "kernel, and computing it in float32 would not match PyTorch; cast to float32 first"
    )


def _is_number(ctx: TranslationContext, ts_value: torch._C.Value) -> bool:
    return isinstance(ctx.entry(ts_value), bool | int | float)


def _binary_float(ctx: TranslationContext, node: TSNode) -> tuple[ir.Value, ir.Value, ir.DataType]:
    """Both operands promoted; integer results become float32 (for float-valued functions)."""
    a, b = node.inputs[0], node.inputs[1]
    dtype = _float_result(ctx.promote(a, b))
    (x, y), _ = ctx.operands(a, b, dtype=dtype)
    return x, y, dtype


# ---- one-input float functions ---------------------------------------------------------------
# ONNX ops PyTorch's function maps to one-to-one; ONNX Runtime's CPU provider runs them in
# float32 and float16 only, so 16-bit floats are computed in float32 and float64 is refused.
_DIRECT = {
    "aten::tan": "Tan",
    "aten::sinh": "Sinh",
    "aten::cosh": "Cosh",
    "aten::asin": "Asin",
    "aten::acos": "Acos",
    "aten::atan": "Atan",
    "aten::asinh": "Asinh",
    "aten::acosh": "Acosh",
    "aten::atanh": "Atanh",
}


@handler(*_DIRECT, *(k + "_" for k in _DIRECT))
def aten_trig(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::tan(Tensor self) -> Tensor; likewise sinh, cosh, asin, acos, atan, asinh, acosh,
    atanh (and their in-place forms; TorchScript turns the arc* aliases into these)"""
    x = _x(ctx, node)
    out = _float_result(ctx.dtype(x))
    op_type = _DIRECT[node.kind.rstrip("_")]
    if out == DOUBLE:
        raise _refuse_double(op_type, node.kind.removeprefix("aten::"))
    return ctx.cast(ctx.op(op_type, ctx.cast(x, FLOAT)), out)


def _log1p(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """log(1 + x) without the cancellation of the naive form (Goldberg's correction)."""
    dtype = ctx.dtype(x)
    one = _c(ctx, 1.0, dtype)
    u = ctx.op("Add", x, one)
    core = ctx.op("Mul", ctx.op("Log", u), ctx.op("Div", x, ctx.op("Sub", u, one)))
    y = ctx.op("Where", ctx.op("Equal", u, one), x, core)
    return ctx.op("Where", ctx.op("IsInf", x, detect_negative=0), x, y)


def _expm1(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """exp(x) - 1 without the cancellation of the naive form (Kahan's correction)."""
    dtype = ctx.dtype(x)
    one = _c(ctx, 1.0, dtype)
    u = ctx.op("Exp", x)
    um1 = ctx.op("Sub", u, one)
    core = ctx.op("Div", ctx.op("Mul", um1, x), ctx.op("Log", u))
    y = ctx.op("Where", ctx.op("Equal", um1, _c(ctx, -1.0, dtype)), um1, core)
    y = ctx.op("Where", ctx.op("Equal", u, one), x, y)
    return ctx.op("Where", ctx.op("IsInf", u), u, y)


def _in_double(
    ctx: TranslationContext, node: TSNode, body: Callable[[ir.Value], ir.Value]
) -> ir.Value:
    """Compute in float64 and round once to the result type (correctly rounded for float32)."""
    x = _x(ctx, node)
    out = _float_result(ctx.dtype(x))
    return ctx.cast(body(ctx.cast(x, DOUBLE)), out)


@handler("aten::log1p", "aten::log1p_")
def aten_log1p(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::log1p(Tensor self) -> Tensor"""
    return _in_double(ctx, node, lambda x: _log1p(ctx, x))


@handler("aten::expm1", "aten::expm1_")
def aten_expm1(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::expm1(Tensor self) -> Tensor"""
    return _in_double(ctx, node, lambda x: _expm1(ctx, x))


@handler("aten::log2", "aten::log2_", "aten::log10", "aten::log10_")
def aten_log2(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::log2(Tensor self) -> Tensor; aten::log10(Tensor self) -> Tensor (in float64, so
    log2 of a power of two is exact)"""
    base = 2.0 if node.kind.startswith("aten::log2") else 10.0
    return _in_double(
        ctx, node, lambda x: ctx.op("Div", ctx.op("Log", x), _c(ctx, math.log(base), DOUBLE))
    )


@handler("aten::exp2", "aten::exp2_")
def aten_exp2(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::exp2(Tensor self) -> Tensor"""
    return _in_double(ctx, node, lambda x: ctx.op("Pow", _c(ctx, 2.0, DOUBLE), x))


@handler("aten::deg2rad", "aten::deg2rad_", "aten::rad2deg", "aten::rad2deg_")
def aten_deg2rad(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::deg2rad(Tensor self) -> Tensor; aten::rad2deg(Tensor self) -> Tensor"""
    x = _x(ctx, node)
    out = _float_result(ctx.dtype(x))
    work = _opmath(out)  # PyTorch multiplies 16-bit floats by the float32 factor
    factor = math.pi / 180 if node.kind.startswith("aten::deg2rad") else 180 / math.pi
    return ctx.cast(ctx.op("Mul", ctx.cast(x, work), _c(ctx, factor, work)), out)


@handler("aten::erfinv", "aten::erfinv_")
def aten_erfinv(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::erfinv(Tensor self) -> Tensor: refused"""
    raise Unsupported(
        "ONNX has no inverse error function, and a polynomial approximation would not match "
        "PyTorch's erfinv"
    )


# ---- rounding and sign -----------------------------------------------------------------------
@handler("aten::sign", "aten::sign_", "aten::sgn", "aten::sgn_")
def aten_sign(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::sign(Tensor self) -> Tensor; aten::sgn (the same for real tensors). The sign of NaN
    is 0, as in PyTorch."""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if dtype == BOOL:
        return x
    if not dtype.is_floating_point():
        if dtype in _SIGN_TYPES:
            return ctx.op("Sign", x)
        return ctx.cast(ctx.op("Sign", ctx.cast(x, INT64)), dtype)
    xf = ctx.cast(x, _opmath(dtype))
    y = ctx.op("Where", ctx.op("IsNaN", xf), _c(ctx, 0.0, ctx.dtype(xf)), ctx.op("Sign", xf))
    return ctx.cast(y, dtype)


@handler("aten::round", "aten::round_")
def aten_round(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::round(Tensor self) -> Tensor (half to even); round.decimals(Tensor self, *, int
    decimals) -> Tensor, as PyTorch computes it: nearbyint(x * 10^d) / 10^d"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    decimals = ctx.const_int(node.input("decimals")) if node.has_input("decimals") else 0
    if not dtype.is_floating_point():
        if decimals:
            raise Unsupported(f"round with decimals of a {dtype.name} tensor")
        return x
    xf = ctx.cast(x, _opmath(dtype))
    if decimals == 0:
        return ctx.cast(ctx.op("Round", xf), dtype)
    scale = _c(ctx, float(10 ** abs(decimals)), ctx.dtype(xf))
    if decimals > 0:
        y = ctx.op("Div", ctx.op("Round", ctx.op("Mul", xf, scale)), scale)
    else:
        y = ctx.op("Mul", ctx.op("Round", ctx.op("Div", xf, scale)), scale)
    return ctx.cast(y, dtype)


def _trunc(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    negative = ctx.op("Less", x, _c(ctx, 0.0, ctx.dtype(x)))
    return ctx.op("Where", negative, ctx.op("Ceil", x), ctx.op("Floor", x))


@handler("aten::trunc", "aten::trunc_")
def aten_trunc(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::trunc(Tensor self) -> Tensor (also torch.fix, which TorchScript maps to trunc)"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if not dtype.is_floating_point():
        return x
    return ctx.cast(_trunc(ctx, ctx.cast(x, _opmath(dtype))), dtype)


@handler("aten::frac", "aten::frac_")
def aten_frac(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::frac(Tensor self) -> Tensor: x - trunc(x)"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if not dtype.is_floating_point():
        raise Unsupported(f"frac of a {dtype.name} tensor (PyTorch refuses it too)")
    xf = ctx.cast(x, _opmath(dtype))
    return ctx.cast(ctx.op("Sub", xf, _trunc(ctx, xf)), dtype)


@handler("aten::square", "aten::square_")
def aten_square(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::square(Tensor self) -> Tensor (bool gives int64, as in PyTorch)"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if dtype == BOOL:
        x = ctx.cast(x, INT64)
    if dtype == BFLOAT16:  # no bfloat16 Mul in ONNX Runtime: the float32 product, rounded
        xf = ctx.cast(x, FLOAT)
        return ctx.cast(ctx.op("Mul", xf, xf), dtype)
    return ctx.op("Mul", x, x)


# ---- two-input float functions ---------------------------------------------------------------
@handler("aten::atan2", "aten::atan2_")
def aten_atan2(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::atan2(Tensor self, Tensor other) -> Tensor, with C's quadrant, signed-zero and
    infinity rules"""
    y, x, out = _binary_float(ctx, node)
    if out == DOUBLE:
        raise _refuse_double("Atan", "atan2")
    y, x = ctx.cast(y, FLOAT), ctx.cast(x, FLOAT)

    def c(v: float) -> ir.Value:
        return _c(ctx, v, FLOAT)

    zero = c(0.0)
    pi_y = ctx.op("Where", _signbit(ctx, y), c(-math.pi), c(math.pi))  # copysign(pi, y)
    # general case: atan(y / x), shifted by +-pi in the left half-plane
    base = ctx.op("Atan", ctx.op("Div", y, x))
    general = ctx.op("Where", ctx.op("Less", x, zero), ctx.op("Add", base, pi_y), base)
    # y = +-0: +-0 on the right (x > 0 or x = +0), +-pi on the left (x < 0 or x = -0)
    on_zero_y = ctx.op("Where", _signbit(ctx, x), pi_y, y)
    y_zero = ctx.op("Equal", y, zero)
    result = ctx.op("Where", y_zero, on_zero_y, general)
    # x = +-0 and y != 0: +-pi/2
    half_pi = ctx.op("Mul", pi_y, c(0.5))
    x_zero_only = ctx.op("And", ctx.op("Equal", x, zero), ctx.op("Not", y_zero))
    result = ctx.op("Where", x_zero_only, half_pi, result)
    # both infinite: +-pi/4 or +-3pi/4
    both_inf = ctx.op("And", ctx.op("IsInf", x), ctx.op("IsInf", y))
    quarter = ctx.op("Where", ctx.op("Less", x, zero), c(0.75), c(0.25))
    result = ctx.op("Where", both_inf, ctx.op("Mul", pi_y, quarter), result)
    nan = ctx.op("Or", ctx.op("IsNaN", x), ctx.op("IsNaN", y))
    result = ctx.op("Where", nan, c(math.nan), result)
    return ctx.cast(result, out)


@handler("aten::hypot", "aten::hypot_")
def aten_hypot(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::hypot(Tensor self, Tensor other) -> Tensor: no overflow, hypot(inf, nan) = inf"""
    a, b, out = _binary_float(ctx, node)
    if out != DOUBLE:  # squares of float32 values cannot overflow float64
        a, b = ctx.cast(a, DOUBLE), ctx.cast(b, DOUBLE)
        r = ctx.op("Sqrt", ctx.op("Add", ctx.op("Mul", a, a), ctx.op("Mul", b, b)))
    else:
        aa, ab = ctx.op("Abs", a), ctx.op("Abs", b)
        big, small = ctx.op("Max", aa, ab), ctx.op("Min", aa, ab)
        ratio = ctx.op("Div", small, big)
        one = _c(ctx, 1.0, DOUBLE)
        r = ctx.op("Mul", big, ctx.op("Sqrt", ctx.op("Add", one, ctx.op("Mul", ratio, ratio))))
        r = ctx.op("Where", ctx.op("Equal", big, _c(ctx, 0.0, DOUBLE)), big, r)
    inf = ctx.op("Or", ctx.op("IsInf", a), ctx.op("IsInf", b))
    r = ctx.op("Where", inf, _c(ctx, math.inf, DOUBLE), r)
    return ctx.cast(r, out)


@handler("aten::copysign", "aten::copysign_")
def aten_copysign(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::copysign.Tensor(Tensor self, Tensor other) -> Tensor; copysign.Scalar. A NaN in
    ``other`` counts as positive: ONNX cannot read the sign bit of a NaN."""
    a, b, out = _binary_float(ctx, node)
    a = ctx.cast(a, _opmath(out))
    magnitude = ctx.op("Abs", a)
    return ctx.cast(ctx.op("Where", _signbit(ctx, b), ctx.op("Neg", magnitude), magnitude), out)


@handler("aten::xlogy", "aten::xlogy_")
def aten_xlogy(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::xlogy.Tensor(Tensor self, Tensor other) -> Tensor; .Scalar_Self; .Scalar_Other:
    0 where x == 0 (unless y is NaN), else x * log(y)"""
    x, y, out = _binary_float(ctx, node)
    x, y = ctx.cast(x, _opmath(out)), ctx.cast(y, _opmath(out))
    dtype = ctx.dtype(x)
    r = ctx.op("Mul", x, ctx.op("Log", y))
    r = ctx.op("Where", ctx.op("Equal", x, _c(ctx, 0.0, dtype)), _c(ctx, 0.0, dtype), r)
    r = ctx.op("Where", ctx.op("IsNaN", y), _c(ctx, math.nan, dtype), r)
    return ctx.cast(r, out)


@handler("aten::logaddexp", "aten::logaddexp2")
def aten_logaddexp(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logaddexp(Tensor self, Tensor other) -> Tensor: max + log1p(exp(-|a - b|));
    logaddexp2 likewise in base 2"""
    a, b, out = _binary_float(ctx, node)
    if out != DOUBLE:
        a, b = ctx.cast(a, DOUBLE), ctx.cast(b, DOUBLE)
    big = ctx.op("Max", a, b)
    gap = ctx.op("Neg", ctx.op("Abs", ctx.op("Sub", a, b)))
    if node.kind == "aten::logaddexp":
        tail = _log1p(ctx, ctx.op("Exp", gap))
    else:  # log2(1 + 2^gap)
        ln2 = _c(ctx, math.log(2.0), DOUBLE)
        tail = ctx.op("Div", _log1p(ctx, ctx.op("Pow", _c(ctx, 2.0, DOUBLE), gap)), ln2)
    r = ctx.op("Add", big, tail)
    # equal infinities (a == b == +-inf) give themselves; inf - inf would be NaN
    same_inf = ctx.op("And", ctx.op("IsInf", a), ctx.op("Equal", a, b))
    return ctx.cast(ctx.op("Where", same_inf, a, r), out)


@handler("aten::heaviside", "aten::heaviside_")
def aten_heaviside(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::heaviside(Tensor self, Tensor values) -> Tensor: values where x == 0, else x > 0"""
    (x, v), dtype = ctx.operands(node.inputs[0], node.inputs[1])
    x = ctx.cast(x, _opmath(dtype))
    zero = _c(ctx, 0, ctx.dtype(x))
    step = ctx.cast(ctx.op("Greater", x, zero), dtype)
    return _where(ctx, ctx.op("Equal", x, zero), v, step)


# ---- logical and bitwise ---------------------------------------------------------------------
_LOGICAL = {
    "aten::logical_and": "And",
    "aten::logical_or": "Or",
    "aten::logical_xor": "Xor",
}


def _truth(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """Nonzero (NaN included) is true."""
    if ctx.dtype(x) == BFLOAT16:
        x = ctx.cast(x, FLOAT)
    return ctx.cast(x, BOOL)


@handler(*_LOGICAL, *(k + "_" for k in _LOGICAL))
def aten_logical(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logical_and(Tensor self, Tensor other) -> Tensor (bool); logical_or, logical_xor;
    in place, the result keeps the dtype of self"""
    a, b = ctx.tensor(node.inputs[0]), ctx.tensor(node.inputs[1])
    y = ctx.op(_LOGICAL[node.kind.rstrip("_")], _truth(ctx, a), _truth(ctx, b))
    return ctx.cast(y, ctx.dtype(a)) if node.kind.endswith("_") else y


@handler("aten::logical_not", "aten::logical_not_")
def aten_logical_not(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logical_not(Tensor self) -> Tensor (bool)"""
    x = _x(ctx, node)
    y = ctx.op("Not", _truth(ctx, x))
    return ctx.cast(y, ctx.dtype(x)) if node.kind.endswith("_") else y


_BITWISE: dict[str, tuple[str, str, Callable[[Any, Any], object]]] = {
    "and": ("And", "BitwiseAnd", operator.and_),
    "or": ("Or", "BitwiseOr", operator.or_),
    "xor": ("Xor", "BitwiseXor", operator.xor),
}
_BITWISE_NAMES = [
    f"aten::{form}"
    for op in _BITWISE
    for form in (f"bitwise_{op}", f"bitwise_{op}_", f"__{op}__", f"__i{op}__")
]


def _bitwise_kind(node: TSNode) -> tuple[str, bool]:
    """The operation (and, or, xor) and whether the form is in place."""
    name = node.kind.removeprefix("aten::")
    if name.startswith("__i"):  # __iand__
        return name[3:-2], True
    if name.startswith("__"):  # __and__
        return name[2:-2], False
    return name.removeprefix("bitwise_").rstrip("_"), name.endswith("_")


def _bitwise(ctx: TranslationContext, node: TSNode, *, integers: bool) -> Entry:
    kind, inplace = _bitwise_kind(node)
    logical, bitwise, fold = _BITWISE[kind]
    a, b = node.inputs[0], node.inputs[1]
    if _is_number(ctx, a) and _is_number(ctx, b):
        return fold(ctx.const(a), ctx.const(b))
    dtype = ctx.dtype(ctx.tensor(a)) if inplace else ctx.promote(a, b)
    if dtype.is_floating_point():
        raise Unsupported(f"bitwise {kind} of {dtype.name} values (PyTorch refuses it too)")
    (x, y), _ = ctx.operands(a, b, dtype=dtype)
    if dtype == BOOL:
        return ctx.op(logical, x, y)
    if not integers:
        raise Unsupported(
            f"bitwise {kind} of {dtype.name} tensors needs ONNX {bitwise}, which is in opset 18 "
            "and later; convert with --opset 18 (bool tensors work in opset 17)"
        )
    return ctx.op(bitwise, x, y)


@handler(*_BITWISE_NAMES)
def aten_bitwise_opset17(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor; .Scalar; .Scalar_Tensor;
    __and__.Tensor/.Scalar/.bool/.int; likewise or and xor. Opset 17 has And/Or/Xor for bool
    tensors only: integer tensors are refused."""
    return _bitwise(ctx, node, integers=False)


@handler(*_BITWISE_NAMES, since_opset=18)
def aten_bitwise(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor and the other forms, with
    ONNX BitwiseAnd/BitwiseOr/BitwiseXor for integer tensors (opset 18)"""
    return _bitwise(ctx, node, integers=True)


def _bitwise_not(ctx: TranslationContext, node: TSNode, *, integers: bool) -> Entry:
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if dtype == BOOL:
        return ctx.op("Not", x)
    if dtype.is_floating_point():
        raise Unsupported(f"bitwise not of a {dtype.name} tensor (PyTorch refuses it too)")
    if not integers:
        raise Unsupported(
            f"bitwise not of a {dtype.name} tensor needs ONNX BitwiseNot, which is in opset 18 "
            "and later; convert with --opset 18 (bool tensors work in opset 17)"
        )
    return ctx.op("BitwiseNot", x)


@handler("aten::bitwise_not", "aten::bitwise_not_")
def aten_bitwise_not_opset17(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::bitwise_not(Tensor self) -> Tensor (bool tensors only in opset 17)"""
    return _bitwise_not(ctx, node, integers=False)


@handler("aten::bitwise_not", "aten::bitwise_not_", since_opset=18)
def aten_bitwise_not(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::bitwise_not(Tensor self) -> Tensor"""
    return _bitwise_not(ctx, node, integers=True)


# ---- minimum / maximum -----------------------------------------------------------------------
def _minmax(ctx: TranslationContext, op_type: str, x: ir.Value, y: ir.Value) -> ir.Value:
    """ONNX Max/Min (NaN-propagating in ONNX Runtime) for every element type."""
    dtype = ctx.dtype(x)
    if dtype == BOOL:
        return ctx.op("Or" if op_type == "Max" else "And", x, y)
    if dtype in _MINMAX_TYPES:
        return ctx.op(op_type, x, y)
    wide = FLOAT if dtype.is_floating_point() else INT64  # exact for bfloat16 and int16
    return ctx.cast(ctx.op(op_type, ctx.cast(x, wide), ctx.cast(y, wide)), dtype)


@handler("aten::maximum", "aten::minimum")
def aten_maximum(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::maximum(Tensor self, Tensor other) -> Tensor; minimum likewise. A NaN in either
    operand gives NaN."""
    (x, y), _ = ctx.operands(node.inputs[0], node.inputs[1])
    return _minmax(ctx, "Max" if node.kind == "aten::maximum" else "Min", x, y)


@handler("aten::fmax", "aten::fmin")
def aten_fmax(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::fmax(Tensor self, Tensor other) -> Tensor; fmin likewise. NaN is ignored: the
    other operand is taken (NaN only where both are NaN)."""
    (x, y), dtype = ctx.operands(node.inputs[0], node.inputs[1])
    m = _minmax(ctx, "Max" if node.kind == "aten::fmax" else "Min", x, y)
    if not dtype.is_floating_point():
        return m
    m = _where(ctx, _isnan(ctx, y), x, m)
    return _where(ctx, _isnan(ctx, x), y, m)


# ---- classification --------------------------------------------------------------------------
@handler("aten::isnan")
def aten_isnan(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::isnan(Tensor self) -> Tensor"""
    return _isnan(ctx, _x(ctx, node))


@handler("aten::isinf", "aten::isposinf", "aten::isneginf")
def aten_isinf(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::isinf(Tensor self) -> Tensor; isposinf; isneginf"""
    kind = node.kind.removeprefix("aten::")
    return _isinf(ctx, _x(ctx, node), pos=kind != "isneginf", neg=kind != "isposinf")


@handler("aten::isfinite")
def aten_isfinite(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::isfinite(Tensor self) -> Tensor: x - x is NaN exactly for NaN and +-inf"""
    x = _x(ctx, node)
    if not ctx.dtype(x).is_floating_point():
        return _full_bool(ctx, x, True)
    xf = ctx.cast(x, _opmath(ctx.dtype(x)))
    return ctx.op("Not", ctx.op("IsNaN", ctx.op("Sub", xf, xf)))


@handler("aten::signbit")
def aten_signbit(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::signbit(Tensor self) -> Tensor: true for negatives and -0.0 (a NaN counts as
    positive: ONNX cannot read a NaN's sign bit)"""
    return _signbit(ctx, _x(ctx, node))


@handler("aten::nan_to_num", "aten::nan_to_num_")
def aten_nan_to_num(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::nan_to_num(Tensor self, float? nan=None, float? posinf=None, float? neginf=None)
    -> Tensor (infinities default to the dtype's largest finite values)"""
    x = _x(ctx, node)
    dtype = ctx.dtype(x)
    if not dtype.is_floating_point():
        return x
    info = torch.finfo(_torch_dtype(dtype))

    def value(name: str, default: float) -> ir.Value:
        ts_value = node.input(name)
        if ctx.is_none(ts_value):
            return ctx.cast(_c(ctx, default, DOUBLE), dtype)
        if ctx.is_const(ts_value):
            v = float(ctx.const(ts_value))  # type: ignore[arg-type]
            return ctx.cast(_c(ctx, v, DOUBLE), dtype)
        return ctx.tensor(ts_value, dtype)

    xf = ctx.cast(x, _opmath(dtype))
    y = _where(ctx, _isinf(ctx, xf, neg=False), value("posinf", info.max), x)
    y = _where(ctx, _isinf(ctx, xf, pos=False), value("neginf", info.min), y)
    return _where(ctx, ctx.op("IsNaN", xf), value("nan", 0.0), y)


def _torch_dtype(dtype: ir.DataType) -> torch.dtype:
    from converter.translate import dtypes

    return dtypes.to_torch(dtype)


# ---- interpolation and fused arithmetic ------------------------------------------------------
@handler("aten::lerp", "aten::lerp_")
def aten_lerp(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::lerp.Scalar(Tensor self, Tensor end, Scalar weight) -> Tensor; lerp.Tensor. As
    PyTorch: start + w * (end - start) for |w| < 0.5, else end - (end - start) * (1 - w)."""
    start_v, end_v, weight_v = node.input("self"), node.input("end"), node.input("weight")
    dtype = ctx.dtype(ctx.tensor(start_v))
    if not dtype.is_floating_point():
        raise Unsupported(f"lerp of {dtype.name} tensors (PyTorch refuses it too)")
    work = _opmath(dtype)
    start = ctx.tensor(start_v, work)
    end = ctx.tensor(end_v, work)
    diff = ctx.op("Sub", end, start)
    one = _c(ctx, 1.0, work)

    def small(w: ir.Value) -> ir.Value:
        return ctx.op("Add", start, ctx.op("Mul", w, diff))

    def large(w: ir.Value) -> ir.Value:
        return ctx.op("Sub", end, ctx.op("Mul", diff, ctx.op("Sub", one, w)))

    if ctx.is_const(weight_v) and not isinstance(ctx.entry(weight_v), ir.Value):
        w_value = float(ctx.const(weight_v))  # type: ignore[arg-type]
        w = _c(ctx, w_value, work)
        return ctx.cast(small(w) if abs(w_value) < 0.5 else large(w), dtype)
    w = ctx.tensor(weight_v, work)
    is_small = ctx.op("Less", ctx.op("Abs", w), _c(ctx, 0.5, work))
    return ctx.cast(ctx.op("Where", is_small, small(w), large(w)), dtype)


def _addc(ctx: TranslationContext, node: TSNode, op_type: str) -> ir.Value:
    names = ("self", "tensor1", "tensor2")
    dtype = ctx.promote(*(node.input(n) for n in names))
    if op_type == "Div" and not dtype.is_floating_point():
        raise Unsupported(f"addcdiv of {dtype.name} tensors (PyTorch refuses integer division)")
    work = _opmath(dtype)
    s, t1, t2 = (ctx.tensor(node.input(n), work) for n in names)
    value_v = node.input("value")
    if _is_number(ctx, value_v):
        value = ctx.const(value_v)
        if value != 1:
            t1 = ctx.op("Mul", _c(ctx, value, work), t1)  # type: ignore[arg-type]
    else:
        t1 = ctx.op("Mul", ctx.tensor(value_v, work), t1)
    return ctx.cast(ctx.op("Add", s, ctx.op(op_type, t1, t2)), dtype)


@handler("aten::addcmul", "aten::addcmul_")
def aten_addcmul(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::addcmul(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor:
    self + value * tensor1 * tensor2"""
    return _addc(ctx, node, "Mul")


@handler("aten::addcdiv", "aten::addcdiv_")
def aten_addcdiv(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::addcdiv(Tensor self, Tensor tensor1, Tensor tensor2, *, Scalar value=1) -> Tensor:
    self + value * tensor1 / tensor2"""
    return _addc(ctx, node, "Div")
