"""Tensor factories: zeros/ones/full/empty and their new_* forms, and tensor literals (ranges
are in ``ranges``, layouts built from a tensor in ``rearrange``).

Sizes computed from ``x.size(...)`` stay computed: they become ONNX shape tensors, so a symbolic
batch dim keeps its freedom.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import (
    Dim,
    dim_of_entry,
    known_dims,
    refine_shape,
    size_entries,
)
from converter.translate.registry import handler

__all__ = ["dtype_arg", "number_dtype", "scalar_of"]

BOOL = ir.DataType.BOOL
FLOAT = ir.DataType.FLOAT
BFLOAT16 = ir.DataType.BFLOAT16
INT64 = ir.DataType.INT64


# ---- arguments -------------------------------------------------------------------------------
def dtype_arg(ctx: TranslationContext, node: TSNode) -> ir.DataType | None:
    """The ``dtype`` argument as an ONNX type, or None when absent or None."""
    if not node.has_input("dtype") or ctx.is_none(node.input("dtype")):
        return None
    try:
        return dtypes.from_scalar_type(ctx.const_int(node.input("dtype")))
    except ValueError as e:
        raise Unsupported(str(e)) from e


def number_dtype(ctx: TranslationContext, ts_value: torch._C.Value) -> ir.DataType:
    """PyTorch's dtype for a tensor made from this number: bool, int64, or float32 (the
    default dtype) for floats."""
    entry = ctx.entry(ts_value)
    if isinstance(entry, bool):
        return BOOL
    if isinstance(entry, int):
        return INT64
    if isinstance(entry, float):
        return FLOAT
    if isinstance(entry, ir.Value):
        kind = ts_value.type().kind()
        if kind == "FloatType":
            return FLOAT
        if kind == "IntType":
            return INT64
        if kind == "BoolType":
            return BOOL
        dtype = ctx.dtype(entry)
        return FLOAT if dtype.is_floating_point() else dtype if dtype == BOOL else INT64
    raise Unsupported(f"cannot tell the type of %{ts_value.debugName()}")


def _size(ctx: TranslationContext, ts_size: torch._C.Value) -> tuple[ir.Value, list[Dim] | None]:
    """A size argument as a 1-D INT64 shape tensor, and what is known about each dim."""
    entries = size_entries(ctx, ts_size)
    sizes = ctx.size_list(ts_size)
    shape = ctx.constant(sizes, INT64) if isinstance(sizes, list) else sizes
    dims = [dim_of_entry(e) for e in entries] if entries is not None else None
    return shape, dims


def scalar_of(ctx: TranslationContext, value: object, dtype: ir.DataType) -> ir.Value:
    """A 0-d tensor of ``dtype`` from a Python number or a run-time value."""
    if isinstance(value, ir.Value):
        v = ctx.cast(value, dtype)
        if v.shape is not None and len(v.shape) != 0:
            v = ctx.op("Reshape", v, ctx.constant([], INT64))
        return v
    return ctx.constant(value, dtype)


def _filled(
    ctx: TranslationContext,
    shape: ir.Value,
    dims: list[Dim] | None,
    fill: object,
    dtype: ir.DataType,
) -> ir.Value:
    """A tensor of ``shape`` filled with a constant or a run-time scalar."""
    if dtype == BFLOAT16:  # ConstantOfShape makes no bfloat16 before opset 20
        y = _filled(ctx, shape, dims, fill, FLOAT)
        return refine_shape(ctx.cast(y, dtype), dims) if dims is not None else ctx.cast(y, dtype)
    if isinstance(fill, ir.Value):
        y = ctx.op("Expand", scalar_of(ctx, fill, dtype), shape)
    else:
        value = np.array([fill]).astype(dtypes.to_numpy(dtype))
        y = ctx.op("ConstantOfShape", shape, value=ir.tensor(value, dtype=dtype))
    return refine_shape(y, dims) if dims is not None else y


def _fill_value(ctx: TranslationContext, ts_value: torch._C.Value) -> object:
    entry = ctx.entry(ts_value)
    if isinstance(entry, bool | int | float):
        return entry
    if isinstance(entry, ir.Value) and entry.const_value is not None:
        return ctx.const(ts_value)
    return ctx.tensor(ts_value)


# ---- fills -----------------------------------------------------------------------------------
@handler("aten::zeros", "aten::ones")
def aten_zeros(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::zeros(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device?
    device=None, bool? pin_memory=None) -> Tensor; aten::ones likewise"""
    if node.overload not in ("",):
        raise Unsupported(f"the {node.overload!r} overload of {node.kind}")
    shape, dims = _size(ctx, node.input("size"))
    fill = 0 if node.kind == "aten::zeros" else 1
    return _filled(ctx, shape, dims, fill, dtype_arg(ctx, node) or FLOAT)


