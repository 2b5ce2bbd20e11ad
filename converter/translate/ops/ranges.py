"""Ranges: arange, linspace and eye. Values follow PyTorch's CPU kernels (arange computes
``start + i * step`` in float64, linspace fills from both ends)."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.creation import dtype_arg, number_dtype, scalar_of
from converter.translate.ops.shape_util import (
    dim_of_entry,
    refine_shape,
)
from converter.translate.registry import handler

FLOAT = ir.DataType.FLOAT
DOUBLE = ir.DataType.DOUBLE
INT64 = ir.DataType.INT64

__all__: list[str] = []


# ---- ranges ----------------------------------------------------------------------------------
def _is_float_arg(ctx: TranslationContext, ts_value: torch._C.Value) -> bool:
    entry = ctx.entry(ts_value)
    if isinstance(entry, bool | int):
        return False
    if isinstance(entry, float):
        return True
    return number_dtype(ctx, ts_value).is_floating_point()


def _as_0d(ctx: TranslationContext, ts_value: torch._C.Value, dtype: ir.DataType) -> ir.Value:
    return scalar_of(ctx, ctx.entry(ts_value), dtype)


@handler("aten::arange")
def aten_arange(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::arange(Scalar end, *, ScalarType? dtype=None, ...) -> Tensor; arange.start(Scalar
    start, Scalar end, ...); arange.start_step(Scalar start, Scalar end, Scalar step=1, ...).
    Without dtype: int64 if every bound is an integer, else float32. An integer dtype truncates
    the bounds first, as PyTorch does."""
    if node.overload not in ("", "start", "start_step"):
        raise Unsupported(f"the {node.overload!r} overload of aten::arange (writes into a tensor)")
    args = {"start": 0, "end": None, "step": 1}
    values = {k: node.input(k) if node.has_input(k) else None for k in args}
    floats = any(v is not None and _is_float_arg(ctx, v) for v in values.values())
    dtype = dtype_arg(ctx, node) or (FLOAT if floats else INT64)
    if not dtype.is_floating_point():
        floats = False  # PyTorch truncates every bound to an integer first

    def arg(name: str, as_type: ir.DataType) -> ir.Value:
        ts_value = values[name]
        if ts_value is None:
            return ctx.constant(args[name], as_type)
        return _as_0d(ctx, ts_value, as_type)

    if not floats:
        y = ctx.op("Range", arg("start", INT64), arg("end", INT64), arg("step", INT64))
        if values["start"] is None and values["step"] is None and values["end"] is not None:
            refine_shape(y, [dim_of_entry(ctx.entry(values["end"]))])
        return ctx.cast(y, dtype)
    # PyTorch: size = ceil((end - start) / step) and value i = start + i * step, in float64
    start, end, step = arg("start", DOUBLE), arg("end", DOUBLE), arg("step", DOUBLE)
    count = ctx.op("Ceil", ctx.op("Div", ctx.op("Sub", end, start), step))
    index = ctx.op("Range", ctx.constant(0, INT64), ctx.cast(count, INT64), ctx.constant(1, INT64))
    y = ctx.op("Add", start, ctx.op("Mul", ctx.cast(index, DOUBLE), step))
    return ctx.cast(y, dtype)


@handler("aten::linspace")
def aten_linspace(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::linspace(Scalar start, Scalar end, int steps, *, ScalarType? dtype=None, ...) ->
    Tensor; as PyTorch's kernel: the first half counts up from start, the rest down from end"""
    if node.overload not in ("",):
        raise Unsupported(f"the {node.overload!r} overload of aten::linspace")
    dtype = dtype_arg(ctx, node) or FLOAT
    work = DOUBLE if not dtype.is_floating_point() or dtype == DOUBLE else FLOAT
    # PyTorch converts start and end to the result dtype first
    start = ctx.cast(ctx.cast(_as_0d(ctx, node.input("start"), DOUBLE), dtype), work)
    end = ctx.cast(ctx.cast(_as_0d(ctx, node.input("end"), DOUBLE), dtype), work)
    steps = _as_0d(ctx, node.input("steps"), INT64)
    one = ctx.constant(1, INT64)
    index = ctx.op("Range", ctx.constant(0, INT64), steps, one)
    last = ctx.op("Sub", steps, one)
    step = ctx.op("Div", ctx.op("Sub", end, start), ctx.cast(last, work))
    up = ctx.op("Add", start, ctx.op("Mul", step, ctx.cast(index, work)))
    down = ctx.op("Sub", end, ctx.op("Mul", step, ctx.cast(ctx.op("Sub", last, index), work)))
    halfway = ctx.op("Div", steps, ctx.constant(2, INT64))
    y = ctx.op("Where", ctx.op("Less", index, halfway), up, down)
    y = ctx.op("Where", ctx.op("Equal", steps, one), start, y)  # one step: just start
    if isinstance(ctx.entry(node.input("steps")), int | ir.Value):
        refine_shape(y, [dim_of_entry(ctx.entry(node.input("steps")))])
    return ctx.cast(y, dtype)


@handler("aten::eye")
def aten_eye(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::eye(SymInt n, *, ScalarType? dtype=None, ...) -> Tensor; eye.m(SymInt n, SymInt m,
    ...)"""
    if node.overload not in ("", "m"):
        raise Unsupported(f"the {node.overload!r} overload of aten::eye")
    n_v = node.input("n")
    m_v = node.input("m") if node.has_input("m") else n_v
    zero, one = ctx.constant(0, INT64), ctx.constant(1, INT64)
    rows = ctx.op("Range", zero, _as_0d(ctx, n_v, INT64), one)
    cols = ctx.op("Range", zero, _as_0d(ctx, m_v, INT64), one)
    y = ctx.op(
        "Equal",
        ctx.op("Unsqueeze", rows, ctx.constant([1], INT64)),
        ctx.op("Unsqueeze", cols, ctx.constant([0], INT64)),
    )
    refine_shape(y, [dim_of_entry(ctx.entry(n_v)), dim_of_entry(ctx.entry(m_v))])
    return ctx.cast(y, dtype_arg(ctx, node) or FLOAT)
