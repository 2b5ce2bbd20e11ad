"""Shape and layout: views, reshapes, flatten, permutes, squeeze, expand and repeat."""

from __future__ import annotations

import math

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import (
    INT64,
    Dim,
    dim_of_entry,
    first_input,
    known_dims,
    norm_axis,
    refine_shape,
    reshape_to,
    shape_range,
    shape_tensor,
    size_entries,
)
from converter.translate.registry import handler

__all__: list[str] = []


@handler("aten::view", "aten::reshape", "aten::_reshape_alias", "aten::_unsafe_view")
def aten_view(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a); reshape(self, shape)"""
    if node.overload == "dtype":
        raise Unsupported("view(dtype) reinterprets the bytes as another type; ONNX cannot")
    return reshape_to(ctx, first_input(ctx, node), node.inputs[1])


@handler("aten::view_as", "aten::reshape_as")
def aten_view_as(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::view_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    x, other = first_input(ctx, node), ctx.tensor(node.input("other"))
    if other.shape is not None and other.shape.is_static():
        shape = ctx.constant(list(other.shape.numpy()), INT64)
    else:
        shape = ctx.op("Shape", other)
    y = ctx.op("Reshape", x, shape)
    return refine_shape(y, known_dims(other)) if other.shape is not None else y


@handler("aten::flatten.using_ints")
def aten_flatten(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return ctx.op("Reshape", x, ctx.constant([1], INT64))
    start = norm_axis(ctx.const_int(node.input("start_dim")), rank)
    end = norm_axis(ctx.const_int(node.input("end_dim")), rank)
    if start > end:
        raise Unsupported("flatten with start_dim after end_dim")
    if start == end:
        return x
    dims = known_dims(x)
    merged = [d for d in dims[start : end + 1] if isinstance(d, int)]
    size: Dim = math.prod(merged) if len(merged) == end + 1 - start else None
    if start == 1 and end == rank - 1:
        y = ctx.op("Flatten", x, axis=1)
    else:
        # Leading dims keep their place, so 0 ("copy this dim") is right for them.
        shape = shape_tensor(ctx, [0] * start + [-1] + shape_range(ctx, x, end + 1, rank))
        y = ctx.op("Reshape", x, shape)
    return refine_shape(y, [*dims[:start], size, *dims[end + 1 :]])


@handler("aten::unflatten.int")
def aten_unflatten(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unflatten.int(Tensor(a) self, int dim, SymInt[] sizes) -> Tensor(a)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    axis = norm_axis(ctx.const_int(node.input("dim")), rank)
    sizes = ctx.const_ints(node.input("sizes"))
    pieces = [0] * axis + sizes + shape_range(ctx, x, axis + 1, rank)
    y = ctx.op("Reshape", x, shape_tensor(ctx, pieces))
    dims = known_dims(x)
    inner: list[Dim] = list(sizes)
    if -1 in sizes and isinstance(dims[axis], int):
        rest = math.prod(s for s in sizes if s != -1)
        inner = [dims[axis] // rest if s == -1 and rest else s for s in sizes]  # type: ignore[operator]
    return refine_shape(
        y, [*dims[:axis], *[None if d == -1 else d for d in inner], *dims[axis + 1 :]]
    )


# ---- axes ------------------------------------------------------------------------------------
@handler("aten::permute")
def aten_permute(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    perm = [norm_axis(d, rank) for d in ctx.const_ints(node.input("dims"))]
    if perm == list(range(rank)):
        return x
    return ctx.op("Transpose", x, perm=perm)


@handler("aten::transpose.int")
def aten_transpose(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return x
    a, b = (
        norm_axis(ctx.const_int(node.inputs[1]), rank),
        norm_axis(ctx.const_int(node.inputs[2]), rank),
    )
    if a == b:
        return x
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return ctx.op("Transpose", x, perm=perm)


@handler("aten::t", "aten::numpy_T", "aten::mT")
def aten_t(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::t(Tensor(a) self) -> Tensor(a); numpy_T reverses all dims, mT swaps the last two"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank < 2:
        return x
    if node.kind == "aten::numpy_T":
        perm = list(reversed(range(rank)))
    elif node.kind == "aten::mT":
        perm = [*range(rank - 2), rank - 1, rank - 2]
    elif rank == 2:
        perm = [1, 0]
    else:
        raise Unsupported(f"t() expects a tensor of rank <= 2, got rank {rank}")
    return ctx.op("Transpose", x, perm=perm)


@handler("aten::movedim")
def aten_movedim(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::movedim.intlist(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)"""
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    src = [norm_axis(d, rank) for d in ctx.const_ints(node.inputs[1])]
    dst = [norm_axis(d, rank) for d in ctx.const_ints(node.inputs[2])]
    perm: list[int | None] = [None] * rank
    for s, d in zip(src, dst, strict=True):
        perm[d] = s
    rest = iter(i for i in range(rank) if i not in src)
    full = [p if p is not None else next(rest) for p in perm]
    return x if full == list(range(rank)) else ctx.op("Transpose", x, perm=full)


