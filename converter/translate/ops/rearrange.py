"""Layouts built from a tensor: meshgrid, repeat_interleave, tile, pixel_shuffle /
pixel_unshuffle, and the sliding windows unfold and im2col."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import (
    Dim,
    known_dims,
    norm_axis,
    refine_shape,
    shape_tensor,
    size_entries,
)
from converter.translate.registry import handler

FLOAT = ir.DataType.FLOAT
DOUBLE = ir.DataType.DOUBLE
BFLOAT16 = ir.DataType.BFLOAT16
INT64 = ir.DataType.INT64

__all__: list[str] = []

# ONNX Runtime's CPU DepthToSpace takes these element types (others reshape and transpose).
_DEPTH_TO_SPACE_TYPES = frozenset(
    {ir.DataType.FLOAT16, FLOAT, DOUBLE, ir.DataType.INT8, ir.DataType.UINT8}
)


def _movable(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """bfloat16 data as float32 (exact), for Expand, Tile and Pad, which ONNX Runtime's CPU
    provider does not run on bfloat16; ``_restore`` casts back."""
    return ctx.cast(x, FLOAT) if ctx.dtype(x) == BFLOAT16 else x


def _restore(ctx: TranslationContext, y: ir.Value, dtype: ir.DataType) -> ir.Value:
    return ctx.cast(y, dtype) if dtype == BFLOAT16 else y


# ---- grids and repeats -----------------------------------------------------------------------
@handler("aten::meshgrid")
def aten_meshgrid(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::meshgrid(Tensor[] tensors) -> Tensor[]; meshgrid.indexing(Tensor[] tensors, *, str
    indexing) -> Tensor[] ("ij", or "xy" which swaps the first two output dims)"""
    entries = ctx.entry(node.input("tensors"))
    if not isinstance(entries, list | tuple):
        raise Unsupported("meshgrid of a tensor list computed at run time")
    indexing = ctx.const(node.input("indexing")) if node.has_input("indexing") else "ij"
    tensors = [ctx.as_tensor(e) for e in entries]
    dtype = ctx.dtype(tensors[0]) if tensors else FLOAT
    flat = [ctx.op("Reshape", _movable(ctx, t), ctx.constant([-1], INT64)) for t in tensors]
    n = len(flat)
    order = list(range(n))
    if indexing == "xy" and n >= 2:
        order[0], order[1] = 1, 0
    sizes: list[int | ir.Value] = []
    for k in order:
        size = ctx.static_dim(flat[k], 0)
        sizes.append(size if size is not None else ctx.op("Shape", flat[k]))
    shape = shape_tensor(ctx, sizes)
    dims: list[Dim] = [s if isinstance(s, int) else None for s in sizes]
    outs = []
    for k, t in enumerate(flat):
        position = order.index(k)
        view = [1] * n
        view[position] = -1
        y = ctx.op("Expand", ctx.op("Reshape", t, ctx.constant(view, INT64)), shape)
        outs.append(refine_shape(_restore(ctx, y, dtype), dims))
    return outs


def _repeat_indices(ctx: TranslationContext, repeats: ir.Value) -> ir.Value:
    """repeat_interleave(arange(n), repeats) at run time: index j is the number of cumulative
    repeat counts <= j."""
    repeats = ctx.cast(repeats, INT64)
    ends = ctx.op("CumSum", repeats, ctx.constant(0, INT64))
    total = ctx.op("ReduceSum", repeats, ctx.constant([0], INT64), keepdims=0)
    positions = ctx.op("Range", ctx.constant(0, INT64), total, ctx.constant(1, INT64))
    passed = ctx.op(
        "GreaterOrEqual",
        ctx.op("Unsqueeze", positions, ctx.constant([1], INT64)),
        ctx.op("Unsqueeze", ends, ctx.constant([0], INT64)),
    )
    return ctx.op("ReduceSum", ctx.cast(passed, INT64), ctx.constant([1], INT64), keepdims=0)


