"""Element-wise arithmetic with PyTorch's dtype promotion, tensor and scalar operands."""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, RuntimeList, TranslationContext
from converter.translate.ops.lists import sequence_concat
from converter.translate.ops.shape_util import erf
from converter.translate.registry import handler

__all__: list[str] = []

_FOLD: dict[str, Callable[[object, object], object]] = {
    "Add": operator.add,
    "Sub": operator.sub,
    "Mul": operator.mul,
}


def _python_numbers(ctx: TranslationContext, *values: object) -> bool:
    return all(isinstance(ctx.entry(v), bool | int | float) for v in values)  # type: ignore[arg-type]


def _scalar_const(ctx: TranslationContext, ts_value: torch._C.Value) -> bool:
    """A Python number, or a 0-d tensor known at translation time (``prim::NumToTensor`` of a
    static size, a traced constant like ``{2}``)."""
    entry = ctx.entry(ts_value)
    if isinstance(entry, bool | int | float):
        return True
    if isinstance(entry, torch.Tensor):
        return entry.dim() == 0
    return (
        isinstance(entry, ir.Value)
        and entry.const_value is not None
        and entry.const_value.size == 1
        and entry.shape is not None
        and len(entry.shape) == 0
    )


def _fold(
    ctx: TranslationContext,
    a: torch._C.Value,
    b: torch._C.Value,
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    dtype: ir.DataType | None = None,
) -> Entry | None:
    """Shape arithmetic on 0-d constants, folded at translation time in the promoted dtype:
    a Python number for two Python numbers, else a 0-d constant tensor; None if not constant."""
    if not (_scalar_const(ctx, a) and _scalar_const(ctx, b)):
        return None
    if _python_numbers(ctx, a, b):  # Python arithmetic: int or double
        with np.errstate(all="ignore"):
            folded = np.asarray(fn(np.asarray(ctx.const(a)), np.asarray(ctx.const(b))))
        return folded.item()  # type: ignore[no-any-return]
    target = dtype or ctx.promote(a, b)
    np_type = dtypes.to_numpy(target)
    x = np.asarray(ctx.const(a)).astype(np_type)
    y = np.asarray(ctx.const(b)).astype(np_type)
    with np.errstate(all="ignore"):
        result = np.asarray(fn(x, y)).astype(np_type)
    return ctx.constant(result, target)


def _binary(ctx: TranslationContext, node: TSNode, op_type: str, *, swap: bool = False) -> Entry:
    a, b = node.inputs[0], node.inputs[1]
    if swap:
        a, b = b, a
    alpha = ctx.const(node.input("alpha")) if node.has_input("alpha") else 1
    if _python_numbers(ctx, a, b) and op_type in _FOLD:
        return _FOLD[op_type](ctx.const(a), alpha * ctx.const(b))  # type: ignore[operator]
    if op_type in _FOLD:
        folded = _fold(ctx, a, b, lambda x, y: _FOLD[op_type](x, y * alpha))  # type: ignore[arg-type,return-value]
        if folded is not None:
            return folded
    (x, y), _ = ctx.operands(a, b)
    if alpha != 1:
        y = ctx.op("Mul", y, ctx.constant(alpha, ctx.dtype(y)))
    return ctx.op(op_type, x, y)


