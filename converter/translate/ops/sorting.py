"""Sorting and scans: topk, sort, argsort, msort, cumsum, cumprod, unique.

ONNX TopK breaks ties by index (the lower index first), so sort and argsort match PyTorch's
``stable=True`` exactly, ties included. Without ``stable`` PyTorch may order ties another way;
any order is correct there, and parity holds whenever the values are distinct.
"""

from __future__ import annotations

import itertools

import numpy as np
import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.shape_util import (
    INT64,
    first_input,
    norm_axis,
    shape_range,
    shape_tensor,
)
from converter.translate.registry import handler

__all__: list[str] = []

BOOL = ir.DataType.BOOL
FLOAT = ir.DataType.FLOAT
DOUBLE = ir.DataType.DOUBLE

# Element types ONNX Runtime's CPU kernels take; others are computed in an exact wider type.
_TOPK_TYPES = {
    ir.DataType.UINT8,
    ir.DataType.INT8,
    ir.DataType.INT16,
    ir.DataType.INT32,
    INT64,
    ir.DataType.FLOAT16,
    FLOAT,
    DOUBLE,
}
_CUMSUM_TYPES = {ir.DataType.INT32, INT64, ir.DataType.FLOAT16, FLOAT, DOUBLE}
_UNIQUE_TYPES = {ir.DataType.INT8, INT64, ir.DataType.FLOAT16, FLOAT, DOUBLE}

_scan_ids = itertools.count()


def _wider(dtype: ir.DataType, allowed: set[ir.DataType]) -> ir.DataType:
    """``dtype`` if allowed, else a type that holds every value of it exactly."""
    if dtype in allowed:
        return dtype
    if dtype.is_floating_point():
        return FLOAT if FLOAT in allowed else DOUBLE
    return INT64


def _dtype_arg(ctx: TranslationContext, node: TSNode) -> ir.DataType | None:
    if not node.has_input("dtype") or ctx.is_none(node.input("dtype")):
        return None
    try:
        return dtypes.from_scalar_type(ctx.const_int(node.input("dtype")))
    except ValueError as e:
        raise Unsupported(str(e)) from e


def _axis(ctx: TranslationContext, node: TSNode, x: ir.Value, name: str = "dim") -> int:
    return norm_axis(ctx.const_int(node.input(name)), ctx.rank(x))


def _flag(ctx: TranslationContext, node: TSNode, name: str, default: bool) -> bool:
    if not node.has_input(name) or ctx.is_none(node.input(name)):
        return default
    return bool(ctx.const(node.input(name)))


# ---- topk and sort ---------------------------------------------------------------------------
def _top(
    ctx: TranslationContext, x: ir.Value, k: ir.Value, axis: int, largest: bool
) -> tuple[ir.Value, ir.Value]:
    """Values and indices of the k largest (or smallest) along ``axis``, sorted."""
    dtype = ctx.dtype(x)
    work = _wider(dtype, _TOPK_TYPES)
    values, indices = ctx.op_multi(
        "TopK", ctx.cast(x, work), k, num_outputs=2, axis=axis, largest=int(largest), sorted=1
    )
    return ctx.cast(values, dtype), indices


def _whole(ctx: TranslationContext, x: ir.Value, axis: int) -> ir.Value:
    size = ctx.static_dim(x, axis)
    if size is not None:
        return ctx.constant([size], INT64)
    return ctx.op("Shape", x, start=axis, end=axis + 1)


@handler("aten::topk")
def aten_topk(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True)
    -> (Tensor values, Tensor indices); sorted=False may give any order: it gives the sorted one"""
    x = first_input(ctx, node)
    if ctx.rank(x) == 0:
        raise Unsupported("topk of a 0-d tensor")
    axis = _axis(ctx, node, x)
    k_v = node.input("k")
    if ctx.is_const(k_v):
        k = ctx.constant([ctx.const_int(k_v)], INT64)
    else:
        k = ctx.op("Reshape", ctx.tensor(k_v, INT64), ctx.constant([1], INT64))
    return _top(ctx, x, k, axis, _flag(ctx, node, "largest", True))


def _sorted(ctx: TranslationContext, node: TSNode) -> tuple[ir.Value, ir.Value]:
    x = first_input(ctx, node)
    if ctx.rank(x) == 0:
        return x, ctx.constant(0, INT64)
    axis = _axis(ctx, node, x) if node.has_input("dim") else 0
    descending = _flag(ctx, node, "descending", False)
    return _top(ctx, x, _whole(ctx, x, axis), axis, descending)


@handler("aten::sort")
def aten_sort(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor
    indices); sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False)"""
    if node.overload not in ("", "stable"):
        raise Unsupported(f"{node.qualified_kind}")
    return _sorted(ctx, node)


