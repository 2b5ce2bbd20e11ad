"""Slicing and joining: slice, narrow, select, chunk, split, unbind, cat and stack."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, RuntimeList, TranslationContext, Unsupported
from converter.translate.dtypes import result_type
from converter.translate.ops.index_util import INT64_MIN, dim_size, shape_of
from converter.translate.ops.lists import sequence_join
from converter.translate.ops.shape_util import (
    INT64,
    INT64_MAX,
    first_input,
    norm_axis,
    one_element,
    split_at,
    static_size,
    tensor_list,
)
from converter.translate.registry import handler

__all__: list[str] = []


@handler("aten::slice")
def aten_slice(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None,
    SymInt step=1) -> Tensor(a); also slice.t on a list"""
    if node.overload != "Tensor":
        return _slice_list(ctx, node)
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    start_v, end_v, step_v = node.input("start"), node.input("end"), node.input("step")
    step = ctx.const_int(step_v)
    if step <= 0:
        raise Unsupported(f"slice step must be positive, got {step}")
    start = 0 if ctx.is_none(start_v) else ctx.const(start_v) if ctx.is_const(start_v) else ...
    end = INT64_MAX if ctx.is_none(end_v) else ctx.const(end_v) if ctx.is_const(end_v) else ...
    size = ctx.static_dim(x, axis)
    if (
        step == 1
        and start == 0
        and isinstance(end, int)
        and (end == INT64_MAX or (size is not None and end >= size))
    ):
        return x  # the whole dim: traced `x[:, 1:]` records a no-op slice of dim 0
    return ctx.op(
        "Slice",
        x,
        one_element(ctx, start_v, 0),
        one_element(ctx, end_v, INT64_MAX),
        ctx.constant([axis], INT64),
        ctx.constant([step], INT64),
    )


