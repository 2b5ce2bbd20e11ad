"""Reductions: mean, sum, prod, amax/amin, max/min (full, along a dim, binary), argmax/argmin."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

INT64 = ir.DataType.INT64

# Ops whose axes became an input in opset 18 (ReduceSum's did in opset 13).
_AXES_INPUT_SINCE = {"ReduceSum": 13}


def _reduce(
    ctx: TranslationContext, op_type: str, x: ir.Value, axes: list[int] | None, keepdim: bool
) -> ir.Value:
    """Reduce over ``axes`` (None: every dim), axes as input or attribute as the opset wants."""
    keepdims = int(keepdim)
    if axes is None:
        return ctx.op(op_type, x, keepdims=keepdims)
    if ctx.opset >= _AXES_INPUT_SINCE.get(op_type, 18):
        return ctx.op(op_type, x, ctx.constant(axes, INT64), keepdims=keepdims)
    return ctx.op(op_type, x, axes=axes, keepdims=keepdims)


def _axes(
    ctx: TranslationContext, node: TSNode, x: ir.Value, name: str = "dim"
) -> list[int] | None:
    """The reduced dims, normalized; None for all dims (a None or empty dim list)."""
    if not node.has_input(name) or ctx.is_none(node.input(name)):
        return None
    dims = ctx.const_ints(node.input(name))
    if not dims:
        return None
    rank = ctx.rank(x)
    span = max(rank, 1)
    for d in dims:
        if not -span <= d < span:
            raise Unsupported(f"dim {d} is out of range for a tensor of rank {rank}")
    return sorted({d % span for d in dims}) if rank else None


def _keepdim(ctx: TranslationContext, node: TSNode) -> bool:
    return bool(ctx.const(node.input("keepdim"))) if node.has_input("keepdim") else False


def _with_dtype(ctx: TranslationContext, node: TSNode, x: ir.Value) -> ir.Value:
    """Cast to the ``dtype`` argument first, as PyTorch does."""
    if node.has_input("dtype") and not ctx.is_none(node.input("dtype")):
        try:
            target = dtypes.from_scalar_type(ctx.const_int(node.input("dtype")))
        except ValueError as e:
            raise Unsupported(str(e)) from e
        return ctx.cast(x, target)
    return x


def _integral_to_int64(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """Sum and prod of bool and integer tensors are int64 in PyTorch."""
    return x if ctx.dtype(x).is_floating_point() else ctx.cast(x, INT64)


@handler("aten::mean")
def aten_mean(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::mean(Tensor self, *, ScalarType? dtype=None) -> Tensor; mean.dim(Tensor self,
    int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"""
    x = _with_dtype(ctx, node, ctx.tensor(node.input("self")))
    if not ctx.dtype(x).is_floating_point():
        raise Unsupported(f"mean of a {ctx.dtype(x).name} tensor (PyTorch refuses it too)")
    return _reduce(ctx, "ReduceMean", x, _axes(ctx, node, x), _keepdim(ctx, node))


@handler("aten::sum")
def aten_sum(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::sum(Tensor self, *, ScalarType? dtype=None) -> Tensor; sum.dim_IntList(Tensor self,
    int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor; sum.int/float/bool
    of a constant list"""
    if node.overload in ("int", "float", "bool", "complex"):
        values = ctx.const(node.inputs[0])
        if not isinstance(values, list | tuple):
            raise Unsupported("sum of a list computed at run time")
        return sum(values)
    x = ctx.tensor(node.input("self"))
    cast = _with_dtype(ctx, node, x)
    x = _integral_to_int64(ctx, x) if cast is x else cast
    return _reduce(ctx, "ReduceSum", x, _axes(ctx, node, x), _keepdim(ctx, node))


@handler("aten::prod")
def aten_prod(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::prod(Tensor self, *, ScalarType? dtype=None) -> Tensor; prod.dim_int(Tensor self,
    int dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor"""
    x = ctx.tensor(node.input("self"))
    cast = _with_dtype(ctx, node, x)
    x = _integral_to_int64(ctx, x) if cast is x else cast
    return _reduce(ctx, "ReduceProd", x, _axes(ctx, node, x), _keepdim(ctx, node))


def _orderable(ctx: TranslationContext, x: ir.Value) -> ir.Value:
    """ONNX Reduce{Max,Min} and ArgMax/ArgMin take no bool before opset 20: compare as int32."""
    return ctx.cast(x, ir.DataType.INT32) if ctx.dtype(x) == ir.DataType.BOOL else x


def _restore(ctx: TranslationContext, y: ir.Value, like: ir.Value) -> ir.Value:
    return ctx.cast(y, ir.DataType.BOOL) if ctx.dtype(like) == ir.DataType.BOOL else y


@handler("aten::amax", "aten::amin")
def aten_amax(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor; amin likewise"""
    x = ctx.tensor(node.input("self"))
    op_type = "ReduceMax" if node.kind == "aten::amax" else "ReduceMin"
    y = _reduce(ctx, op_type, _orderable(ctx, x), _axes(ctx, node, x), _keepdim(ctx, node))
    return _restore(ctx, y, x)


@handler("aten::max", "aten::min")
def aten_max(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """aten::max(Tensor self) -> Tensor; max.dim(Tensor self, int dim, bool keepdim=False) ->
    (Tensor values, Tensor indices); max.other(Tensor self, Tensor other) -> Tensor; min likewise"""
    is_max = node.kind == "aten::max"
    if node.overload == "other":
        (x, y), _ = ctx.operands(node.input("self"), node.input("other"))
        return ctx.op("Max" if is_max else "Min", x, y)
    if node.overload not in ("", "dim"):
        raise Unsupported(f"{node.qualified_kind} (an out= variant)")
    x = ctx.tensor(node.input("self"))
    ordered = _orderable(ctx, x)
    op_type = "ReduceMax" if is_max else "ReduceMin"
    if node.overload == "":
        return _restore(ctx, _reduce(ctx, op_type, ordered, None, False), x)
    keepdim = _keepdim(ctx, node)
    axes = _axes(ctx, node, x)
    if axes is None:  # a 0-d tensor: itself, at index 0
        return x, ctx.constant(0, INT64)
    values = _restore(ctx, _reduce(ctx, op_type, ordered, axes, keepdim), x)
    arg = "ArgMax" if is_max else "ArgMin"
    indices = ctx.op(arg, ordered, axis=axes[0], keepdims=int(keepdim))
    return values, indices


@handler("aten::argmax", "aten::argmin")
def aten_argmax(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor; argmin likewise"""
    x = _orderable(ctx, ctx.tensor(node.input("self")))
    op_type = "ArgMax" if node.kind == "aten::argmax" else "ArgMin"
    keepdim = _keepdim(ctx, node)
    rank = ctx.rank(x)
    if ctx.is_none(node.input("dim")) or rank == 0:
        flat = ctx.op("Reshape", x, ctx.constant([-1], INT64))
        index = ctx.op(op_type, flat, axis=0, keepdims=0)
        if keepdim:
            return ctx.op("Reshape", index, ctx.constant([1] * rank, INT64))
        return index
    dim = ctx.const_int(node.input("dim"))
    if not -rank <= dim < rank:
        raise Unsupported(f"dim {dim} is out of range for a tensor of rank {rank}")
    return ctx.op(op_type, x, axis=dim % rank, keepdims=int(keepdim))