@handler("aten::argsort")
def aten_argsort(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::argsort(Tensor self, int dim=-1, bool descending=False) -> Tensor;
    argsort.stable(Tensor self, *, bool stable, int dim=-1, bool descending=False)"""
    return _sorted(ctx, node)[1]


@handler("aten::msort")
def aten_msort(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::msort(Tensor self) -> Tensor (values sorted along dim 0)"""
    return _sorted(ctx, node)[0]


# ---- cumulative ops --------------------------------------------------------------------------
def _accumulated(ctx: TranslationContext, node: TSNode) -> tuple[ir.Value, ir.DataType]:
    """The input cast as PyTorch does: to ``dtype`` if given, else integers and bools to int64."""
    x = first_input(ctx, node)
    target = _dtype_arg(ctx, node)
    if target is None:
        target = ctx.dtype(x) if ctx.dtype(x).is_floating_point() else INT64
    return ctx.cast(x, target), target


@handler("aten::cumsum", "aten::cumsum_")
def aten_cumsum(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor"""
    x, dtype = _accumulated(ctx, node)
    if ctx.rank(x) == 0:
        return x
    axis = _axis(ctx, node, x)
    work = _wider(dtype, _CUMSUM_TYPES)
    y = ctx.op("CumSum", ctx.cast(x, work), ctx.constant(axis, INT64))
    return ctx.cast(y, dtype)


@handler("aten::cumprod", "aten::cumprod_")
def aten_cumprod(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor

    ONNX has no CumProd: a Scan multiplies the slices along ``dim`` one after another, in
    PyTorch's order, so zeros and negative values come out exactly (no log/exp)."""
    x, dtype = _accumulated(ctx, node)
    rank = ctx.rank(x)
    if rank == 0:
        return x
    axis = _axis(ctx, node, x)
    if dtype == BOOL:
        raise Unsupported("cumprod with dtype=bool")
    rest = [*shape_range(ctx, x, 0, axis), *shape_range(ctx, x, axis + 1, rank)]
    one = np.ones([1], dtype=dtypes.to_numpy(dtype))
    start = ctx.op("ConstantOfShape", shape_tensor(ctx, rest), value=ir.tensor(one, dtype=dtype))
    body = _product_body(dtype, rank - 1)
    _, y = ctx.op_multi(
        "Scan",
        start,
        x,
        num_outputs=2,
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[axis],
        scan_output_axes=[axis],
    )
    if x.shape is not None:
        y.shape = ir.Shape(list(x.shape))
        y.type = ir.TensorType(dtype)
    return y


def _product_body(dtype: ir.DataType, rank: int) -> ir.Graph:
    """Scan body: (product so far, next slice) -> (product, product)."""
    n = next(_scan_ids)
    shape = ir.Shape([None] * rank)
    state = ir.Value(name=f"cumprod{n}_state", type=ir.TensorType(dtype), shape=shape)
    item = ir.Value(name=f"cumprod{n}_item", type=ir.TensorType(dtype), shape=shape)
    mul = ir.Node("", "Mul", [state, item], num_outputs=1, name=f"cumprod{n}_mul")
    mul.outputs[0].name = f"cumprod{n}_product"
    copy = ir.Node("", "Identity", [mul.outputs[0]], num_outputs=1, name=f"cumprod{n}_copy")
    copy.outputs[0].name = f"cumprod{n}_out"
    for out in (mul.outputs[0], copy.outputs[0]):
        out.type, out.shape = ir.TensorType(dtype), shape
    return ir.Graph(
        [state, item], [mul.outputs[0], copy.outputs[0]], nodes=[mul, copy], name=f"cumprod{n}"
    )


# ---- unique ----------------------------------------------------------------------------------
def _empty(ctx: TranslationContext) -> ir.Value:
    """What PyTorch returns for an output it was not asked for: an empty int64 tensor."""
    return ctx.constant(np.zeros([0], np.int64), INT64)


def _unique(
    ctx: TranslationContext, x: ir.Value, axis: int | None
) -> tuple[ir.Value, ir.Value, ir.Value]:
    """ONNX Unique, sorted: (values, inverse indices, counts)."""
    dtype = ctx.dtype(x)
    work = _wider(dtype, _UNIQUE_TYPES)
    attrs = {"sorted": 1} if axis is None else {"sorted": 1, "axis": axis}
    values, _, inverse, counts = ctx.op_multi(
        "Unique", ctx.cast(x, work), num_outputs=4, attributes=attrs
    )
    return ctx.cast(values, dtype), inverse, counts


@handler("aten::_unique2", "aten::_unique")
def aten_unique(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::_unique2(Tensor self, bool sorted=True, bool return_inverse=False, bool
    return_counts=False) -> (Tensor, Tensor, Tensor); _unique(self, sorted, return_inverse)

    torch.unique flattens the input. PyTorch sorts on CPU whatever ``sorted`` says, and so does
    this translation."""
    x = first_input(ctx, node)
    flat = ctx.op("Reshape", x, ctx.constant([-1], INT64))
    values, inverse, counts = _unique(ctx, flat, None)
    if _flag(ctx, node, "return_inverse", False):
        inverse = ctx.op("Reshape", inverse, ctx.op("Shape", x))
    else:
        inverse = _empty(ctx)
    if node.kind == "aten::_unique":
        return values, inverse
    counts = counts if _flag(ctx, node, "return_counts", False) else _empty(ctx)
    return values, inverse, counts


@handler("aten::unique_dim")
def aten_unique_dim(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::unique_dim(Tensor self, int dim, bool sorted=True, bool return_inverse=False, bool
    return_counts=False) -> (Tensor, Tensor, Tensor): unique slices along dim, sorted"""
    x = first_input(ctx, node)
    values, inverse, counts = _unique(ctx, x, _axis(ctx, node, x))
    if not _flag(ctx, node, "return_inverse", False):
        inverse = _empty(ctx)
    if not _flag(ctx, node, "return_counts", False):
        counts = _empty(ctx)
    return values, inverse, counts
