"""Reductions: mean, sum, prod, amax/amin, max/min (full, along a dim, binary), argmax/argmin,
var/std, vector and Frobenius norms, logsumexp, all/any, count_nonzero and numel."""

from __future__ import annotations

import math

import onnx_ir as ir
import torch

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
    y = _extreme(ctx, op_type, x, _axes(ctx, node, x), _keepdim(ctx, node))
    return _restore(ctx, y, x)


def _extreme(
    ctx: TranslationContext, op_type: str, x: ir.Value, axes: list[int] | None, keepdim: bool
) -> ir.Value:
    """ReduceMax/ReduceMin of any element type; NaN wins, as in PyTorch."""
    if ctx.dtype(x).is_floating_point():
        return _reduce_nan(ctx, op_type, x, axes, keepdim)
    return _reduce(ctx, op_type, _orderable(ctx, x), axes, keepdim)


def _arg_extreme(
    ctx: TranslationContext, op_type: str, x: ir.Value, axis: int, keepdim: bool
) -> ir.Value:
    """ArgMax/ArgMin along ``axis``: the first NaN where there is one, as in PyTorch (ONNX
    Runtime skips NaN)."""
    index = ctx.op(op_type, _orderable(ctx, x), axis=axis, keepdims=int(keepdim))
    if not ctx.dtype(x).is_floating_point():
        return index
    nan = ctx.cast(ctx.op("IsNaN", x), ir.DataType.INT32)
    first_nan = ctx.op("ArgMax", nan, axis=axis, keepdims=int(keepdim))
    has_nan = ctx.cast(_reduce(ctx, "ReduceMax", nan, [axis], keepdim), ir.DataType.BOOL)
    return ctx.op("Where", has_nan, first_nan, index)


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
    op_type = "ReduceMax" if is_max else "ReduceMin"
    if node.overload == "":
        return _restore(ctx, _extreme(ctx, op_type, x, None, False), x)
    keepdim = _keepdim(ctx, node)
    axes = _axes(ctx, node, x)
    if axes is None:  # a 0-d tensor: itself, at index 0
        return x, ctx.constant(0, INT64)
    values = _restore(ctx, _extreme(ctx, op_type, x, axes, keepdim), x)
    indices = _arg_extreme(ctx, "ArgMax" if is_max else "ArgMin", x, axes[0], keepdim)
    return values, indices