def _repeat_each(ctx: TranslationContext, x: ir.Value, repeats: object, axis: int) -> ir.Value:
    """Repeat every slice of ``x`` along ``axis`` ``repeats`` times (an int or a 0-d tensor)."""
    rank = ctx.rank(x)
    y = ctx.op("Unsqueeze", _movable(ctx, x), ctx.constant([axis + 1], INT64))
    ones_before, ones_after = [1] * (axis + 1), [1] * (rank - axis - 1)
    if isinstance(repeats, int):
        target = ctx.constant([*ones_before, repeats, *ones_after], INT64)
    else:
        r = ctx.op("Reshape", ctx.cast(repeats, INT64), ctx.constant([1], INT64))  # type: ignore[arg-type]
        target = shape_tensor(ctx, [*ones_before, r, *ones_after])
    y = ctx.op("Expand", y, target)
    tail: list[int | ir.Value] = []
    for d in range(axis + 1, rank):
        size = ctx.static_dim(x, d)
        tail.append(size if size is not None else ctx.op("Shape", x, start=d, end=d + 1))
    out = ctx.op("Reshape", y, shape_tensor(ctx, [*([0] * axis), -1, *tail]))
    out = _restore(ctx, out, ctx.dtype(x))
    dims = known_dims(x)
    n = dims[axis]
    dims[axis] = n * repeats if isinstance(n, int) and isinstance(repeats, int) else None
    return refine_shape(out, dims)


