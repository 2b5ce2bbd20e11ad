"""Tensor utilities: dtype casts, identities, *_like fills, masking, where, comparisons, clamp."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

BOOL = ir.DataType.BOOL


def _x(ctx: TranslationContext, node: TSNode) -> ir.Value:
    return ctx.tensor(node.inputs[0])


def _optional_dtype(ctx: TranslationContext, node: TSNode) -> ir.DataType | None:
    """The ``dtype`` argument as an ONNX type, or None when absent or None."""
    if not node.has_input("dtype") or ctx.is_none(node.input("dtype")):
        return None
    code = ctx.const_int(node.input("dtype"))
    try:
        return dtypes.from_scalar_type(code)
    except ValueError as e:
        raise Unsupported(str(e)) from e


def _is_tensor(ts_value: torch._C.Value) -> bool:
    return isinstance(ts_value.type(), torch._C.TensorType)


# ---- casts and identities --------------------------------------------------------------------
@handler("aten::to")
def aten_to(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::to.dtype(Tensor(a) self, ScalarType dtype, ...) -> Tensor(a); to.device(self,
    Device device, ScalarType dtype, ...); to.other(self, Tensor other, ...); to.dtype_layout;
    to.prim_Device; to.prim_dtype; to.prim_other. The device is ignored."""
    x = _x(ctx, node)
    if node.has_input("other"):
        return ctx.cast(x, ctx.dtype(ctx.tensor(node.input("other"))))
    target = _optional_dtype(ctx, node)
    return x if target is None else ctx.cast(x, target)


