"""Masks: masked_select, nonzero/argwhere and the triangles tril/triu."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.index_util import (
    BOOL,
    FLOAT,
    INT32,
    int64_arg,
    same_shape,
)
from converter.translate.ops.shape_util import (
    INT64,
    first_input,
)
from converter.translate.registry import handler

__all__: list[str] = []

# Element types ONNX Runtime's CPU kernels lack for some ops: compute in a wider exact type.
_NONZERO_TYPES = {BOOL, ir.DataType.UINT8, INT32, INT64, FLOAT, ir.DataType.FLOAT16}
_TRILU_TYPES = {BOOL, INT32, INT64, FLOAT, ir.DataType.DOUBLE, ir.DataType.FLOAT16}


# ---- masks -----------------------------------------------------------------------------------
@handler("aten::masked_select")
def aten_masked_select(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::masked_select(Tensor self, Tensor mask) -> Tensor (1-D)"""
    x = first_input(ctx, node)
    mask = ctx.tensor(node.input("mask"), BOOL)
    if not same_shape(x, mask):
        x = ctx.op("Expand", x, ctx.op("Shape", mask))
        mask = ctx.op("Expand", mask, ctx.op("Shape", x))
    if ctx.rank(x) == 0:
        x = ctx.op("Reshape", x, ctx.constant([1], INT64))
        mask = ctx.op("Reshape", mask, ctx.constant([1], INT64))
    coords = ctx.op("Transpose", ctx.op("NonZero", mask), perm=[1, 0])
    return ctx.op("GatherND", x, coords)


def _nonzero(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """ONNX NonZero: [rank, n]."""
    if ctx.dtype(x) not in _NONZERO_TYPES:
        x = ctx.op("Not", ctx.op("Equal", x, ctx.constant(0, ctx.dtype(x))))
    return ctx.op("NonZero", x)


@handler("aten::nonzero", "aten::argwhere")
def aten_nonzero(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::nonzero(Tensor self) -> Tensor ([n, ndim] coordinates); argwhere likewise"""
    x = first_input(ctx, node)
    if ctx.rank(x) == 0:
        raise Unsupported("nonzero of a 0-d tensor")
    return ctx.op("Transpose", _nonzero(ctx, x), perm=[1, 0])


@handler("aten::nonzero_numpy")
def aten_nonzero_numpy(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::nonzero_numpy(Tensor self) -> Tensor[] (nonzero(as_tuple=True): one per dim)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        raise Unsupported("nonzero of a 0-d tensor")
    found = _nonzero(ctx, x)
    return [ctx.op("Gather", found, ctx.constant(i, INT64), axis=0) for i in range(rank)]


# ---- triangles -------------------------------------------------------------------------------
@handler("aten::tril", "aten::triu", "aten::tril_", "aten::triu_")
def aten_tril(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::tril(Tensor self, int diagonal=0) -> Tensor; triu likewise (ONNX Trilu)"""
    x = first_input(ctx, node)
    if ctx.rank(x) < 2:
        raise Unsupported(f"{node.kind} needs a tensor of rank 2 or more")
    dtype = ctx.dtype(x)
    work = dtype
    if dtype not in _TRILU_TYPES:
        work = FLOAT if dtype.is_floating_point() else INT64
    k = int64_arg(ctx, node.input("diagonal"))
    upper = int(node.kind.startswith("aten::triu"))
    y = ctx.cast(ctx.op("Trilu", ctx.cast(x, work), k, upper=upper), dtype)
    return y
