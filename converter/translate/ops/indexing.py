"""Indexing: advanced indexing (``x[idx]``), index_put and writes through views.

PyTorch's advanced-indexing rule: the broadcast shape of the index tensors takes the place of the
indexed dims when those are adjacent, and goes first when a slice (None) separates them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.index_util import (
    BOOL,
    FLOAT,
    HALF,
    dim_size,
    int64_arg,
    inverse_perm,
    is_mask,
    put_rows,
    shape_of,
    transpose,
)
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
    masks = [i for i in indices if i is not None and is_mask(ctx, i)]
    only = [i for i in indices if i is not None]
    single_mask = len(masks) == 1 and len(only) == 1
    result = _Advanced(dims, tensors)
    for index in indices:
        if index is None:
            used += 1
            continue
        if not is_mask(ctx, index):
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
    y = ctx.op("GatherND", transpose(ctx, x, perm), coords)  # [*B, *rest]
    first = adv.dims[0]
    if adjacent and first > 0:  # B takes the place of the indexed dims
        nb = ctx.rank(coords) - 1
        out_rank = nb + rank - len(adv.dims)
        back = [*range(nb, nb + first), *range(nb), *range(nb + first, out_rank)]
        y = transpose(ctx, y, back)
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
        updates = transpose(
            ctx, updates, [*range(first, first + nb), *range(first), *range(first + nb, out_rank)]
        )
    dtype = ctx.dtype(x)
    reduction = "add" if accumulate else None
    work = FLOAT if accumulate and dtype in HALF else dtype  # ORT adds no float16
    y = ctx.op(
        "ScatterND",
        ctx.cast(transpose(ctx, x, perm), work),
        coords,
        ctx.cast(updates, work),
        reduction=reduction,
    )
    return ctx.cast(transpose(ctx, y, inverse_perm(perm)), dtype)


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
        return ctx.op("Reshape", new, shape_of(ctx, base))
    if kind in ("aten::reshape", "aten::flatten") and not is_view(view.inputs[0].node()):
        # A view of a tensor made by a non-view op (contiguous): write back by reshaping.
        return ctx.op("Reshape", new, shape_of(ctx, base))
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
        return transpose(ctx, new, inverse_perm(perm))
    if kind == "aten::select" and view.overload == "int":
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        positions = ctx.op("Reshape", int64_arg(ctx, view.input("index")), ctx.constant([1], INT64))
        rows = ctx.op("Unsqueeze", new, ctx.constant([axis], INT64))
        return put_rows(ctx, base, axis, positions, rows, None)
    if kind == "aten::slice" and view.overload == "Tensor":
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        start_v, end_v = view.input("start"), view.input("end")
        step = ctx.const_int(view.input("step"))
        if step == 1 and _from_start(ctx, start_v) and _to_end(ctx, end_v, base, axis):
            return new  # the whole dim: the view is the base
        starts = one_element(ctx, start_v, 0)
        ends = one_element(ctx, end_v, INT64_MAX)
        positions = _positions(ctx, base, axis, starts, ends, step)
        return put_rows(ctx, base, axis, positions, new, None)
    if kind == "aten::narrow" and all(ctx.is_const(v) for v in view.inputs[1:]):
        axis = norm_axis(ctx.const_int(view.input("dim")), rank)
        first, length = ctx.const_int(view.input("start")), ctx.const_int(view.input("length"))
        last = first + length
        if first < 0 <= last:
            last = INT64_MAX  # narrow(-k, k): up to the end (PyTorch wraps a negative start)
        starts, ends = ctx.constant([first], INT64), ctx.constant([last], INT64)
        positions = _positions(ctx, base, axis, starts, ends, 1)
        return put_rows(ctx, base, axis, positions, new, None)
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
    size = ctx.op("Reshape", dim_size(ctx, x, axis), ctx.constant([], INT64))
    every = ctx.op("Range", ctx.constant(0, INT64), size, ctx.constant(1, INT64))
    axes, steps = ctx.constant([0], INT64), ctx.constant([step], INT64)
    return ctx.op("Slice", every, starts, ends, axes, steps)
