"""Indexing: advanced indexing, index_select, gather/scatter, index_put, roll, flip, tril/triu,
nonzero, masked_select, index_fill/index_add/index_copy, take.

PyTorch's advanced-indexing rule: the broadcast shape of the index tensors takes the place of the
indexed dims when those are adjacent, and goes first when a slice (None) separates them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import (
    INT64,
    INT64_MAX,
    first_input,
    is_view,
    norm_axis,
    one_element,
    shape_range,
    shape_tensor,
)
from converter.translate.registry import handler

__all__ = ["unview"]

BOOL = ir.DataType.BOOL
INT32 = ir.DataType.INT32
FLOAT = ir.DataType.FLOAT
INT64_MIN = -INT64_MAX - 1

# Element types ONNX Runtime's CPU kernels lack for some ops: compute in a wider exact type.
_NONZERO_TYPES = {BOOL, ir.DataType.UINT8, INT32, INT64, FLOAT, ir.DataType.FLOAT16}
_TRILU_TYPES = {BOOL, INT32, INT64, FLOAT, ir.DataType.DOUBLE, ir.DataType.FLOAT16}
_HALF = {ir.DataType.FLOAT16, ir.DataType.BFLOAT16}


# ---- helpers ---------------------------------------------------------------------------------
def _transpose(ctx: TranslationContext, x: ir.Value, perm: list[int]) -> ir.Value:
    return x if perm == sorted(perm) else ctx.op("Transpose", x, perm=perm)


def _inverse(perm: list[int]) -> list[int]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def _int64(ctx: TranslationContext, ts_value: torch._C.Value) -> ir.Value:
    """An int argument (constant or run-time) as a 0-d INT64 tensor."""
    if ctx.is_const(ts_value):
        return ctx.constant(ctx.const_int(ts_value), INT64)
    value = ctx.tensor(ts_value, INT64)
    if ctx.rank(value) != 0:
        value = ctx.op("Reshape", value, ctx.constant([], INT64))
    return value


def _dim_size(ctx: TranslationContext, x: ir.Value, axis: int) -> ir.Value:
    """The size of ``axis`` as a 1-element INT64 tensor."""
    size = ctx.static_dim(x, axis)
    if size is not None:
        return ctx.constant([size], INT64)
    return ctx.op("Shape", x, start=axis, end=axis + 1)


def _shape_of(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    if x.shape is not None and x.shape.is_static():
        return ctx.constant(list(x.shape.numpy()), INT64)
    return ctx.op("Shape", x)


def _same_shape(a: ir.Value, b: ir.Value) -> bool:
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


def _is_mask(ctx: TranslationContext, value: ir.Value) -> bool:
    return ctx.dtype(value) in (BOOL, ir.DataType.UINT8)


def _scalar_arg(ctx: TranslationContext, ts_value: torch._C.Value, dtype: ir.DataType) -> ir.Value:
    """A Scalar (or 0-d tensor) argument as a tensor of ``dtype``."""
    if ctx.is_const(ts_value) and not isinstance(ctx.entry(ts_value), ir.Value):
        value = ctx.const(ts_value)
        if isinstance(value, list | tuple):
            raise Unsupported("a list where a single value was expected")
        return ctx.constant(value, dtype)
    return ctx.tensor(ts_value, dtype)


# ---- advanced indices ------------------------------------------------------------------------
@dataclasses.dataclass
class _Advanced:
    """The tensor indices of x[...]: which dims they address and one INT64 index per dim."""

    dims: list[int]
    tensors: list[ir.Value]
    nd: ir.Value | None = None  # a ready [n, k] index when one k-dim mask is the only index
    mask: ir.Value | None = None  # the mask itself, when one bool mask is the only index
    mask_at: int = 0  # the first dim that mask addresses


def _index_list(ctx: TranslationContext, ts_value: torch._C.Value) -> list[ir.Value | None]:
    entry = ctx.entry(ts_value)
    if not isinstance(entry, list | tuple):
        raise Unsupported("the list of indices is computed at run time")
    return [None if e is None else ctx.as_tensor(e, "index") for e in entry]


def _advanced(
    ctx: TranslationContext, x: ir.Value, indices: list[ir.Value | None], what: str
) -> _Advanced:
    """Expand bool masks into coordinate tensors (one per dim they cover)."""
    rank = ctx.rank(x)
    dims: list[int] = []
    tensors: list[ir.Value] = []
    used = 0
    masks = [i for i in indices if i is not None and _is_mask(ctx, i)]
    only = [i for i in indices if i is not None]
    single_mask = len(masks) == 1 and len(only) == 1
    result = _Advanced(dims, tensors)
    for index in indices:
        if index is None:
            used += 1
            continue
        if not _is_mask(ctx, index):
            dims.append(used)
            tensors.append(ctx.cast(index, INT64))
            used += 1
            continue
        k = ctx.rank(index)
        if k == 0:
            raise Unsupported(f"{what} with a 0-d bool index (it adds a dim)")
        mask = ctx.cast(index, BOOL)
        nonzero = ctx.op("NonZero", mask)  # [k, n]
        if single_mask:
            result.mask, result.mask_at = mask, used
            if k > 1:
                result.nd = ctx.op("Transpose", nonzero, perm=[1, 0])
        for j in range(k):
            row = ctx.op("Gather", nonzero, ctx.constant(j, INT64), axis=0)
            dims.append(used + j)
            tensors.append(row)
        used += k
    if used > rank:
        raise Unsupported(f"{what} with {used} indexed dims on a tensor of rank {rank}")
    return result


def _broadcast(ctx: TranslationContext, tensors: list[ir.Value]) -> list[ir.Value]:
    """Index tensors expanded to their common shape."""
    if len(tensors) == 1:
        return tensors
    if all(t.shape is not None and t.shape.is_static() for t in tensors):
        target = np.broadcast_shapes(*[tuple(t.shape.numpy()) for t in tensors])  # type: ignore[union-attr]
        shape = ctx.constant(list(target), INT64)
        return [
            t if tuple(t.shape.numpy()) == target else ctx.op("Expand", t, shape)  # type: ignore[union-attr]
            for t in tensors
        ]
    total = tensors[0]
    for t in tensors[1:]:
        total = ctx.op("Add", total, t)
    shape = ctx.op("Shape", total)
    return [ctx.op("Expand", t, shape) for t in tensors]


def _stacked(ctx: TranslationContext, adv: _Advanced) -> ir.Value:
    """The [*B, k] coordinates GatherND and ScatterND take."""
    if adv.nd is not None:
        return adv.nd
    parts = [
        ctx.op("Unsqueeze", t, ctx.constant([-1], INT64)) for t in _broadcast(ctx, adv.tensors)
    ]
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=-1)


def _layout(rank: int, dims: list[int]) -> tuple[list[int], bool]:
    """The permutation that brings the indexed dims first, and whether they are adjacent."""
    rest = [a for a in range(rank) if a not in dims]
    adjacent = dims == list(range(dims[0], dims[0] + len(dims)))
    return dims + rest, adjacent


def _index(ctx: TranslationContext, x: ir.Value, adv: _Advanced) -> ir.Value:
    rank = ctx.rank(x)
    if len(adv.dims) == 1:
        return ctx.op("Gather", x, adv.tensors[0], axis=adv.dims[0])
    perm, adjacent = _layout(rank, adv.dims)
    coords = _stacked(ctx, adv)
    y = ctx.op("GatherND", _transpose(ctx, x, perm), coords)  # [*B, *rest]
    first = adv.dims[0]
    if adjacent and first > 0:  # B takes the place of the indexed dims
        nb = ctx.rank(coords) - 1
        out_rank = nb + rank - len(adv.dims)
        back = [*range(nb, nb + first), *range(nb), *range(nb + first, out_rank)]
        y = _transpose(ctx, y, back)
    return y


@handler("aten::index.Tensor")
def aten_index(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::index.Tensor(Tensor self, Tensor?[] indices) -> Tensor"""
    x = first_input(ctx, node)
    indices = _index_list(ctx, node.input("indices"))
    adv = _advanced(ctx, x, indices, "indexing")
    if not adv.dims:
        return x
    return _index(ctx, x, adv)