@handler("aten::type_as")
def aten_type_as(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::type_as(Tensor self, Tensor other) -> Tensor"""
    return ctx.cast(_x(ctx, node), ctx.dtype(ctx.tensor(node.input("other"))))


@handler("aten::clone", "aten::detach", "aten::detach_", "aten::contiguous")
def aten_identity(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor; detach(self);
    contiguous(self, *, MemoryFormat memory_format=0): values unchanged"""
    return _x(ctx, node)


# ---- fills -----------------------------------------------------------------------------------
def _fill_like(ctx: TranslationContext, node: TSNode, fill: ir.Value | float) -> ir.Value:
    x = _x(ctx, node)
    dtype = _optional_dtype(ctx, node) or ctx.dtype(x)
    if x.shape is not None and x.shape.is_static():
        shape = ctx.constant(list(x.shape.numpy()), ir.DataType.INT64)
    else:
        shape = ctx.op("Shape", x)
    if isinstance(fill, ir.Value):
        y = ctx.op("Expand", ctx.cast(fill, dtype), shape)
    else:
        value = np.array([fill]).astype(dtypes.to_numpy(dtype))
        y = ctx.op("ConstantOfShape", shape, value=ir.tensor(value, dtype=dtype))
    if x.shape is not None:
        y.shape = ir.Shape(list(x.shape))
    return y


@handler("aten::zeros_like")
def aten_zeros_like(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::zeros_like(Tensor self, *, ScalarType? dtype=None, ...) -> Tensor"""
    return _fill_like(ctx, node, 0)


@handler("aten::ones_like")
def aten_ones_like(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::ones_like(Tensor self, *, ScalarType? dtype=None, ...) -> Tensor"""
    return _fill_like(ctx, node, 1)


@handler("aten::full_like")
def aten_full_like(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, ...) -> Tensor"""
    fill = node.input("fill_value")
    if ctx.is_const(fill):
        return _fill_like(ctx, node, ctx.const(fill))  # type: ignore[arg-type]
    return _fill_like(ctx, node, ctx.tensor(fill))


@handler("aten::fill", "aten::fill_")
def aten_fill(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::fill_.Scalar(Tensor(a!) self, Scalar value) -> Tensor(a!); fill_.Tensor"""
    value = node.input("value")
    if ctx.is_const(value):
        return _fill_like(ctx, node, ctx.const(value))  # type: ignore[arg-type]
    return _fill_like(ctx, node, ctx.tensor(value))


@handler("aten::zero", "aten::zero_")
def aten_zero(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::zero_(Tensor(a!) self) -> Tensor(a!)"""
    return _fill_like(ctx, node, 0)


@handler("aten::copy", "aten::copy_")
def aten_copy(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)"""
    x = _x(ctx, node)
    src = ctx.tensor(node.input("src"), ctx.dtype(x))
    y = ctx.op("Expand", src, ctx.op("Shape", x))
    if x.shape is not None:
        y.shape = ir.Shape(list(x.shape))
    return y


# ---- masking and selection -------------------------------------------------------------------
@handler("aten::masked_fill", "aten::masked_fill_")
def aten_masked_fill(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor; .Tensor"""
    x = _x(ctx, node)
    mask = ctx.tensor(node.input("mask"), BOOL)
    value = ctx.tensor(node.input("value"), ctx.dtype(x))
    return ctx.op("Where", mask, value, x)


@handler("aten::where")
def aten_where(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::where.self(Tensor condition, Tensor self, Tensor other) -> Tensor; .ScalarOther,
    .ScalarSelf, .Scalar; where(Tensor condition) -> Tensor[] (the indices of true elements)"""
    cond = ctx.tensor(node.input("condition"), BOOL)
    if not node.has_input("self"):
        return _nonzero_tuple(ctx, cond)
    (a, b), _ = ctx.operands(node.input("self"), node.input("other"))
    return ctx.op("Where", cond, a, b)


def _nonzero_tuple(ctx: TranslationContext, cond: ir.Value) -> list[ir.Value]:
    indices = ctx.op("NonZero", cond)
    rank = ctx.rank(cond)
    return [ctx.op("Gather", indices, ctx.constant(i), axis=0) for i in range(rank)]


# ---- comparisons -----------------------------------------------------------------------------
_COMPARE: dict[str, tuple[str, Callable[[Any, Any], object]]] = {
    "eq": ("Equal", operator.eq),
    "ne": ("Equal", operator.ne),
    "lt": ("Less", operator.lt),
    "le": ("LessOrEqual", operator.le),
    "gt": ("Greater", operator.gt),
    "ge": ("GreaterOrEqual", operator.ge),
}


def _foldable(entry: Entry) -> bool:
    if isinstance(entry, list | tuple):
        return all(_foldable(e) for e in entry)
    return not isinstance(entry, ir.Value | torch.Tensor)


@handler(*(f"aten::{k}" for k in _COMPARE), *(f"aten::{k}_" for k in _COMPARE))
def aten_compare(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::eq.Tensor(Tensor self, Tensor other) -> Tensor; eq.Scalar; the scalar overloads
    (eq.int, eq.float, ...) of Python numbers; likewise ne, lt, le, gt, ge and the in-place forms"""
    name = node.kind.removeprefix("aten::")
    inplace = name.endswith("_")
    op_type, fold = _COMPARE[name.rstrip("_")]
    a, b = node.inputs[0], node.inputs[1]
    if _foldable(ctx.entry(a)) and _foldable(ctx.entry(b)):
        return fold(ctx.const(a), ctx.const(b))
    if not all(
        _is_tensor(v) or isinstance(ctx.entry(v), bool | int | float | ir.Value) for v in (a, b)
    ):
        raise Unsupported(f"comparing {a.type()} values computed at run time")
    (x, y), dtype = ctx.operands(a, b)
    if dtype == BOOL and op_type != "Equal":
        x, y = ctx.cast(x, ir.DataType.INT32), ctx.cast(y, ir.DataType.INT32)
    out = ctx.op(op_type, x, y)
    if name.rstrip("_") == "ne":
        out = ctx.op("Not", out)
    if inplace:  # in place, the result keeps the dtype of self
        out = ctx.cast(out, ctx.dtype(ctx.tensor(a)))
    return out


# ---- clamp -----------------------------------------------------------------------------------
@handler("aten::clamp", "aten::clamp_")
@handler("aten::clamp_min", "aten::clamp_min_", "aten::clamp_max", "aten::clamp_max_")
def aten_clamp(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor; clamp.Tensor;
    clamp_min(self, Scalar min); clamp_max(self, Scalar max) and their Tensor overloads"""
    self_v = node.input("self")
    lo = node.input("min") if node.has_input("min") else None
    hi = node.input("max") if node.has_input("max") else None
    bounds = [v for v in (lo, hi) if v is not None and not ctx.is_none(v)]
    if not bounds:
        raise Unsupported("clamp needs at least one of min and max")
    dtype = ctx.promote(self_v, *bounds)
    if node.kind.endswith("_"):
        dtype = ctx.dtype(ctx.tensor(self_v))
    x = ctx.tensor(self_v, dtype)
    if dtype == BOOL:
        raise Unsupported("clamp of a bool tensor")
    low = None if lo is None or ctx.is_none(lo) else ctx.tensor(lo, dtype)
    high = None if hi is None or ctx.is_none(hi) else ctx.tensor(hi, dtype)
    if all(ctx.rank(v) == 0 for v in (low, high) if v is not None):
        return ctx.op("Clip", x, low, high)
    # Tensor bounds broadcast: max(x, min), then min(., max), as PyTorch does.
    if low is not None:
        x = ctx.op("Max", x, low)
    if high is not None:
        x = ctx.op("Min", x, high)
    return x
