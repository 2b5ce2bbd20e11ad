"""Helpers shared by the indexing, scatter and masking handlers: index arguments, shapes,
permutations and row writes."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.translate.context import TranslationContext, Unsupported
from converter.translate.ops.shape_util import INT64, INT64_MAX

__all__ = [
    "BOOL",
    "FLOAT",
    "HALF",
    "INT32",
    "INT64_MIN",
    "dim_size",
    "int64_arg",
    "inverse_perm",
    "is_mask",
    "put_rows",
    "same_shape",
    "scalar_arg",
    "shape_of",
    "transpose",
]

BOOL = ir.DataType.BOOL
INT32 = ir.DataType.INT32
FLOAT = ir.DataType.FLOAT
INT64_MIN = -INT64_MAX - 1
# Half types: a reduction on them is computed in float (ONNX Runtime's CPU kernels lack them).
HALF = {ir.DataType.FLOAT16, ir.DataType.BFLOAT16}


def transpose(ctx: TranslationContext, x: ir.Value, perm: list[int]) -> ir.Value:
    """``x`` with its dims permuted by ``perm`` (no node for the identity permutation)."""
    return x if perm == sorted(perm) else ctx.op("Transpose", x, perm=perm)


def inverse_perm(perm: list[int]) -> list[int]:
    """The permutation that undoes ``perm``."""
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def int64_arg(ctx: TranslationContext, ts_value: torch._C.Value) -> ir.Value:
    """An int argument (constant or run-time) as a 0-d INT64 tensor."""
    if ctx.is_const(ts_value):
        return ctx.constant(ctx.const_int(ts_value), INT64)
    value = ctx.tensor(ts_value, INT64)
    if ctx.rank(value) != 0:
        value = ctx.op("Reshape", value, ctx.constant([], INT64))
    return value


def dim_size(ctx: TranslationContext, x: ir.Value, axis: int) -> ir.Value:
    """The size of ``axis`` as a 1-element INT64 tensor."""
    size = ctx.static_dim(x, axis)
    if size is not None:
        return ctx.constant([size], INT64)
    return ctx.op("Shape", x, start=axis, end=axis + 1)


def shape_of(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """The shape of ``x`` as a 1-D INT64 tensor (a constant when it is static)."""
    if x.shape is not None and x.shape.is_static():
        return ctx.constant(list(x.shape.numpy()), INT64)
    return ctx.op("Shape", x)


def same_shape(a: ir.Value, b: ir.Value) -> bool:
    """True if both shapes are known to be equal (the same sizes or symbolic names)."""
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return False
    for da, db in zip(a.shape, b.shape, strict=True):
        if isinstance(da, int) or isinstance(db, int):
            if da != db:
                return False
        elif da.value is None or da.value != db.value:
            return False
    return True


def is_mask(ctx: TranslationContext, value: ir.Value) -> bool:
    """True for a bool (or legacy uint8) index: a mask, not positions."""
    return ctx.dtype(value) in (BOOL, ir.DataType.UINT8)


def scalar_arg(ctx: TranslationContext, ts_value: torch._C.Value, dtype: ir.DataType) -> ir.Value:
    """A Scalar (or 0-d tensor) argument as a tensor of ``dtype``."""
    if ctx.is_const(ts_value) and not isinstance(ctx.entry(ts_value), ir.Value):
        value = ctx.const(ts_value)
        if isinstance(value, list | tuple):
            raise Unsupported("a list where a single value was expected")
        return ctx.constant(value, dtype)
    return ctx.tensor(ts_value, dtype)


def put_rows(
    ctx: TranslationContext,
    x: ir.Value,
    axis: int,
    positions: ir.Value,
    rows: ir.Value,
    reduction: str | None,
) -> ir.Value:
    """``x`` with its slices at ``positions`` (1-D) along ``axis`` replaced by (or, with
    ``reduction``, combined with) the slices of ``rows``."""
    rank = ctx.rank(x)
    perm = [axis, *(a for a in range(rank) if a != axis)]
    coords = ctx.op("Unsqueeze", positions, ctx.constant([1], INT64))
    dtype = ctx.dtype(x)
    work = FLOAT if reduction is not None and dtype in HALF else dtype
    y = ctx.op(
        "ScatterND",
        ctx.cast(transpose(ctx, x, perm), work),
        coords,
        ctx.cast(transpose(ctx, rows, perm), work),
        reduction=reduction,
    )
    return ctx.cast(transpose(ctx, y, inverse_perm(perm)), dtype)