@handler("aten::full")
def aten_full(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, ...) -> Tensor
    (without dtype: bool, int64 or float32 after the fill value, as PyTorch infers it)"""
    if node.overload not in ("",):
        raise Unsupported(f"the {node.overload!r} overload of aten::full")
    shape, dims = _size(ctx, node.input("size"))
    fill_v = node.input("fill_value")
    dtype = dtype_arg(ctx, node) or number_dtype(ctx, fill_v)
    return _filled(ctx, shape, dims, _fill_value(ctx, fill_v), dtype)


@handler("aten::new_zeros", "aten::new_ones", "aten::new_full")
def aten_new_zeros(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::new_zeros(Tensor self, SymInt[] size, *, ScalarType? dtype=None, ...) -> Tensor;
    new_ones likewise; new_full(Tensor self, SymInt[] size, Scalar fill_value, ...)"""
    x = ctx.tensor(node.input("self"))
    shape, dims = _size(ctx, node.input("size"))
    dtype = dtype_arg(ctx, node) or ctx.dtype(x)
    if node.kind == "aten::new_full":
        fill = _fill_value(ctx, node.input("fill_value"))
    else:
        fill = 0 if node.kind == "aten::new_zeros" else 1
    return _filled(ctx, shape, dims, fill, dtype)


# Ops that read only the shape, dtype or device of their first input, never its values.
_METADATA_USERS = frozenset(
    {
        "aten::size",
        "aten::dim",
        "aten::numel",
        "aten::len",
        "prim::dtype",
        "prim::device",
        "prim::layout",
        "aten::zeros_like",
        "aten::ones_like",
        "aten::full_like",
        "aten::empty_like",
        "aten::new_zeros",
        "aten::new_ones",
        "aten::new_full",
        "aten::new_empty",
    }
)


def _values_read_by(value: torch._C.Value) -> str | None:
    """The first op that reads the values of ``value``, or None if only its metadata is used."""
    for use in value.uses():
        kind = use.user.kind()
        if kind in _METADATA_USERS and use.offset == 0:
            continue
        if kind in ("aten::fill_", "aten::zero_") and use.offset == 0:
            continue  # overwrites every element without reading
        return kind
    return None


def _empty(
    ctx: TranslationContext,
    node: TSNode,
    shape: ir.Value,
    dims: list[Dim] | None,
    dtype: ir.DataType,
) -> ir.Value:
    """torch.empty is uninitialized memory: translated (as zeros) only when nothing reads it."""
    reader = _values_read_by(node.outputs[0])
    holds_nothing = dims is not None and 0 in dims
    if reader is not None and not holds_nothing:
        raise Unsupported(
            f"{node.kind} leaves its memory uninitialized and the model reads it (in {reader}) "
            "before writing every element, so the result has no defined value to reproduce; "
            "use torch.zeros or torch.full instead"
        )
    return _filled(ctx, shape, dims, 0, dtype)