@handler("aten::add", "aten::add_")
def aten_add(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor;
    aten::add.t(t[] a, t[] b) -> t[] (list concatenation)"""
    if node.overload == "t":
        a, b = ctx.entry(node.inputs[0]), ctx.entry(node.inputs[1])
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return [*a, *b]
        if isinstance(a, RuntimeList) or isinstance(b, RuntimeList):
            return sequence_concat(ctx, a, b)
        return ctx.op("Concat", ctx.tensor(node.inputs[0]), ctx.tensor(node.inputs[1]), axis=0)
    return _binary(ctx, node, "Add")


@handler("aten::sub", "aten::sub_")
def aten_sub(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"""
    return _binary(ctx, node, "Sub")


@handler("aten::rsub")
def aten_rsub(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::rsub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"""
    alpha = ctx.const(node.input("alpha"))
    (x, y), dtype = ctx.operands(node.inputs[0], node.inputs[1])
    if alpha != 1:
        x = ctx.op("Mul", x, ctx.constant(alpha, dtype))
    return ctx.op("Sub", y, x)


@handler("aten::mul", "aten::mul_")
def aten_mul(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::mul.Tensor(Tensor self, Tensor other) -> Tensor"""
    return _binary(ctx, node, "Mul")


@handler("aten::div", "aten::div_")
def aten_div(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor"""
    a, b = node.inputs[0], node.inputs[1]
    mode = ctx.const(node.input("rounding_mode")) if node.has_input("rounding_mode") else None
    dtype = ctx.promote(a, b)
    if mode is None and not dtype.is_floating_point():
        dtype = ir.DataType.FLOAT
    folded = _fold(ctx, a, b, _DIVIDE[None if mode is None else str(mode)], dtype)
    if folded is not None:
        return folded
    if mode is None:
        (x, y), _ = ctx.operands(a, b, dtype=dtype)
        return ctx.op("Div", x, y)
    (x, y), _ = ctx.operands(a, b, dtype=dtype)
    if mode == "floor":
        return _floor_divide(ctx, x, y, dtype)
    if dtype.is_floating_point():
        q = ctx.op("Div", x, y)
        return ctx.op("Mul", ctx.op("Sign", q), ctx.op("Floor", ctx.op("Abs", q)))
    return ctx.op("Div", x, y)


def _trunc_divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        return np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))  # type: ignore[no-any-return]
    return np.trunc(x / y)  # type: ignore[no-any-return]


_DIVIDE: dict[str | None, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    None: np.true_divide,
    "trunc": _trunc_divide,
    "floor": np.floor_divide,
}


def _floor_divide(
    ctx: TranslationContext, x: ir.Value, y: ir.Value, dtype: ir.DataType
) -> ir.Value:
    if dtype.is_floating_point():
        return ctx.op("Floor", ctx.op("Div", x, y))
    # Mod with fmod=0 takes the divisor's sign, so x - mod is an exact multiple of y.
    return ctx.op("Div", ctx.op("Sub", x, ctx.op("Mod", x, y, fmod=0)), y)


@handler("aten::floor_divide", "aten::floordiv")
def aten_floor_divide(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::floor_divide(Tensor self, Tensor other) -> Tensor"""
    a, b = node.inputs[0], node.inputs[1]
    if _python_numbers(ctx, a, b):
        return ctx.const(a) // ctx.const(b)  # type: ignore[operator]
    (x, y), dtype = ctx.operands(a, b)
    return _floor_divide(ctx, x, y, dtype)


@handler("aten::neg")
def aten_neg(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::neg(Tensor self) -> Tensor"""
    if _python_numbers(ctx, node.inputs[0]):
        return -ctx.const(node.inputs[0])  # type: ignore[operator]
    return ctx.op("Neg", ctx.tensor(node.input("self")))


@handler("aten::pow")
def aten_pow(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor"""
    a, b = node.inputs[0], node.inputs[1]
    dtype = ctx.promote(a, b)
    if ctx.is_const(b) and ctx.const(b) == 2 and dtype.is_floating_point():
        x = ctx.tensor(a, dtype)
        return ctx.op("Mul", x, x)
    x = ctx.tensor(a, dtype)
    y = ctx.tensor(b)
    if not ctx.dtype(y).is_floating_point() or not dtype.is_floating_point():
        y = ctx.cast(y, dtype)
    return ctx.op("Pow", x, y)


_UNARY = {
    "aten::sqrt": "Sqrt",
    "aten::exp": "Exp",
    "aten::log": "Log",
    "aten::abs": "Abs",
    "aten::sin": "Sin",
    "aten::cos": "Cos",
    "aten::tanh": "Tanh",
    "aten::sigmoid": "Sigmoid",
    "aten::erf": "Erf",
    "aten::reciprocal": "Reciprocal",
    "aten::floor": "Floor",
    "aten::ceil": "Ceil",
}


@handler(*_UNARY, *(k + "_" for k in _UNARY))
def aten_unary_float(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::exp(Tensor self) -> Tensor, and the other one-input float functions."""
    x = ctx.tensor(node.inputs[0])
    kind = node.kind.rstrip("_")
    if not ctx.dtype(x).is_floating_point() and kind not in ("aten::abs",):
        x = ctx.cast(x, ir.DataType.FLOAT)
    if (
        kind in ("aten::floor", "aten::ceil")
        and not ctx.dtype(ctx.tensor(node.inputs[0])).is_floating_point()
    ):
        return ctx.tensor(node.inputs[0])
    if kind == "aten::erf":
        return erf(ctx, x, "erf")
    return ctx.op(_UNARY[kind], x)


@handler("aten::rsqrt")
def aten_rsqrt(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::rsqrt(Tensor self) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    if not ctx.dtype(x).is_floating_point():
        x = ctx.cast(x, ir.DataType.FLOAT)
    return ctx.op("Reciprocal", ctx.op("Sqrt", x))


@handler("aten::remainder")
def aten_remainder(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::remainder.Tensor(Tensor self, Tensor other) -> Tensor (sign of the divisor)"""
    a, b = node.inputs[0], node.inputs[1]
    if _python_numbers(ctx, a, b):
        return ctx.const(a) % ctx.const(b)  # type: ignore[operator]
    (x, y), dtype = ctx.operands(a, b)
    if dtype.is_floating_point():
        return ctx.op("Sub", x, ctx.op("Mul", ctx.op("Floor", ctx.op("Div", x, y)), y))
    return ctx.op("Mod", x, y, fmod=0)


@handler("aten::fmod")
def aten_fmod(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::fmod.Tensor(Tensor self, Tensor other) -> Tensor (sign of the dividend)"""
    (x, y), _ = ctx.operands(node.inputs[0], node.inputs[1])
    return ctx.op("Mod", x, y, fmod=1)