def _slice_list(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::slice.t(t[] l, int? start=None, int? end=None, int step=1) -> t[]"""
    items = ctx.entry(node.inputs[0])
    bounds = []
    for v in node.inputs[1:4]:
        bounds.append(None if ctx.is_none(v) else ctx.const_int(v))
    if isinstance(items, list | tuple):
        return list(items)[slice(*bounds)]
    if isinstance(items, ir.Value) and items.shape is not None and len(items.shape) == 1:
        start, end, step = bounds
        return ctx.op(
            "Slice",
            items,
            ctx.constant([0 if start is None else start], INT64),
            ctx.constant([INT64_MAX if end is None else end], INT64),
            ctx.constant([0], INT64),
            ctx.constant([1 if step is None else step], INT64),
        )
    raise Unsupported(f"cannot slice {type(items).__name__}")


@handler("aten::narrow")
def aten_narrow(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::narrow(Tensor(a) self, int dim, SymInt start, SymInt length) -> Tensor(a)"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    start_v, length_v = node.input("start"), node.input("length")
    axes, steps = ctx.constant([axis], INT64), ctx.constant([1], INT64)
    if ctx.is_const(start_v) and ctx.is_const(length_v):
        start, length = ctx.const_int(start_v), ctx.const_int(length_v)
        end = start + length
        if start < 0 <= end:
            if end > 0:
                raise Unsupported("narrow with a negative start that runs past the end")
            end = INT64_MAX  # narrow(-k, k): up to the end
        starts, ends = ctx.constant([start], INT64), ctx.constant([end], INT64)
        return ctx.op("Slice", x, starts, ends, axes, steps)
    if ctx.is_const(start_v) and ctx.const_int(start_v) < 0:
        raise Unsupported("narrow with a negative start and a run-time length")
    starts = ctx.op("Reshape", ctx.tensor(start_v, INT64), ctx.constant([1], INT64))
    ends = ctx.op("Add", starts, ctx.tensor(length_v, INT64))
    return ctx.op("Slice", x, starts, ends, axes, steps)


@handler("aten::select.int")
def aten_select(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    index_v = node.input("index")
    if ctx.is_const(index_v):
        index = ctx.constant(ctx.const_int(index_v), INT64)
    else:
        index = ctx.tensor(index_v, INT64)
    return ctx.op("Gather", x, index, axis=axis)


# ---- splitting -------------------------------------------------------------------------------
@handler("aten::chunk", "aten::unsafe_chunk")
def aten_chunk(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::chunk(Tensor(a -> *) self, int chunks, int dim=0) -> Tensor(a)[]"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    chunks = ctx.const_int(node.input("chunks"))
    size = static_size(ctx, x, axis, "chunk")
    step = -(-size // chunks) if size else 1
    return split_at(ctx, x, _pieces(size, step), axis)


def _pieces(size: int, step: int) -> list[int]:
    """PyTorch's split sizes: full steps, then the remainder."""
    if size == 0:
        return [0]
    return [step] * (size // step) + ([size % step] if size % step else [])


@handler("aten::split", "aten::unsafe_split", "aten::split_with_sizes")
@handler("aten::unsafe_split_with_sizes")
def aten_split(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[];
    split.sizes / split_with_sizes(self, SymInt[] split_sizes, int dim=0)"""
    if node.overload == "str":
        raise Unsupported("splitting strings")
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    arg = node.inputs[1]
    value = ctx.const(arg)
    if isinstance(value, list | tuple):
        return split_at(ctx, x, [int(v) for v in value], axis)
    size = static_size(ctx, x, axis, "split")
    return split_at(ctx, x, _pieces(size, int(value)), axis)  # type: ignore[call-overload]


@handler("aten::unbind.int")
def aten_unbind(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    size = static_size(ctx, x, axis, "unbind")
    if size == 1:
        return [ctx.op("Squeeze", x, ctx.constant([axis], INT64))]
    pieces = split_at(ctx, x, [1] * size, axis)
    return [ctx.op("Squeeze", p, ctx.constant([axis], INT64)) for p in pieces]


# ---- joining ---------------------------------------------------------------------------------
def _joined(ctx: TranslationContext, node: TSNode) -> list[ir.Value]:
    tensors = tensor_list(ctx, node.input("tensors"))
    if not tensors:
        raise Unsupported("an empty list of tensors")
    dtype = result_type([(ctx.dtype(t), "tensor") for t in tensors])
    return [ctx.cast(t, dtype) for t in tensors]


@handler("aten::cat")
def aten_cat(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::cat(Tensor[] tensors, int dim=0) -> Tensor"""
    items = ctx.entry(node.input("tensors"))
    if isinstance(items, RuntimeList):
        return sequence_join(ctx, items, ctx.const_int(node.input("dim")), new_axis=False)
    tensors = _joined(ctx, node)
    rank = max(ctx.rank(t) for t in tensors)
    # PyTorch skips 1-D empty tensors (the legacy way to start an accumulation).
    tensors = [t for t in tensors if not (ctx.rank(t) == 1 and ctx.static_dim(t, 0) == 0)] or [
        tensors[0]
    ]
    axis = norm_axis(ctx.const_int(node.input("dim")), rank)
    return tensors[0] if len(tensors) == 1 else ctx.op("Concat", *tensors, axis=axis)


@handler("aten::stack")
def aten_stack(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::stack(Tensor[] tensors, int dim=0) -> Tensor"""
    items = ctx.entry(node.input("tensors"))
    if isinstance(items, RuntimeList):
        return sequence_join(ctx, items, ctx.const_int(node.input("dim")), new_axis=True)
    tensors = _joined(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(tensors[0]) + 1)
    parts = [ctx.op("Unsqueeze", t, ctx.constant([axis], INT64)) for t in tensors]
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=axis)


# ---- roll and flip ---------------------------------------------------------------------------
def _roll(ctx: TranslationContext, x: ir.Value, shift: Entry, axis: int) -> ir.Value:
    size = ctx.static_dim(x, axis)
    axes = ctx.constant([axis], INT64)
    if isinstance(shift, int) and size is not None:
        if size == 0 or shift % size == 0:
            return x
        split = ctx.constant([size - shift % size], INT64)
    else:
        shift_t = ctx.op("Reshape", ctx.cast(ctx.as_tensor(shift), INT64), ctx.constant([1], INT64))
        size_t = dim_size(ctx, x, axis)
        split = ctx.op(
            "Sub", size_t, ctx.op("Mod", shift_t, size_t)
        )  # Mod takes the divisor's sign
    tail = ctx.op("Slice", x, split, ctx.constant([INT64_MAX], INT64), axes)
    head = ctx.op("Slice", x, ctx.constant([0], INT64), split, axes)
    return ctx.op("Concat", tail, head, axis=axis)


@handler("aten::roll")
def aten_roll(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    shifts_entry = ctx.entry(node.input("shifts"))
    shifts: list[Entry]
    if isinstance(shifts_entry, list | tuple):
        shifts = list(shifts_entry)
    elif isinstance(shifts_entry, int):
        shifts = [shifts_entry]
    else:
        shifts = list(ctx.const_ints(node.input("shifts")))
    dims = ctx.const_ints(node.input("dims"))
    if not dims:
        if len(shifts) != 1:
            raise Unsupported("roll without dims takes exactly one shift")
        flat = ctx.op("Reshape", x, ctx.constant([-1], INT64))
        rolled = _roll(ctx, flat, shifts[0], 0)
        return ctx.op("Reshape", rolled, shape_of(ctx, x))
    if len(dims) != len(shifts):
        raise Unsupported(f"roll with {len(shifts)} shifts for {len(dims)} dims")
    for shift, dim in zip(shifts, dims, strict=True):
        x = _roll(ctx, x, shift, norm_axis(dim, rank))
    return x


@handler("aten::flip")
def aten_flip(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::flip(Tensor self, int[] dims) -> Tensor"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    axes = sorted({norm_axis(d, rank) for d in ctx.const_ints(node.input("dims"))})
    if not axes or rank == 0:
        return x
    n = len(axes)
    return ctx.op(
        "Slice",
        x,
        ctx.constant([-1] * n, INT64),
        ctx.constant([INT64_MIN] * n, INT64),
        ctx.constant(axes, INT64),
        ctx.constant([-1] * n, INT64),
    )


@handler("aten::fliplr", "aten::flipud")
def aten_fliplr(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::fliplr(Tensor self) -> Tensor (flip dim 1); flipud (flip dim 0)"""
    x = first_input(ctx, node)
    axis = 1 if node.kind == "aten::fliplr" else 0
    if ctx.rank(x) <= axis:
        raise Unsupported(f"{node.kind} needs a tensor of rank {axis + 1} or more")
    return ctx.op(
        "Slice",
        x,
        ctx.constant([-1], INT64),
        ctx.constant([INT64_MIN], INT64),
        ctx.constant([axis], INT64),
        ctx.constant([-1], INT64),
    )