@handler("aten::repeat_interleave")
def aten_repeat_interleave(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::repeat_interleave.self_int(Tensor self, SymInt repeats, int? dim=None, *, SymInt?
    output_size=None) -> Tensor; .self_Tensor(Tensor self, Tensor repeats, ...); .Tensor(Tensor
    repeats, *, SymInt? output_size=None) -> Tensor (indices repeated)"""
    if not node.has_input("self"):  # repeat_interleave(repeats): arange(n) repeated
        reps_v = node.input("repeats")
        if ctx.is_const(reps_v):
            counts = np.asarray(ctx.const(reps_v), dtype=np.int64).reshape(-1)
            return ctx.constant(np.repeat(np.arange(len(counts)), counts), INT64)
        return _repeat_indices(ctx, ctx.tensor(reps_v))
    x = ctx.tensor(node.input("self"))
    dim_v = node.input("dim")
    if ctx.is_none(dim_v):
        x = ctx.op("Reshape", x, ctx.constant([-1], INT64))
        axis = 0
    else:
        axis = norm_axis(ctx.const_int(dim_v), ctx.rank(x))
    reps_v = node.input("repeats")
    is_tensor = isinstance(reps_v.type(), torch._C.TensorType)
    if not is_tensor:
        entry = ctx.entry(reps_v)
        return _repeat_each(ctx, x, entry if isinstance(entry, ir.Value) else int(entry), axis)  # type: ignore[call-overload]
    if ctx.is_const(reps_v):
        counts = np.asarray(ctx.const(reps_v), dtype=np.int64).reshape(-1)
        if len(counts) == 1:
            return _repeat_each(ctx, x, int(counts[0]), axis)
        n = ctx.static_dim(x, axis)
        if n is None:
            raise Unsupported(
                "repeat_interleave with a repeats list along a dim whose size is only known at "
                "run time"
            )
        if n != len(counts):
            raise Unsupported(f"repeat_interleave: {len(counts)} repeats for a dim of size {n}")
        index = ctx.constant(np.repeat(np.arange(n), counts), INT64)
        return ctx.op("Gather", x, index, axis=axis)
    reps = ctx.tensor(reps_v)
    if reps.shape is not None and len(reps.shape) == 0:
        return _repeat_each(ctx, x, reps, axis)
    if ctx.static_dim(reps, 0) == 1 and ctx.static_dim(x, axis) != 1:
        return _repeat_each(ctx, x, ctx.op("Reshape", reps, ctx.constant([], INT64)), axis)
    return ctx.op("Gather", x, _repeat_indices(ctx, reps), axis=axis)


@handler("aten::tile")
def aten_tile(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::tile(Tensor self, SymInt[] dims) -> Tensor (fewer dims than the rank repeat the
    trailing dims; more add leading dims)"""
    x = ctx.tensor(node.input("self"))
    entries = size_entries(ctx, node.input("dims"))
    if entries is None:
        raise Unsupported("tile with a dims list computed at run time")
    rank = ctx.rank(x)
    if len(entries) < rank:
        entries = [1] * (rank - len(entries)) + entries
    elif len(entries) > rank:
        x = ctx.op("Unsqueeze", x, ctx.constant(list(range(len(entries) - rank)), INT64))
    if all(isinstance(e, int) for e in entries):
        repeats = ctx.constant([int(e) for e in entries], INT64)  # type: ignore[call-overload]
    else:
        repeats = ctx.as_tensor(entries)
    return _restore(ctx, ctx.op("Tile", _movable(ctx, x), repeats), ctx.dtype(x))


# ---- pixel shuffles --------------------------------------------------------------------------
def _spatial(ctx: TranslationContext, x: ir.Value) -> list[int | ir.Value]:
    """The last two dims of ``x``: ints where static, a 2-element Shape slice where not."""
    h, w = ctx.static_dim(x, -2), ctx.static_dim(x, -1)
    if h is not None and w is not None:
        return [h, w]
    return [ctx.op("Shape", x, start=-2)]


@handler("aten::pixel_shuffle")
def aten_pixel_shuffle(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::pixel_shuffle(Tensor self, int upscale_factor) -> Tensor: (*, C*r*r, H, W) ->
    (*, C, H*r, W*r), channel c*r*r + i*r + j going to offset (i, j); ONNX DepthToSpace in
    CRD mode is the same permutation"""
    x = ctx.tensor(node.input("self"))
    r = ctx.const_int(node.input("upscale_factor"))
    rank = ctx.rank(x)
    if rank < 3:
        raise Unsupported(f"pixel_shuffle of a rank-{rank} tensor (needs rank >= 3)")
    if rank == 4 and ctx.dtype(x) in _DEPTH_TO_SPACE_TYPES:
        return ctx.op("DepthToSpace", x, blocksize=r, mode="CRD")
    lead = rank - 3
    spatial = _spatial(ctx, x)
    # (*, C, r, r, H, W) -> (*, C, H, r, W, r) -> (*, C, H*r, W*r)
    y = ctx.op("Reshape", x, shape_tensor(ctx, [*([0] * lead), -1, r, r, *spatial]))
    perm = [*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2]
    y = ctx.op("Transpose", y, perm=perm)
    scaled: list[int | ir.Value] = []
    for d in spatial:  # two ints, or one 2-element Shape slice
        scaled.append(
            d * r if isinstance(d, int) else ctx.op("Mul", d, ctx.constant([r, r], INT64))
        )
    return ctx.op("Reshape", y, shape_tensor(ctx, [*([0] * (lead + 1)), *scaled]))


@handler("aten::pixel_unshuffle")
def aten_pixel_unshuffle(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::pixel_unshuffle(Tensor self, int downscale_factor) -> Tensor: (*, C, H*r, W*r) ->
    (*, C*r*r, H, W). ONNX SpaceToDepth orders the channels the other way (offset-major), so
    this reshapes and transposes."""
    x = ctx.tensor(node.input("self"))
    r = ctx.const_int(node.input("downscale_factor"))
    rank = ctx.rank(x)
    if rank < 3:
        raise Unsupported(f"pixel_unshuffle of a rank-{rank} tensor (needs rank >= 3)")
    lead = rank - 3
    spatial = _spatial(ctx, x)
    if len(spatial) == 2:
        h, w = spatial
        if h % r or w % r:  # type: ignore[operator]
            raise Unsupported(f"pixel_unshuffle: {h}x{w} is not divisible by {r}")
        small: list[int | ir.Value] = [h // r, w // r]  # type: ignore[operator]
        split: list[int | ir.Value] = [h // r, r, w // r, r]  # type: ignore[operator]
    else:
        hw = ctx.op("Div", spatial[0], ctx.constant([r, r], INT64))  # type: ignore[arg-type]
        small = [hw]
        h = ctx.op("Slice", hw, ctx.constant([0], INT64), ctx.constant([1], INT64))
        w = ctx.op("Slice", hw, ctx.constant([1], INT64), ctx.constant([2], INT64))
        split = [h, r, w, r]
    # (*, C, H, r, W, r) -> (*, C, r, r, H, W) -> (*, C*r*r, H, W)
    y = ctx.op("Reshape", x, shape_tensor(ctx, [*([0] * (lead + 1)), *split]))
    perm = [*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3]
    y = ctx.op("Transpose", y, perm=perm)
    return ctx.op("Reshape", y, shape_tensor(ctx, [*([0] * lead), -1, *small]))


# ---- sliding windows -------------------------------------------------------------------------
def _window_index(
    ctx: TranslationContext, length: int | ir.Value, size: int, step: int, dilation: int = 1
) -> tuple[ir.Value, int | None]:
    """Indices [i * step + k * dilation] of shape (count, size) for windows over ``length``."""
    span = dilation * (size - 1) + 1
    if isinstance(length, int):
        count = (length - span) // step + 1
        if count <= 0:
            raise Unsupported(f"a window of {span} does not fit in a dim of size {length}")
        table = np.arange(count)[:, None] * step + np.arange(size)[None, :] * dilation
        return ctx.constant(table, INT64), count
    count_v = ctx.op(
        "Add",
        ctx.op("Div", ctx.op("Sub", length, ctx.constant(span, INT64)), ctx.constant(step, INT64)),
        ctx.constant(1, INT64),
    )
    starts = ctx.op("Range", ctx.constant(0, INT64), count_v, ctx.constant(1, INT64))
    starts = ctx.op("Mul", starts, ctx.constant(step, INT64))
    offsets = ctx.constant(np.arange(size) * dilation, INT64)
    index = ctx.op("Add", ctx.op("Unsqueeze", starts, ctx.constant([1], INT64)), offsets)
    return index, None


def _length(ctx: TranslationContext, x: ir.Value, axis: int) -> int | ir.Value:
    size = ctx.static_dim(x, axis)
    if size is not None:
        return size
    return ctx.op("Squeeze", ctx.op("Shape", x, start=axis, end=axis + 1))


@handler("aten::unfold")
def aten_unfold(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a): windows
    along ``dimension``, the window as a new last dim"""
    x = ctx.tensor(node.input("self"))
    rank = ctx.rank(x)
    if rank == 0:
        raise Unsupported("unfold of a 0-d tensor")
    axis = norm_axis(ctx.const_int(node.input("dimension")), rank)
    size, step = ctx.const_int(node.input("size")), ctx.const_int(node.input("step"))
    index, _ = _window_index(ctx, _length(ctx, x, axis), size, step)
    y = ctx.op("Gather", x, index, axis=axis)  # (..., count, size, ...)
    if axis == rank - 1:
        return y
    perm = [*range(axis + 1), *range(axis + 2, rank + 1), axis + 1]
    return ctx.op("Transpose", y, perm=perm)


def _pair(values: Sequence[int]) -> list[int]:
    return list(values) * 2 if len(values) == 1 else list(values)


@handler("aten::im2col")
def aten_im2col(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::im2col(Tensor self, int[2] kernel_size, int[2] dilation, int[2] padding, int[2]
    stride) -> Tensor (F.unfold): (N, C, H, W) -> (N, C*kh*kw, L)"""
    x = ctx.tensor(node.input("self"))
    kh, kw = _pair(ctx.const_ints(node.input("kernel_size")))
    dh, dw = _pair(ctx.const_ints(node.input("dilation")))
    ph, pw = _pair(ctx.const_ints(node.input("padding")))
    sh, sw = _pair(ctx.const_ints(node.input("stride")))
    rank = ctx.rank(x)
    if rank not in (3, 4):
        raise Unsupported(f"im2col of a rank-{rank} tensor (needs 3 or 4)")
    if rank == 3:
        x = ctx.op("Unsqueeze", x, ctx.constant([0], INT64))
    if ph or pw:
        dtype = ctx.dtype(x)
        wide = _movable(ctx, x)
        pads = ctx.constant([0, 0, ph, pw, 0, 0, ph, pw], INT64)
        zero = ctx.constant(0, ctx.dtype(wide))
        x = _restore(ctx, ctx.op("Pad", wide, pads, zero, mode="constant"), dtype)
    rows, oh = _window_index(ctx, _length(ctx, x, 2), kh, sh, dh)
    cols, ow = _window_index(ctx, _length(ctx, x, 3), kw, sw, dw)
    y = ctx.op("Gather", x, rows, axis=2)  # (N, C, oh, kh, W)
    y = ctx.op("Gather", y, cols, axis=4)  # (N, C, oh, kh, ow, kw)
    y = ctx.op("Transpose", y, perm=[0, 1, 3, 5, 2, 4])  # (N, C, kh, kw, oh, ow)
    # (N, C, kh*kw, L), then (N, C*kh*kw, L)
    y = ctx.op("Reshape", y, ctx.constant([0, 0, kh * kw, -1], INT64))
    if oh is not None and ow is not None:
        blocks: int | ir.Value = oh * ow
    else:
        blocks = ctx.op("Shape", y, start=3)
    y = ctx.op("Reshape", y, shape_tensor(ctx, [0, -1, blocks]))
    if rank == 3:
        y = ctx.op("Squeeze", y, ctx.constant([0], INT64))
    return y
