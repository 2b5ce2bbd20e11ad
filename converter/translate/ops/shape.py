"""Shape and layout: views, reshapes, permutes, squeeze, expand, slicing, split and concat."""

from __future__ import annotations

import math
from collections.abc import Sequence

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.dtypes import result_type
from converter.translate.ops.prim import SYMBOLIC_DIM
from converter.translate.registry import handler

__all__: list[str] = []

INT64_MAX = 9223372036854775807
INT64 = ir.DataType.INT64

# What is known about one dim: its size, its symbolic name, or nothing (None).
Dim = int | str | None


# ---- helpers ---------------------------------------------------------------------------------
def _x(ctx: TranslationContext, node: TSNode) -> ir.Value:
    return ctx.tensor(node.inputs[0])


def _axis(dim: int, rank: int) -> int:
    """A dim in [0, rank), from PyTorch's possibly negative one."""
    span = max(rank, 1)  # a 0-d tensor takes dim 0 or -1
    if not -span <= dim < span:
        raise Unsupported(f"dim {dim} is out of range for a tensor of rank {rank}")
    return dim % span


def _dims(x: ir.Value) -> list[Dim]:
    """What is known about each dim of ``x`` (its rank must be known)."""
    assert x.shape is not None
    out: list[Dim] = []
    for d in x.shape:
        out.append(d if isinstance(d, int) else d.value)
    return out


def _dim_of_entry(entry: Entry) -> Dim:
    """A size argument element as a Dim: a constant, a tagged run-time size, or unknown."""
    if isinstance(entry, bool):
        return int(entry)
    if isinstance(entry, int):
        return entry
    if isinstance(entry, ir.Value):
        if entry.const_value is not None and entry.const_value.size == 1:
            return int(entry.const_value.numpy().item())
        name = entry.meta.get(SYMBOLIC_DIM)
        return name if isinstance(name, str) else None
    return None


def _refine(y: ir.Value, dims: Sequence[Dim]) -> ir.Value:
    """Fill dims shape inference left unknown with what the handler knows."""
    if y.shape is not None and len(y.shape) != len(dims):
        return y
    known = list(y.shape) if y.shape is not None else [None] * len(dims)
    merged: list[int | str | ir.SymbolicDim | None] = []
    for have, mine in zip(known, dims, strict=True):
        unknown = have is None or (isinstance(have, ir.SymbolicDim) and have.value is None)
        merged.append(mine if unknown else have)
    y.shape = ir.Shape(merged)
    return y


def _infer_minus_one(in_dims: Sequence[Dim], out_dims: list[Dim]) -> list[Dim]:
    """Resolve one -1 in a target shape when the symbolic dims on both sides cancel out."""
    if out_dims.count(-1) != 1:
        return [None if d == -1 else d for d in out_dims]
    if any(d is None for d in in_dims) or any(d is None for d in out_dims):
        return [None if d == -1 else d for d in out_dims]
    in_names = sorted(d for d in in_dims if isinstance(d, str))
    out_names = sorted(d for d in out_dims if isinstance(d, str))
    if in_names != out_names:
        return [None if d == -1 else d for d in out_dims]
    numel = math.prod(d for d in in_dims if isinstance(d, int))
    rest = math.prod(d for d in out_dims if isinstance(d, int) and d != -1)
    fill = numel // rest if rest and numel % rest == 0 else None
    return [fill if d == -1 else d for d in out_dims]


def _size_entries(ctx: TranslationContext, ts_value: torch._C.Value) -> list[Entry] | None:
    """The elements of an int-list argument, or None when the whole list is a run-time tensor."""
    entry = ctx.entry(ts_value)
    if isinstance(entry, list | tuple):
        return list(entry)
    if isinstance(entry, ir.Value) and entry.const_value is not None:
        return [int(v) for v in entry.const_value.numpy().reshape(-1)]
    return None