@handler("aten::argmax", "aten::argmin")
def aten_argmax(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor; argmin likewise"""
    x = ctx.tensor(node.input("self"))
    op_type = "ArgMax" if node.kind == "aten::argmax" else "ArgMin"
    keepdim = _keepdim(ctx, node)
    rank = ctx.rank(x)
    if ctx.is_none(node.input("dim")) or rank == 0:
        flat = ctx.op("Reshape", x, ctx.constant([-1], INT64))
        index = _arg_extreme(ctx, op_type, flat, 0, False)
        if keepdim:
            return ctx.op("Reshape", index, ctx.constant([1] * rank, INT64))
        return index
    dim = ctx.const_int(node.input("dim"))
    if not -rank <= dim < rank:
        raise Unsupported(f"dim {dim} is out of range for a tensor of rank {rank}")
    return _arg_extreme(ctx, op_type, x, dim % rank, keepdim)


# ---- statistics, norms, logsumexp, all/any, counts -------------------------------------------
FLOAT = ir.DataType.FLOAT
BOOL = ir.DataType.BOOL


def _opmath(dtype: ir.DataType) -> ir.DataType:
    """PyTorch reduces 16-bit floats in float32 on CPU and rounds the result once."""
    return FLOAT if dtype in (ir.DataType.FLOAT16, ir.DataType.BFLOAT16) else dtype


def _float_input(ctx: TranslationContext, node: TSNode, what: str) -> tuple[ir.Value, ir.DataType]:
    """The ``self`` input after its ``dtype`` argument; refused unless it is a float tensor."""
    x = _with_dtype(ctx, node, ctx.tensor(node.input("self")))
    dtype = ctx.dtype(x)
    if not dtype.is_floating_point():
        raise Unsupported(f"{what} of a {dtype.name} tensor (PyTorch refuses it too)")
    return ctx.cast(x, _opmath(dtype)), dtype


def _drop_axes(
    ctx: TranslationContext, y: ir.Value, axes: list[int] | None, keepdim: bool
) -> ir.Value:
    """Remove the kept (size-1) reduced dims of ``y`` unless ``keepdim``."""
    if keepdim:
        return y
    if axes is None:
        return ctx.op("Reshape", y, ctx.constant([], INT64))
    return ctx.op("Squeeze", y, ctx.constant(axes, INT64))


def _count(ctx: TranslationContext, x: ir.Value, axes: list[int] | None) -> int | ir.Value:
    """How many elements each reduction covers: an int, or a 0-d INT64 tensor."""
    picked = list(range(ctx.rank(x))) if axes is None else axes
    sizes = [ctx.static_dim(x, a) for a in picked]
    if all(s is not None for s in sizes):
        n = 1
        for s in sizes:
            n *= s  # type: ignore[operator]
        return n
    dims = ctx.op("Gather", ctx.op("Shape", x), ctx.constant(picked, INT64), axis=0)
    return ctx.op("ReduceProd", dims, keepdims=0)


def _correction(ctx: TranslationContext, node: TSNode) -> float:
    if node.has_input("correction"):
        value = node.input("correction")
        return 1.0 if ctx.is_none(value) else float(ctx.const(value))  # type: ignore[arg-type]
    if node.has_input("unbiased"):
        return 1.0 if ctx.const(node.input("unbiased")) else 0.0
    return 1.0


def _variance(ctx: TranslationContext, node: TSNode) -> tuple[ir.Value, ir.Value, ir.DataType]:
    """(variance, mean kept at size 1) in the compute type, and the result dtype."""
    what = node.kind.removeprefix("aten::")
    x, dtype = _float_input(ctx, node, what)
    work = ctx.dtype(x)
    axes = _axes(ctx, node, x)
    mean = _reduce(ctx, "ReduceMean", x, axes, True)
    diff = ctx.op("Sub", x, mean)
    squares = _reduce(ctx, "ReduceSum", ctx.op("Mul", diff, diff), axes, _keepdim(ctx, node))
    # PyTorch divides by max(N - correction, 0): 0/0 gives NaN, x/0 gives inf
    correction = _correction(ctx, node)
    n = _count(ctx, x, axes)
    if isinstance(n, int):
        divisor = ctx.constant(max(n - correction, 0.0), work)
    else:
        divisor = ctx.op(
            "Max",
            ctx.op("Sub", ctx.cast(n, work), ctx.constant(correction, work)),
            ctx.constant(0.0, work),
        )
    return ctx.op("Div", squares, divisor), mean, dtype


@handler("aten::var", "aten::std")
def aten_var(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::var(Tensor self, bool unbiased=True) -> Tensor; var.dim(Tensor self, int[1]? dim,
    bool unbiased=True, bool keepdim=False); var.correction(Tensor self, int[1]? dim=None, *,
    Scalar? correction=None, bool keepdim=False); std likewise"""
    var, _, dtype = _variance(ctx, node)
    return ctx.cast(ctx.op("Sqrt", var) if node.kind == "aten::std" else var, dtype)


@handler("aten::var_mean", "aten::std_mean")
def aten_var_mean(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::var_mean.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool
    keepdim=False) -> (Tensor, Tensor); var_mean(self, bool unbiased); var_mean.dim; std_mean
    likewise"""
    var, mean, dtype = _variance(ctx, node)
    if node.kind == "aten::std_mean":
        var = ctx.op("Sqrt", var)
    x = ctx.tensor(node.input("self"))
    mean = _drop_axes(ctx, mean, _axes(ctx, node, x), _keepdim(ctx, node))
    return ctx.cast(var, dtype), ctx.cast(mean, dtype)


def _reduce_nan(
    ctx: TranslationContext, op_type: str, x: ir.Value, axes: list[int] | None, keepdim: bool
) -> ir.Value:
    """ReduceMax/ReduceMin that gives NaN where the reduced values hold a NaN, as PyTorch does
    (ONNX Runtime's ReduceMax skips NaN)."""
    y = _reduce(ctx, op_type, x, axes, keepdim)
    dtype = ctx.dtype(x)
    nan_only = ctx.op("Where", ctx.op("IsNaN", x), x, ctx.constant(0.0, dtype))
    return ctx.op("Add", y, _reduce(ctx, "ReduceSum", nan_only, axes, keepdim))


def _vector_norm(
    ctx: TranslationContext, x: ir.Value, p: float, axes: list[int] | None, keepdim: bool
) -> ir.Value:
    """sum(|x|^p)^(1/p) over ``axes`` (max |x| for inf, min |x| for -inf, count for 0)."""
    dtype = ctx.dtype(x)
    if p == 2:
        return _reduce(ctx, "ReduceL2", x, axes, keepdim)
    if p == 1:
        return _reduce(ctx, "ReduceL1", x, axes, keepdim)
    magnitude = ctx.op("Abs", x)
    if p == math.inf:
        return _reduce_nan(ctx, "ReduceMax", magnitude, axes, keepdim)
    if p == -math.inf:
        return _reduce_nan(ctx, "ReduceMin", magnitude, axes, keepdim)
    if p == 0:
        nonzero = ctx.cast(ctx.op("Not", ctx.op("Equal", x, ctx.constant(0.0, dtype))), dtype)
        return _reduce(ctx, "ReduceSum", nonzero, axes, keepdim)
    powered = ctx.op("Pow", magnitude, ctx.constant(p, dtype))
    total = _reduce(ctx, "ReduceSum", powered, axes, keepdim)
    return ctx.op("Pow", total, ctx.constant(1.0 / p, dtype))


def _order(ctx: TranslationContext, ts_value: torch._C.Value, default: float) -> float:
    if ctx.is_none(ts_value):
        return default
    value = ctx.const(ts_value)
    if isinstance(value, str):
        raise Unsupported(f"norm order {value!r}")
    return float(value)  # type: ignore[arg-type]


@handler("aten::linalg_vector_norm", "aten::norm")
def aten_linalg_vector_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False,
    *, ScalarType? dtype=None) -> Tensor; aten::norm.Scalar(Tensor self, Scalar p=2);
    norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False) and the dtype
    overloads"""
    if node.overload.startswith("names") or node.overload.endswith("out"):
        raise Unsupported(f"the {node.overload!r} overload of {node.kind}")
    p = _order(ctx, node.input("ord" if node.has_input("ord") else "p"), 2.0)
    x, dtype = _float_input(ctx, node, "norm")
    y = _vector_norm(ctx, x, p, _axes(ctx, node, x), _keepdim(ctx, node))
    return ctx.cast(y, dtype)


@handler("aten::frobenius_norm")
def aten_frobenius_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::frobenius_norm.dim(Tensor self, int[1] dim, bool keepdim=False) -> Tensor"""
    x, dtype = _float_input(ctx, node, "frobenius_norm")
    return ctx.cast(_vector_norm(ctx, x, 2.0, _axes(ctx, node, x), _keepdim(ctx, node)), dtype)


