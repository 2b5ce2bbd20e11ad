"""Helpers shared by the shape and slicing handlers: dims, sizes, shape tensors, splits."""

from __future__ import annotations

import math
from collections.abc import Sequence

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.prim import SYMBOLIC_DIM

__all__ = [
    "INT64",
    "INT64_MAX",
    "Dim",
    "dim_of_entry",
    "erf",
    "first_input",
    "infer_minus_one",
    "is_view",
    "known_dims",
    "norm_axis",
    "one_element",
    "refine_shape",
    "reshape_to",
    "shape_range",
    "shape_tensor",
    "size_entries",
    "split_at",
    "static_size",
    "tensor_list",
]

INT64_MAX = 9223372036854775807
INT64 = ir.DataType.INT64

# What is known about one dim: its size, its symbolic name, or nothing (None).
Dim = int | str | None


def first_input(ctx: TranslationContext, node: TSNode) -> ir.Value:
    return ctx.tensor(node.inputs[0])


def norm_axis(dim: int, rank: int) -> int:
    """A dim in [0, rank), from PyTorch's possibly negative one."""
    span = max(rank, 1)  # a 0-d tensor takes dim 0 or -1
    if not -span <= dim < span:
        raise Unsupported(f"dim {dim} is out of range for a tensor of rank {rank}")
    return dim % span


def known_dims(x: ir.Value) -> list[Dim]:
    """What is known about each dim of ``x`` (its rank must be known)."""
    assert x.shape is not None
    out: list[Dim] = []
    for d in x.shape:
        out.append(d if isinstance(d, int) else d.value)
    return out


def dim_of_entry(entry: Entry) -> Dim:
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


def refine_shape(y: ir.Value, dims: Sequence[Dim]) -> ir.Value:
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


def infer_minus_one(in_dims: Sequence[Dim], out_dims: list[Dim]) -> list[Dim]:
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


def size_entries(ctx: TranslationContext, ts_value: torch._C.Value) -> list[Entry] | None:
    """The elements of an int-list argument, or None when the whole list is a run-time tensor."""
    entry = ctx.entry(ts_value)
    if isinstance(entry, list | tuple):
        return list(entry)
    if isinstance(entry, ir.Value) and entry.const_value is not None:
        return [int(v) for v in entry.const_value.numpy().reshape(-1)]
    return None


def reshape_to(ctx: TranslationContext, x: ir.Value, ts_size: torch._C.Value) -> ir.Value:
    """Reshape ``x`` to a PyTorch size argument (constant or partly computed at run time)."""
    entries = size_entries(ctx, ts_size)
    if ctx.is_const(ts_size):
        sizes = ctx.const_ints(ts_size)
        zero = 0 in sizes
        y = ctx.op("Reshape", x, ctx.constant(sizes, INT64), allowzero=1 if zero else None)
        out_dims: list[Dim] = list(sizes)
    else:
        shape = ctx.size_list(ts_size)
        assert isinstance(shape, ir.Value)
        out_dims = [dim_of_entry(e) for e in entries] if entries is not None else []
        zero = 0 in out_dims
        y = ctx.op("Reshape", x, shape, allowzero=1 if zero else None)
    if entries is not None and x.shape is not None:
        refine_shape(y, infer_minus_one(known_dims(x), out_dims))
    return y


def shape_tensor(ctx: TranslationContext, dims: Sequence[int | ir.Value]) -> ir.Value:
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


def shape_range(ctx: TranslationContext, x: ir.Value, start: int, end: int) -> list[int | ir.Value]:
    """Dims [start, end) of ``x``: ints where static, a Shape slice where not."""
    dims = known_dims(x)[start:end]
    ints = [d for d in dims if isinstance(d, int)]
    if len(ints) == len(dims):
        return list(ints)
    return [ctx.op("Shape", x, start=start, end=end)]


def one_element(ctx: TranslationContext, ts_value: torch._C.Value, default: int) -> ir.Value:
    """An optional int argument (constant or 0-d run-time tensor) as a 1-element INT64 tensor."""
    if ctx.is_none(ts_value):
        return ctx.constant([default], INT64)
    if ctx.is_const(ts_value):
        return ctx.constant([ctx.const_int(ts_value)], INT64)
    value = ctx.tensor(ts_value, INT64)
    return ctx.op("Reshape", value, ctx.constant([1], INT64))


def tensor_list(ctx: TranslationContext, ts_value: torch._C.Value) -> list[ir.Value]:
    entry = ctx.entry(ts_value)
    if not isinstance(entry, list | tuple):
        raise Unsupported("the list of tensors is computed at run time")
    return [ctx.as_tensor(e) for e in entry]


def split_at(ctx: TranslationContext, x: ir.Value, sizes: list[int], axis: int) -> list[ir.Value]:
    """Split ``x`` along ``axis`` into pieces of the given sizes."""
    if len(sizes) == 1:
        return [x]
    outs = ctx.op_multi("Split", x, ctx.constant(sizes, INT64), axis=axis, num_outputs=len(sizes))
    return list(outs)


def static_size(ctx: TranslationContext, x: ir.Value, axis: int, what: str) -> int:
    size = ctx.static_dim(x, axis)
    if size is None:
        raise Unsupported(
            f"{what} along dim {axis}, whose size is only known at run time: the number of "
            "pieces would depend on it; convert with that dim static"
        )
    return size


# ---- reshapes --------------------------------------------------------------------------------


def is_view(raw: torch._C.Node) -> bool:
    """True if the node's output may share memory with its first input."""
    kind = raw.kind()
    if kind in ("prim::Param", "prim::Constant"):
        return False
    if not kind.startswith("aten::"):
        return True  # unknown: treated as a view (refused when written through)
    schema = raw.schema()
    if schema == "(no schema)":
        return True
    returns = torch._C.parse_schema(schema).returns
    return any(r.alias_info is not None for r in returns)


def erf(ctx: TranslationContext, x: ir.Value, what: str) -> ir.Value:
    """ONNX Erf; refused for float64, which ONNX Runtime's CPU provider has no kernel for (and
    float32's erf is about 1e-7 off, far from float64's precision)."""
    if ctx.dtype(x) == ir.DataType.DOUBLE:
        raise Unsupported(
            f"{what} of a float64 tensor: ONNX Runtime's CPU provider has no float64 Erf "
            "kernel, and computing it in float32 would not match PyTorch; cast to float32 first"
        )
    return ctx.op("Erf", x)