@handler("aten::unsqueeze", "aten::unsqueeze_")
def aten_unsqueeze(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)"""
    x = first_input(ctx, node)
    axis = norm_axis(ctx.const_int(node.input("dim")), ctx.rank(x) + 1)
    return ctx.op("Unsqueeze", x, ctx.constant([axis], INT64))


@handler("aten::squeeze", "aten::squeeze_")
def aten_squeeze(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::squeeze(Tensor(a) self), squeeze.dim(self, int dim), squeeze.dims(self, int[] dim)

    PyTorch drops a listed dim only if its size is 1. A dim whose size is only known at run time
    is taken to be kept (ONNX needs a static rank), so it must not have been traced at size 1.
    """
    x = first_input(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return x
    if node.has_input("dim"):
        candidates = sorted({norm_axis(d, rank) for d in ctx.const_ints(node.input("dim"))})
    else:
        candidates = list(range(rank))
    dims = known_dims(x)
    for a in candidates:
        d = dims[a]
        if not isinstance(d, int) and (d is None or ctx.symbolic_sizes.get(d) == 1):
            what = f"dim {a}" + (f" ({d!r}, traced at size 1)" if d else " (of unknown size)")
            raise Unsupported(
                f"squeeze of {what}: whether it is removed depends on its size at run time; "
                "convert with that dim static, or trace at another size"
            )
    axes = [a for a in candidates if dims[a] == 1]
    if not axes:
        return x
    return ctx.op("Squeeze", x, ctx.constant(axes, INT64))


# ---- broadcasting and tiling -----------------------------------------------------------------
@handler("aten::expand")
def aten_expand(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)"""
    x = first_input(ctx, node)
    ts_size = node.input("size")
    entries = size_entries(ctx, ts_size)
    if entries is None:
        return ctx.op("Expand", x, ctx.tensor(ts_size, INT64))
    in_dims = known_dims(x) if x.shape is not None else None
    lead = len(entries) - (len(in_dims) if in_dims is not None else 0)
    out_dims: list[Dim] = []
    for i, e in enumerate(entries):
        d = dim_of_entry(e)
        if d == -1:
            d = in_dims[i - lead] if in_dims is not None and i >= lead else None
        out_dims.append(d)
    # -1 keeps a dim; ONNX Expand broadcasts, so 1 keeps it too.
    entries = [1 if isinstance(e, int) and e == -1 else e for e in entries]
    if all(isinstance(e, int) for e in entries):
        sizes = [int(e) for e in entries]  # type: ignore[call-overload]
        y = ctx.op("Expand", x, ctx.constant(sizes, INT64))
    else:
        y = ctx.op("Expand", x, ctx.as_tensor(entries))
    return refine_shape(y, out_dims)


@handler("aten::expand_as")
def aten_expand_as(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::expand_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    x, other = first_input(ctx, node), ctx.tensor(node.input("other"))
    y = ctx.op("Expand", x, ctx.op("Shape", other))
    return refine_shape(y, known_dims(other)) if other.shape is not None else y


@handler("aten::repeat")
def aten_repeat(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::repeat(Tensor self, SymInt[] repeats) -> Tensor"""
    x = first_input(ctx, node)
    ts_repeats = node.input("repeats")
    entries = size_entries(ctx, ts_repeats)
    if entries is None:
        raise Unsupported("repeat with a repeats list computed at run time")
    rank = ctx.rank(x)
    if len(entries) < rank:
        raise Unsupported(f"repeat needs at least {rank} repeats, got {len(entries)}")
    if len(entries) > rank:
        extra = list(range(len(entries) - rank))
        x = ctx.op("Unsqueeze", x, ctx.constant(extra, INT64))
    repeats = ctx.size_list(ts_repeats)
    if isinstance(repeats, list):
        return ctx.op("Tile", x, ctx.constant(repeats, INT64))
    return ctx.op("Tile", x, repeats)


# ---- slicing ---------------------------------------------------------------------------------