@handler("aten::linalg_norm", "aten::linalg_matrix_norm")
def aten_linalg_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::linalg_norm(Tensor self, Scalar? ord=None, int[1]? dim=None, bool keepdim=False, *,
    ScalarType? dtype=None) -> Tensor; linalg_norm.ord_str; linalg_matrix_norm(Tensor self,
    Scalar ord, int[] dim=[-2,-1], ...); linalg_matrix_norm.str_ord. Vector norms and the
    Frobenius norm; other matrix norms need singular values or are refused."""
    x, dtype = _float_input(ctx, node, node.kind.removeprefix("aten::"))
    keepdim = _keepdim(ctx, node)
    rank = ctx.rank(x)
    ord_v = node.input("ord")
    order = None if ctx.is_none(ord_v) else ctx.const(ord_v)
    dims = None if ctx.is_none(node.input("dim")) else ctx.const_ints(node.input("dim"))
    matrix = (
        node.kind == "aten::linalg_matrix_norm"
        or (dims is not None and len(dims) == 2)
        or (dims is None and order is not None and rank == 2)
    )
    if order is None or order == "fro" or not matrix:
        if isinstance(order, str) and order != "fro":
            raise Unsupported(f"norm order {order!r} of a vector")
        p = 2.0 if order is None or order == "fro" else float(order)  # type: ignore[arg-type]
        axes = _axes(ctx, node, x)
        return ctx.cast(_vector_norm(ctx, x, p, axes, keepdim), dtype)
    if order in (1, -1, math.inf, -math.inf):
        # max/min over columns (1) or rows (inf) of the absolute sums along the other dim
        first, second = (d % rank for d in (dims or [-2, -1]))
        summed, kept = (first, second) if order in (1, -1) else (second, first)
        sums = _reduce(ctx, "ReduceSum", ctx.op("Abs", x), [summed], True)
        op_type = "ReduceMax" if order in (1, math.inf) else "ReduceMin"
        y = _reduce_nan(ctx, op_type, sums, [kept], True)
        return ctx.cast(_drop_axes(ctx, y, sorted([first, second]), keepdim), dtype)
    raise Unsupported(
        f"matrix norm of order {order!r}: it needs singular values, which ONNX cannot compute"
    )


@handler("aten::logsumexp")
def aten_logsumexp(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logsumexp(Tensor self, int[1] dim, bool keepdim=False) -> Tensor, shifted by the
    maximum as PyTorch does (an infinite maximum shifts by 0). PyTorch composes it from tensor
    ops, so 16-bit floats are rounded after every step, as here."""
    x = ctx.tensor(node.input("self"))
    dtype = ctx.dtype(x)
    out = dtype if dtype.is_floating_point() else FLOAT
    x = ctx.cast(x, out)
    work = _opmath(out)

    def step(v: ir.Value) -> ir.Value:
        """Round to the result dtype, continue in the compute type."""
        return ctx.cast(ctx.cast(v, out), work) if work != out else v

    x = ctx.cast(x, work)
    axes = _axes(ctx, node, x)
    keepdim = _keepdim(ctx, node)
    shift = _reduce(ctx, "ReduceMax", x, axes, True)
    shift = ctx.op("Where", ctx.op("IsInf", shift), ctx.constant(0.0, work), shift)
    exp = step(ctx.op("Exp", step(ctx.op("Sub", x, shift))))
    total = step(_reduce(ctx, "ReduceSum", exp, axes, keepdim))
    y = ctx.op("Add", step(ctx.op("Log", total)), _drop_axes(ctx, shift, axes, keepdim))
    return ctx.cast(y, out)


