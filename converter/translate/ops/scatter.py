"""Gather and scatter: index_select, take, gather, scatter/scatter_add/scatter_reduce and
index_fill/index_add/index_copy."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.index_util import (
    BOOL,
    FLOAT,
    HALF,
    dim_size,
    put_rows,
    same_shape,
    scalar_arg,
    shape_of,
)
from converter.translate.ops.shape_util import (
    INT64,
    first_input,
    norm_axis,
)
from converter.translate.registry import handler

__all__: list[str] = []


# ---- gather and scatter ----------------------------------------------------------------------
@handler("aten::index_select")
def aten_index_select(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::index_select(Tensor self, int dim, Tensor index) -> Tensor"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    index = ctx.tensor(node.input("index"), INT64)
    if ctx.rank(index) == 0:
        index = ctx.op("Reshape", index, ctx.constant([1], INT64))
    return ctx.op("Gather", x, index, axis=axis)


@handler("aten::take")
def aten_take(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::take(Tensor self, Tensor index) -> Tensor (indices into the flattened tensor)"""
    x = ctx.op("Reshape", first_input(ctx, node), ctx.constant([-1], INT64))
    return ctx.op("Gather", x, ctx.tensor(node.input("index"), INT64), axis=0)


@handler("aten::gather")
def aten_gather(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    axis = norm_axis(ctx.const_int(node.input("dim")), rank)
    index = ctx.tensor(node.input("index"), INT64)
    if rank == 0:
        return ctx.op("Identity", x)
    return ctx.op("GatherElements", x, index, axis=axis)


def _fit_to(ctx: TranslationContext, src: ir.Value, index: ir.Value) -> ir.Value:
    """``src`` cut to the shape of ``index`` (scatter reads only that corner of src)."""
    if same_shape(src, index):
        return src
    rank = ctx.rank(index)
    return ctx.op(
        "Slice",
        src,
        ctx.constant([0] * rank, INT64),
        shape_of(ctx, index),
        ctx.constant(list(range(rank)), INT64),
    )


def _scatter_updates(
    ctx: TranslationContext, node: TSNode, index: ir.Value, dtype: ir.DataType
) -> ir.Value:
    if node.has_input("src"):
        return _fit_to(ctx, ctx.tensor(node.input("src"), dtype), index)
    value = scalar_arg(ctx, node.input("value"), dtype)
    return ctx.op("Expand", value, shape_of(ctx, index))


def _scatter_elements(
    ctx: TranslationContext,
    x: ir.Value,
    index: ir.Value,
    updates: ir.Value,
    axis: int,
    reduction: str | None,
) -> ir.Value:
    dtype = ctx.dtype(x)
    work = dtype
    if reduction is not None and dtype in HALF:
        work = FLOAT  # ORT's ScatterElements reduces no float16
    if reduction is not None and dtype == BOOL:
        raise Unsupported("a reducing scatter into a bool tensor")
    y = ctx.op(
        "ScatterElements",
        ctx.cast(x, work),
        index,
        ctx.cast(updates, work),
        axis=axis,
        reduction=reduction,
    )
    return ctx.cast(y, dtype)


_SCATTER_REDUCE = {"add": "add", "multiply": "mul"}


@handler("aten::scatter", "aten::scatter_")
def aten_scatter(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor; scatter.value
    (..., Scalar value); scatter.reduce / value_reduce (..., *, str reduce) with add/multiply"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    axis = norm_axis(ctx.const_int(node.input("dim")), rank)
    index = ctx.tensor(node.input("index"), INT64)
    updates = _scatter_updates(ctx, node, index, ctx.dtype(x))
    reduction = None
    if node.has_input("reduce"):
        mode = ctx.const(node.input("reduce"))
        if mode not in _SCATTER_REDUCE:
            raise Unsupported(f"scatter with reduce={mode!r}")
        reduction = _SCATTER_REDUCE[str(mode)]
    y = _scatter_elements(ctx, x, index, updates, axis, reduction)
    return y


@handler("aten::scatter_add", "aten::scatter_add_")
def aten_scatter_add(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    index = ctx.tensor(node.input("index"), INT64)
    src = _fit_to(ctx, ctx.tensor(node.input("src"), ctx.dtype(x)), index)
    return _scatter_elements(ctx, x, index, src, axis, "add")


_REDUCE_OP = {"sum": "add", "prod": "mul", "amax": "max", "amin": "min"}


def _identity(dtype: ir.DataType, reduce: str) -> float | int | bool:
    """The value that leaves a reduction unchanged."""
    if reduce == "sum":
        return 0
    if reduce == "prod":
        return 1
    np_type = dtypes.to_numpy(dtype)
    if dtype.is_floating_point():
        return float("-inf") if reduce == "amax" else float("inf")
    info = np.iinfo(np_type)
    return int(info.min) if reduce == "amax" else int(info.max)


@handler("aten::scatter_reduce", "aten::scatter_reduce_")
def aten_scatter_reduce(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *,
    bool include_self=True) -> Tensor; reduce is sum, prod, amax, amin or mean"""
    x = first_input(ctx, node)
    dtype = ctx.dtype(x)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    index = ctx.tensor(node.input("index"), INT64)
    src = _fit_to(ctx, ctx.tensor(node.input("src"), dtype), index)
    reduce = str(ctx.const(node.input("reduce")))
    include_self = bool(ctx.const(node.input("include_self")))
    if dtype == BOOL:
        raise Unsupported("scatter_reduce of a bool tensor")
    if reduce in ("amax", "amin") and ctx.opset < 18:
        raise Unsupported(f"scatter_reduce with reduce={reduce!r} needs opset 18 or newer")
    if reduce == "mean":
        total = _scatter_reduce(ctx, x, index, src, axis, "sum", include_self)
        ones = ctx.op("Expand", ctx.constant(1, dtype), shape_of(ctx, index))
        start = ctx.op("Expand", ctx.constant(int(include_self), dtype), shape_of(ctx, x))
        count = _scatter_elements(ctx, start, index, ones, axis, "add")
        untouched = ctx.op("Equal", count, ctx.constant(0, dtype))
        if dtype.is_floating_point():
            mean = ctx.op("Div", total, count)
        else:  # PyTorch floors; Mod takes the (positive) divisor's sign, so this division is exact
            count = ctx.op("Max", count, ctx.constant(1, dtype))
            whole = ctx.op("Sub", total, ctx.op("Mod", total, count))
            mean = ctx.op("Div", whole, count)
        y = ctx.op("Where", untouched, x, mean)
    elif reduce in _REDUCE_OP:
        y = _scatter_reduce(ctx, x, index, src, axis, reduce, include_self)
    else:
        raise Unsupported(f"scatter_reduce with reduce={reduce!r}")
    return y


def _scatter_reduce(
    ctx: TranslationContext,
    x: ir.Value,
    index: ir.Value,
    src: ir.Value,
    axis: int,
    reduce: str,
    include_self: bool,
) -> ir.Value:
    if not include_self:  # reset the scattered-to places to the identity first
        fill = ctx.constant(_identity(ctx.dtype(x), reduce), ctx.dtype(x))
        x = _scatter_elements(
            ctx, x, index, ctx.op("Expand", fill, shape_of(ctx, index)), axis, None
        )
    return _scatter_elements(ctx, x, index, src, axis, _REDUCE_OP[reduce])


# ---- index_fill / index_add / index_copy -----------------------------------------------------
def _index_arg(ctx: TranslationContext, ts_index: torch._C.Value) -> ir.Value:
    """A 1-D (or 0-d) index argument as a 1-D INT64 tensor."""
    index = ctx.tensor(ts_index, INT64)
    if ctx.rank(index) == 0:
        index = ctx.op("Reshape", index, ctx.constant([1], INT64))
    return index


@handler("aten::index_fill", "aten::index_fill_")
def aten_index_fill(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::index_fill.int_Scalar(Tensor self, int dim, Tensor index, Scalar value) -> Tensor;
    index_fill.int_Tensor (a 0-d value tensor)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    axis = norm_axis(ctx.const_int(node.input("dim")), max(rank, 1))
    positions = _index_arg(ctx, node.input("index"))
    size = dim_size(ctx, x, axis) if rank else ctx.constant([1], INT64)
    zeros = ctx.op("ConstantOfShape", size, value=ir.tensor(np.array([0], np.int64)))
    ones = ctx.op("Expand", ctx.constant(1, INT64), ctx.op("Shape", positions))
    hit = ctx.op("ScatterElements", zeros, positions, ones, axis=0)
    mask = ctx.cast(hit, BOOL)
    if rank > axis + 1:
        mask = ctx.op("Unsqueeze", mask, ctx.constant(list(range(1, rank - axis)), INT64))
    if rank == 0:
        mask = ctx.op("Reshape", mask, ctx.constant([], INT64))
    value = scalar_arg(ctx, node.input("value"), ctx.dtype(x))
    return ctx.op("Where", mask, value, x)


@handler("aten::index_add", "aten::index_add_", "aten::index_copy", "aten::index_copy_")
def aten_index_add(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::index_add(Tensor self, int dim, Tensor index, Tensor source, *, Scalar alpha=1)
    -> Tensor; index_copy(Tensor self, int dim, Tensor index, Tensor source) -> Tensor"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        raise Unsupported(f"{node.kind} on a 0-d tensor")
    axis = norm_axis(ctx.const_int(node.input("dim")), rank)
    positions = _index_arg(ctx, node.input("index"))
    rows = ctx.tensor(node.input("source"), ctx.dtype(x))
    if ctx.rank(rows) != rank:
        raise Unsupported(f"{node.kind} with a source of another rank")
    adding = node.kind.startswith("aten::index_add")
    if adding and node.has_input("alpha"):
        alpha = node.input("alpha")
        if not (ctx.is_const(alpha) and ctx.const(alpha) == 1):
            rows = ctx.op("Mul", rows, scalar_arg(ctx, alpha, ctx.dtype(x)))
    y = put_rows(ctx, x, axis, positions, rows, "add" if adding else None)
    return y