# ---- index_put -------------------------------------------------------------------------------
def _index_put(
    ctx: TranslationContext,
    x: ir.Value,
    indices: list[ir.Value | None],
    values: ir.Value,
    accumulate: bool,
) -> ir.Value:
    rank = ctx.rank(x)
    adv = _advanced(ctx, x, indices, "index assignment")
    if not adv.dims:
        raise Unsupported("index assignment without any tensor index")
    if adv.mask is not None:
        k = ctx.rank(adv.mask)
        trailing = rank - adv.mask_at - k
        uniform: ir.Value | None = values
        if ctx.rank(values) > trailing:
            numel_one = (
                values.shape is not None
                and values.shape.is_static()
                and int(np.prod(values.shape.numpy())) == 1
            )
            uniform = ctx.op("Reshape", values, ctx.constant([], INT64)) if numel_one else None
        if uniform is not None:  # the same values for every selected element: a Where
            mask = adv.mask
            if trailing:
                axes = list(range(k, k + trailing))
                mask = ctx.op("Unsqueeze", mask, ctx.constant(axes, INT64))
            new = uniform
            if accumulate:
                new = ctx.op("Or" if ctx.dtype(x) == BOOL else "Add", x, uniform)
            return ctx.op("Where", mask, new, x)
    perm, adjacent = _layout(rank, adv.dims)
    coords = _stacked(ctx, adv)
    nb = ctx.rank(coords) - 1
    first = adv.dims[0]
    lead = list(coords.shape)[:-1] if coords.shape is not None else [None]
    static = [d for d in lead if isinstance(d, int)]
    batch: list[int | ir.Value]
    if len(static) == len(lead):
        batch = list(static)
    else:
        batch = [ctx.op("Shape", coords, start=0, end=-1)]
    rest: list[int | ir.Value] = []
    for a in [p for p in perm if p not in adv.dims]:
        rest += shape_range(ctx, x, a, a + 1)
    if adjacent and first > 0:  # values broadcast against PyTorch's layout of x[indices]
        target = [*rest[:first], *batch, *rest[first:]]
    else:
        target = [*batch, *rest]
    extra = ctx.rank(values) - len(target)
    if extra > 0:  # PyTorch drops leading size-1 dims of the values
        values = ctx.op("Squeeze", values, ctx.constant(list(range(extra)), INT64))
    updates = ctx.op("Expand", values, shape_tensor(ctx, target))
    if adjacent and first > 0:
        out_rank = nb + rank - len(adv.dims)
        updates = _transpose(
            ctx, updates, [*range(first, first + nb), *range(first), *range(first + nb, out_rank)]
        )
    dtype = ctx.dtype(x)
    reduction = "add" if accumulate else None
    work = FLOAT if accumulate and dtype in _HALF else dtype  # ORT adds no float16
    y = ctx.op(
        "ScatterND",
        ctx.cast(_transpose(ctx, x, perm), work),
        coords,
        ctx.cast(updates, work),
        reduction=reduction,
    )
    return ctx.cast(_transpose(ctx, y, _inverse(perm)), dtype)