@handler("aten::all", "aten::any")
def aten_all(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::all(Tensor self) -> Tensor; all.dim(Tensor self, int dim, bool keepdim=False);
    all.dims(Tensor self, int[]? dim=None, bool keepdim=False); all.bool/.int/.float of a
    list; any likewise. Bool results (uint8 for a uint8 input, as in PyTorch)."""
    is_all = node.kind == "aten::all"
    if node.overload in ("bool", "int", "float", "str"):
        entry = ctx.entry(node.inputs[0])
        if not isinstance(entry, list | tuple):
            raise Unsupported(f"{node.kind} of a list computed at run time")
        if all(not isinstance(e, ir.Value) for e in entry):
            return all(entry) if is_all else any(entry)
        flags = [ctx.cast(ctx.as_tensor(e), BOOL) for e in entry]
        out = flags[0]
        for f in flags[1:]:
            out = ctx.op("And" if is_all else "Or", out, f)
        return out
    if node.overload.endswith("out"):
        raise Unsupported(f"the {node.overload!r} overload of {node.kind}")
    x = ctx.tensor(node.input("self"))
    dtype = ctx.dtype(x)
    truth = ctx.cast(ctx.cast(x, FLOAT) if dtype == ir.DataType.BFLOAT16 else x, BOOL)
    axes = _axes(ctx, node, x)
    keepdim = _keepdim(ctx, node)
    if is_all:  # min of 0/1 (an empty reduction gives the largest int: true)
        y = _reduce(ctx, "ReduceMin", ctx.cast(truth, ir.DataType.INT32), axes, keepdim)
    else:  # count of true (an empty reduction gives 0: false)
        y = _reduce(ctx, "ReduceSum", ctx.cast(truth, INT64), axes, keepdim)
    y = ctx.cast(y, BOOL)
    return ctx.cast(y, ir.DataType.UINT8) if dtype == ir.DataType.UINT8 else y


@handler("aten::count_nonzero")
def aten_count_nonzero(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::count_nonzero(Tensor self, int? dim=None) -> Tensor; count_nonzero.dim_IntList(
    Tensor self, int[] dim) -> Tensor (int64)"""
    x = ctx.tensor(node.input("self"))
    if ctx.dtype(x) == ir.DataType.BFLOAT16:
        x = ctx.cast(x, FLOAT)
    nonzero = ctx.cast(ctx.cast(x, BOOL), INT64)
    return _reduce(ctx, "ReduceSum", nonzero, _axes(ctx, node, x), False)


@handler("aten::numel")
def aten_numel(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::numel(Tensor self) -> int (a 0-d INT64 tensor when a dim is only known at run
    time)"""
    x = ctx.tensor(node.input("self"))
    if x.shape is not None and x.shape.is_static():
        return math.prod(x.shape.numpy())
    return ctx.op("Size", x)