def _reshape(ctx: TranslationContext, x: ir.Value, ts_size: torch._C.Value) -> ir.Value:
    """Reshape ``x`` to a PyTorch size argument (constant or partly computed at run time)."""
    entries = _size_entries(ctx, ts_size)
    if ctx.is_const(ts_size):
        sizes = ctx.const_ints(ts_size)
        zero = 0 in sizes
        y = ctx.op("Reshape", x, ctx.constant(sizes, INT64), allowzero=1 if zero else None)
        out_dims: list[Dim] = list(sizes)
    else:
        shape = ctx.size_list(ts_size)
        assert isinstance(shape, ir.Value)
        out_dims = [_dim_of_entry(e) for e in entries] if entries is not None else []
        zero = 0 in out_dims
        y = ctx.op("Reshape", x, shape, allowzero=1 if zero else None)
    if entries is not None and x.shape is not None:
        _refine(y, _infer_minus_one(_dims(x), out_dims))
    return y


def _shape_tensor(ctx: TranslationContext, dims: Sequence[int | ir.Value]) -> ir.Value:
    """A 1-D INT64 shape from ints and 1-D INT64 pieces."""
    if all(isinstance(d, int) for d in dims):
        return ctx.constant(list(dims), INT64)
    parts: list[ir.Value] = []
    run: list[int] = []
    for d in dims:
        if isinstance(d, int):
            run.append(d)
            continue
        if run:
            parts.append(ctx.constant(run, INT64))
            run = []
        parts.append(d)
    if run:
        parts.append(ctx.constant(run, INT64))
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=0)


def _shape_range(
    ctx: TranslationContext, x: ir.Value, start: int, end: int
) -> list[int | ir.Value]:
    """Dims [start, end) of ``x``: ints where static, a Shape slice where not."""
    dims = _dims(x)[start:end]
    ints = [d for d in dims if isinstance(d, int)]
    if len(ints) == len(dims):
        return list(ints)
    return [ctx.op("Shape", x, start=start, end=end)]


def _one_elem(ctx: TranslationContext, ts_value: torch._C.Value, default: int) -> ir.Value:
    """An optional int argument (constant or 0-d run-time tensor) as a 1-element INT64 tensor."""
    if ctx.is_none(ts_value):
        return ctx.constant([default], INT64)
    if ctx.is_const(ts_value):
        return ctx.constant([ctx.const_int(ts_value)], INT64)
    value = ctx.tensor(ts_value, INT64)
    return ctx.op("Reshape", value, ctx.constant([1], INT64))


def _tensor_list(ctx: TranslationContext, ts_value: torch._C.Value) -> list[ir.Value]:
    entry = ctx.entry(ts_value)
    if not isinstance(entry, list | tuple):
        raise Unsupported("the list of tensors is computed at run time")
    return [ctx.as_tensor(e) for e in entry]


def _split(ctx: TranslationContext, x: ir.Value, sizes: list[int], axis: int) -> list[ir.Value]:
    """Split ``x`` along ``axis`` into pieces of the given sizes."""
    if len(sizes) == 1:
        return [x]
    outs = ctx.op_multi("Split", x, ctx.constant(sizes, INT64), axis=axis, num_outputs=len(sizes))
    return list(outs)


def _static_size(ctx: TranslationContext, x: ir.Value, axis: int, what: str) -> int:
    size = ctx.static_dim(x, axis)
    if size is None:
        raise Unsupported(
            f"{what} along dim {axis}, whose size is only known at run time: the number of "
            "pieces would depend on it; convert with that dim static"
        )
    return size