@handler("aten::empty")
def aten_empty(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::empty.memory_format(SymInt[] size, *, ScalarType? dtype=None, ...) -> Tensor,
    when only its shape and dtype are used, or it holds no elements"""
    if node.overload not in ("", "memory_format"):
        raise Unsupported(f"the {node.overload!r} overload of aten::empty")
    shape, dims = _size(ctx, node.input("size"))
    return _empty(ctx, node, shape, dims, dtype_arg(ctx, node) or FLOAT)


@handler("aten::new_empty")
def aten_new_empty(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::new_empty(Tensor self, SymInt[] size, *, ScalarType? dtype=None, ...) -> Tensor,
    when only its shape and dtype are used"""
    x = ctx.tensor(node.input("self"))
    shape, dims = _size(ctx, node.input("size"))
    return _empty(ctx, node, shape, dims, dtype_arg(ctx, node) or ctx.dtype(x))


@handler("aten::empty_like")
def aten_empty_like(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::empty_like(Tensor self, *, ScalarType? dtype=None, ...) -> Tensor, when only its
    shape and dtype are used"""
    x = ctx.tensor(node.input("self"))
    dims = known_dims(x) if x.shape is not None else None
    return _empty(ctx, node, ctx.op("Shape", x), dims, dtype_arg(ctx, node) or ctx.dtype(x))


# ---- tensor literals -------------------------------------------------------------------------
def _literal_dtype(items: object) -> ir.DataType:
    """PyTorch's dtype for torch.tensor(data): float32 if any float, else int64, else bool."""
    flat = _flatten(items)
    if any(isinstance(v, float) for v in flat):
        return FLOAT
    if any(
        isinstance(v, ir.Value) and v.dtype is not None and v.dtype.is_floating_point()
        for v in flat
    ):
        return FLOAT
    if all(isinstance(v, bool) or (isinstance(v, ir.Value) and v.dtype == BOOL) for v in flat):
        return BOOL if flat else FLOAT
    return INT64


def _flatten(items: object) -> list[object]:
    if isinstance(items, list | tuple):
        return [v for item in items for v in _flatten(item)]
    return [items]


def _nested_shape(items: object) -> list[int]:
    if isinstance(items, list | tuple):
        return [len(items), *(_nested_shape(items[0]) if items else [])]
    return []


def _literal(ctx: TranslationContext, data: object, dtype: ir.DataType) -> ir.Value:
    flat = _flatten(data)
    shape = _nested_shape(data)
    if not any(isinstance(v, ir.Value) for v in flat):
        array = np.array(flat, dtype=np.float64 if flat else np.float32).reshape(shape)
        if all(isinstance(v, bool | int) for v in flat):
            array = np.array(flat, dtype=np.int64).reshape(shape)
        return ctx.constant(array, dtype)
    if not shape:
        return scalar_of(ctx, data, dtype)
    parts = [ctx.op("Reshape", scalar_of(ctx, v, dtype), ctx.constant([1], INT64)) for v in flat]
    y = ctx.op("Concat", *parts, axis=0) if len(parts) > 1 else parts[0]
    return ctx.op("Reshape", y, ctx.constant(shape, INT64)) if len(shape) > 1 else y


@handler("aten::tensor", "aten::as_tensor")
def aten_tensor(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::tensor(t[] data, *, ScalarType? dtype=None, Device? device=None, bool
    requires_grad=False) -> Tensor; tensor.int/.float/.bool (one number); as_tensor.list"""
    data_v = node.inputs[0]
    entry = ctx.entry(data_v)
    if isinstance(ctx.entry(data_v), ir.Value) and isinstance(data_v.type(), torch._C.TensorType):
        x = ctx.tensor(data_v)  # as_tensor(Tensor data, ...): a cast at most
        target = dtype_arg(ctx, node)
        return x if target is None else ctx.cast(x, target)
    dtype = dtype_arg(ctx, node) or _literal_dtype(entry)
    return _literal(ctx, entry, dtype)


@handler("aten::scalar_tensor")
def aten_scalar_tensor(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::scalar_tensor(Scalar s, *, ScalarType? dtype=None, ...) -> Tensor (float32 by
    default, even for an int)"""
    return scalar_of(ctx, ctx.entry(node.input("s")), dtype_arg(ctx, node) or FLOAT)