@handler("aten::index_put", "aten::index_put_", "aten::_index_put_impl", "aten::_index_put_impl_")
def aten_index_put(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False)
    -> Tensor; index_put_ in place (x[i] = v, x[mask] = v, x[i, :, j] += v); _index_put_impl
    (..., bool unsafe) likewise"""
    x = first_input(ctx, node)
    indices = _index_list(ctx, node.input("indices"))
    values = ctx.tensor(node.input("values"), ctx.dtype(x))
    accumulate = bool(ctx.const(node.input("accumulate")))
    return _index_put(ctx, x, indices, values, accumulate)


# ---- writing through views ------------------------------------------------------------------
_RESHAPING_VIEWS = (
    "aten::view",
    "aten::view_as",
    "aten::unsqueeze",
    "aten::squeeze",
    "aten::_unsafe_view",
    "aten::_reshape_alias",
)


def unview(ctx: TranslationContext, view: TSNode, base: ir.Value, new: ir.Value) -> ir.Value | None:
    """``base`` with the part that ``view`` shows replaced by ``new``; None if ``view`` made a
    copy (so writing to it leaves ``base`` as it was)."""
    kind = view.kind
    rank = ctx.rank(base)
    if kind in ("aten::detach", "aten::alias", "aten::detach_"):
        return new
    if kind in ("aten::to", "aten::type_as"):  # the same tensor when no conversion is needed
        return new if ctx.dtype(base) == ctx.dtype(new) else None
    if kind in _RESHAPING_VIEWS:
        return ctx.op("Reshape", new, _shape_of(ctx, base))
    if kind in ("aten::reshape", "aten::flatten") and not is_view(view.inputs[0].node()):
        # A view of a tensor made by a non-view op (contiguous): write back by reshaping.
        return ctx.op("Reshape", new, _shape_of(ctx, base))
    if kind in ("aten::transpose", "aten::permute", "aten::t", "aten::numpy_T"):
        if kind == "aten::transpose":
            a = norm_axis(ctx.const_int(view.inputs[1]), rank)
            b = norm_axis(ctx.const_int(view.inputs[2]), rank)
            perm = list(range(rank))
            perm[a], perm[b] = perm[b], perm[a]
        elif kind == "aten::permute":
            perm = [norm_axis(d, rank) for d in ctx.const_ints(view.inputs[1])]
        else:
            perm = list(reversed(range(rank)))
        return _transpose(ctx, new, _inverse(perm))
    if kind == "aten::select" and view.overload == "int":
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        positions = ctx.op("Reshape", _int64(ctx, view.input("index")), ctx.constant([1], INT64))
        rows = ctx.op("Unsqueeze", new, ctx.constant([axis], INT64))
        return _put_rows(ctx, base, axis, positions, rows, None)
    if kind == "aten::slice" and view.overload == "Tensor":
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        start_v, end_v = view.input("start"), view.input("end")
        step = ctx.const_int(view.input("step"))
        if step == 1 and _from_start(ctx, start_v) and _to_end(ctx, end_v, base, axis):
            return new  # the whole dim: the view is the base
        starts = one_element(ctx, start_v, 0)
        ends = one_element(ctx, end_v, INT64_MAX)
        positions = _positions(ctx, base, axis, starts, ends, step)
        return _put_rows(ctx, base, axis, positions, new, None)
    if kind == "aten::narrow" and all(ctx.is_const(v) for v in view.inputs[1:]):
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        first, length = ctx.const_int(view.input("start")), ctx.const_int(view.input("length"))
        last = first + length
        if first < 0 <= last:
            last = INT64_MAX  # narrow(-k, k): up to the end (PyTorch wraps a negative start)
        starts, ends = ctx.constant([first], INT64), ctx.constant([last], INT64)
        positions = _positions(ctx, base, axis, starts, ends, 1)
        return _put_rows(ctx, base, axis, positions, new, None)
    raise Unsupported(
        f"in-place write through a view made by {view.qualified_kind}, which is not "
        "translated back to its base tensor"
    )


def _from_start(ctx: TranslationContext, start_v: torch._C.Value) -> bool:
    return ctx.is_none(start_v) or (ctx.is_const(start_v) and ctx.const(start_v) == 0)


def _to_end(ctx: TranslationContext, end_v: torch._C.Value, x: ir.Value, axis: int) -> bool:
    if ctx.is_none(end_v):
        return True
    if not ctx.is_const(end_v):
        return False
    end, size = ctx.const_int(end_v), ctx.static_dim(x, axis)
    return end == INT64_MAX or (size is not None and end >= size)


def _positions(
    ctx: TranslationContext, x: ir.Value, axis: int, starts: ir.Value, ends: ir.Value, step: int
) -> ir.Value:
    """The indices along ``axis`` that a slice [starts:ends:step] picks (1-D INT64)."""
    size = ctx.op("Reshape", _dim_size(ctx, x, axis), ctx.constant([], INT64))
    every = ctx.op("Range", ctx.constant(0, INT64), size, ctx.constant(1, INT64))
    axes, steps = ctx.constant([0], INT64), ctx.constant([step], INT64)
    return ctx.op("Slice", every, starts, ends, axes, steps)


def _put_rows(
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
    work = FLOAT if reduction is not None and dtype in _HALF else dtype
    y = ctx.op(
        "ScatterND",
        ctx.cast(_transpose(ctx, x, perm), work),
        coords,
        ctx.cast(_transpose(ctx, rows, perm), work),
        reduction=reduction,
    )
    return ctx.cast(_transpose(ctx, y, _inverse(perm)), dtype)


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
    if _same_shape(src, index):
        return src
    rank = ctx.rank(index)
    return ctx.op(
        "Slice",
        src,
        ctx.constant([0] * rank, INT64),
        _shape_of(ctx, index),
        ctx.constant(list(range(rank)), INT64),
    )


def _scatter_updates(
    ctx: TranslationContext, node: TSNode, index: ir.Value, dtype: ir.DataType
) -> ir.Value:
    if node.has_input("src"):
        return _fit_to(ctx, ctx.tensor(node.input("src"), dtype), index)
    value = _scalar_arg(ctx, node.input("value"), dtype)
    return ctx.op("Expand", value, _shape_of(ctx, index))


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
    if reduction is not None and dtype in _HALF:
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
        ones = ctx.op("Expand", ctx.constant(1, dtype), _shape_of(ctx, index))
        start = ctx.op("Expand", ctx.constant(int(include_self), dtype), _shape_of(ctx, x))
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
            ctx, x, index, ctx.op("Expand", fill, _shape_of(ctx, index)), axis, None
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
    size = _dim_size(ctx, x, axis) if rank else ctx.constant([1], INT64)
    zeros = ctx.op("ConstantOfShape", size, value=ir.tensor(np.array([0], np.int64)))
    ones = ctx.op("Expand", ctx.constant(1, INT64), ctx.op("Shape", positions))
    hit = ctx.op("ScatterElements", zeros, positions, ones, axis=0)
    mask = ctx.cast(hit, BOOL)
    if rank > axis + 1:
        mask = ctx.op("Unsqueeze", mask, ctx.constant(list(range(1, rank - axis)), INT64))
    if rank == 0:
        mask = ctx.op("Reshape", mask, ctx.constant([], INT64))
    value = _scalar_arg(ctx, node.input("value"), ctx.dtype(x))
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
            rows = ctx.op("Mul", rows, _scalar_arg(ctx, alpha, ctx.dtype(x)))
    y = _put_rows(ctx, x, axis, positions, rows, "add" if adding else None)
    return y


# ---- masks -----------------------------------------------------------------------------------
@handler("aten::masked_select")
def aten_masked_select(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::masked_select(Tensor self, Tensor mask) -> Tensor (1-D)"""
    x = first_input(ctx, node)
    mask = ctx.tensor(node.input("mask"), BOOL)
    if not _same_shape(x, mask):
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
        size_t = _dim_size(ctx, x, axis)
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
        return ctx.op("Reshape", rolled, _shape_of(ctx, x))
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
    k = _int64(ctx, node.input("diagonal"))
    upper = int(node.kind.startswith("aten::triu"))
    y = ctx.cast(ctx.op("Trilu", ctx.cast(x, work), k, upper=upper), dtype)
    return y