# ---- reshapes --------------------------------------------------------------------------------
@handler("aten::view", "aten::reshape", "aten::_reshape_alias", "aten::_unsafe_view")
def aten_view(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::view(Tensor(a) self, SymInt[] size) -> Tensor(a); reshape(self, shape)"""
    if node.overload == "dtype":
        raise Unsupported("view(dtype) reinterprets the bytes as another type; ONNX cannot")
    return _reshape(ctx, _x(ctx, node), node.inputs[1])


@handler("aten::view_as", "aten::reshape_as")
def aten_view_as(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::view_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    x, other = _x(ctx, node), ctx.tensor(node.input("other"))
    if other.shape is not None and other.shape.is_static():
        shape = ctx.constant(list(other.shape.numpy()), INT64)
    else:
        shape = ctx.op("Shape", other)
    y = ctx.op("Reshape", x, shape)
    return _refine(y, _dims(other)) if other.shape is not None else y


@handler("aten::flatten.using_ints")
def aten_flatten(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::flatten.using_ints(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)"""
    x = _x(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return ctx.op("Reshape", x, ctx.constant([1], INT64))
    start = _axis(ctx.const_int(node.input("start_dim")), rank)
    end = _axis(ctx.const_int(node.input("end_dim")), rank)
    if start > end:
        raise Unsupported("flatten with start_dim after end_dim")
    if start == end:
        return x
    dims = _dims(x)
    merged = [d for d in dims[start : end + 1] if isinstance(d, int)]
    size: Dim = math.prod(merged) if len(merged) == end + 1 - start else None
    if start == 1 and end == rank - 1:
        y = ctx.op("Flatten", x, axis=1)
    else:
        # Leading dims keep their place, so 0 ("copy this dim") is right for them.
        shape = _shape_tensor(ctx, [0] * start + [-1] + _shape_range(ctx, x, end + 1, rank))
        y = ctx.op("Reshape", x, shape)
    return _refine(y, [*dims[:start], size, *dims[end + 1 :]])


@handler("aten::unflatten.int")
def aten_unflatten(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unflatten.int(Tensor(a) self, int dim, SymInt[] sizes) -> Tensor(a)"""
    x = _x(ctx, node)
    rank = ctx.rank(x)
    axis = _axis(ctx.const_int(node.input("dim")), rank)
    sizes = ctx.const_ints(node.input("sizes"))
    pieces = [0] * axis + sizes + _shape_range(ctx, x, axis + 1, rank)
    y = ctx.op("Reshape", x, _shape_tensor(ctx, pieces))
    dims = _dims(x)
    inner: list[Dim] = list(sizes)
    if -1 in sizes and isinstance(dims[axis], int):
        rest = math.prod(s for s in sizes if s != -1)
        inner = [dims[axis] // rest if s == -1 and rest else s for s in sizes]  # type: ignore[operator]
    return _refine(y, [*dims[:axis], *[None if d == -1 else d for d in inner], *dims[axis + 1 :]])


# ---- axes ------------------------------------------------------------------------------------
@handler("aten::permute")
def aten_permute(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::permute(Tensor(a) self, int[] dims) -> Tensor(a)"""
    x = _x(ctx, node)
    rank = ctx.rank(x)
    perm = [_axis(d, rank) for d in ctx.const_ints(node.input("dims"))]
    if perm == list(range(rank)):
        return x
    return ctx.op("Transpose", x, perm=perm)


@handler("aten::transpose.int")
def aten_transpose(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)"""
    x = _x(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return x
    a, b = _axis(ctx.const_int(node.inputs[1]), rank), _axis(ctx.const_int(node.inputs[2]), rank)
    if a == b:
        return x
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return ctx.op("Transpose", x, perm=perm)


@handler("aten::t", "aten::numpy_T", "aten::mT")
def aten_t(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::t(Tensor(a) self) -> Tensor(a); numpy_T reverses all dims, mT swaps the last two"""
    x = _x(ctx, node)
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
    x = _x(ctx, node)
    rank = ctx.rank(x)
    src = [_axis(d, rank) for d in ctx.const_ints(node.inputs[1])]
    dst = [_axis(d, rank) for d in ctx.const_ints(node.inputs[2])]
    perm: list[int | None] = [None] * rank
    for s, d in zip(src, dst, strict=True):
        perm[d] = s
    rest = iter(i for i in range(rank) if i not in src)
    full = [p if p is not None else next(rest) for p in perm]
    return x if full == list(range(rank)) else ctx.op("Transpose", x, perm=full)


@handler("aten::unsqueeze", "aten::unsqueeze_")
def aten_unsqueeze(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unsqueeze(Tensor(a) self, int dim) -> Tensor(a)"""
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x) + 1)
    return ctx.op("Unsqueeze", x, ctx.constant([axis], INT64))


@handler("aten::squeeze", "aten::squeeze_")
def aten_squeeze(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::squeeze(Tensor(a) self), squeeze.dim(self, int dim), squeeze.dims(self, int[] dim)

    PyTorch drops a listed dim only if its size is 1. A dim whose size is only known at run time
    is taken to be kept (ONNX needs a static rank), so it must not have been traced at size 1.
    """
    x = _x(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return x
    if node.has_input("dim"):
        candidates = sorted({_axis(d, rank) for d in ctx.const_ints(node.input("dim"))})
    else:
        candidates = list(range(rank))
    dims = _dims(x)
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
    x = _x(ctx, node)
    ts_size = node.input("size")
    entries = _size_entries(ctx, ts_size)
    if entries is None:
        return ctx.op("Expand", x, ctx.tensor(ts_size, INT64))
    in_dims = _dims(x) if x.shape is not None else None
    lead = len(entries) - (len(in_dims) if in_dims is not None else 0)
    out_dims: list[Dim] = []
    for i, e in enumerate(entries):
        d = _dim_of_entry(e)
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
    return _refine(y, out_dims)


@handler("aten::expand_as")
def aten_expand_as(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::expand_as(Tensor(a) self, Tensor other) -> Tensor(a)"""
    x, other = _x(ctx, node), ctx.tensor(node.input("other"))
    y = ctx.op("Expand", x, ctx.op("Shape", other))
    return _refine(y, _dims(other)) if other.shape is not None else y


@handler("aten::repeat")
def aten_repeat(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::repeat(Tensor self, SymInt[] repeats) -> Tensor"""
    x = _x(ctx, node)
    ts_repeats = node.input("repeats")
    entries = _size_entries(ctx, ts_repeats)
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
@handler("aten::slice")
def aten_slice(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None,
    SymInt step=1) -> Tensor(a); also slice.t on a list"""
    if node.overload != "Tensor":
        return _slice_list(ctx, node)
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
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
        _one_elem(ctx, start_v, 0),
        _one_elem(ctx, end_v, INT64_MAX),
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
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
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
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
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
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    chunks = ctx.const_int(node.input("chunks"))
    size = _static_size(ctx, x, axis, "chunk")
    step = -(-size // chunks) if size else 1
    return _split(ctx, x, _pieces(size, step), axis)


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
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    arg = node.inputs[1]
    value = ctx.const(arg)
    if isinstance(value, list | tuple):
        return _split(ctx, x, [int(v) for v in value], axis)
    size = _static_size(ctx, x, axis, "split")
    return _split(ctx, x, _pieces(size, int(value)), axis)  # type: ignore[call-overload]


@handler("aten::unbind.int")
def aten_unbind(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]"""
    x = _x(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(x))
    size = _static_size(ctx, x, axis, "unbind")
    if size == 1:
        return [ctx.op("Squeeze", x, ctx.constant([axis], INT64))]
    pieces = _split(ctx, x, [1] * size, axis)
    return [ctx.op("Squeeze", p, ctx.constant([axis], INT64)) for p in pieces]


# ---- joining ---------------------------------------------------------------------------------
def _joined(ctx: TranslationContext, node: TSNode) -> list[ir.Value]:
    tensors = _tensor_list(ctx, node.input("tensors"))
    if not tensors:
        raise Unsupported("an empty list of tensors")
    dtype = result_type([(ctx.dtype(t), "tensor") for t in tensors])
    return [ctx.cast(t, dtype) for t in tensors]


@handler("aten::cat")
def aten_cat(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::cat(Tensor[] tensors, int dim=0) -> Tensor"""
    tensors = _joined(ctx, node)
    rank = max(ctx.rank(t) for t in tensors)
    # PyTorch skips 1-D empty tensors (the legacy way to start an accumulation).
    tensors = [t for t in tensors if not (ctx.rank(t) == 1 and ctx.static_dim(t, 0) == 0)] or [
        tensors[0]
    ]
    axis = _axis(ctx.const_int(node.input("dim")), rank)
    return tensors[0] if len(tensors) == 1 else ctx.op("Concat", *tensors, axis=axis)


@handler("aten::stack")
def aten_stack(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::stack(Tensor[] tensors, int dim=0) -> Tensor"""
    tensors = _joined(ctx, node)
    axis = _axis(ctx.const_int(node.input("dim")), ctx.rank(tensors[0]) + 1)
    parts = [ctx.op("Unsqueeze", t, ctx.constant([axis], INT64)) for t in tensors]
    return parts[0] if len(parts) == 1 else ctx.op("Concat", *parts, axis=axis)
