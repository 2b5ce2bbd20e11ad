"""Quantized tensors during translation: QDQ values that carry their scale and zero point.

A TorchScript quantized tensor becomes the float output of ``DequantizeLinear(QuantizeLinear(x))``
(the ONNX QDQ form). Its quantization parameters ride on the ONNX value (``Value.meta``), so the
next quantized op and the graph outputs can read them. Float ops on a quantized tensor are exact
only when they keep every element on the quantization grid; ``guard`` checks each node that
receives a quantized tensor against the tables below and refuses the others.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported

__all__ = [
    "QParams",
    "clamp_on_grid",
    "guard",
    "is_quantized",
    "mark",
    "qparams",
    "quant_dtype",
    "requantize",
]

_META = "jit2onnx.qparams"
_VARIES = "varies"  # the meta value of a quantized tensor whose grid depends on a branch
# TorchScript ScalarType codes of the quantized dtypes ONNX QuantizeLinear can produce.
_QUANT_DTYPES = {12: ir.DataType.INT8, 13: ir.DataType.UINT8}
_RANGES = {ir.DataType.INT8: (-128, 127), ir.DataType.UINT8: (0, 255)}

# Float ops whose result on grid values is again on the same grid (same scale and zero point).
SAME_GRID = frozenset(
    {
        "aten::relu", "aten::relu_", "aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d",
        "aten::flatten", "aten::reshape", "aten::view", "aten::contiguous", "aten::clone",
        "aten::detach", "aten::squeeze", "aten::unsqueeze", "aten::permute", "aten::transpose",
        "aten::t", "aten::dropout", "aten::upsample_nearest2d", "aten::pixel_shuffle",
        "aten::pixel_unshuffle", "aten::chunk", "aten::split", "aten::unbind", "aten::select",
        "aten::slice", "aten::narrow", "aten::__getitem__", "aten::cat",
    }
)  # fmt: skip
# Ops that torch computes on a quantized tensor and rounds back to the input's grid.
REQUANTIZE = frozenset(
    {
        "aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::avg_pool1d",
        "aten::avg_pool2d", "aten::mean", "aten::upsample_bilinear2d",
    }
)  # fmt: skip
# Clamps torch applies to the stored integers, with bounds quantized on the input's grid:
# the schema names of the bounds, or the fixed bounds of relu6.
CLAMPS: dict[str, tuple[str, str] | tuple[float, float]] = {
    "aten::clamp": ("min", "max"), "aten::clamp_": ("min", "max"),
    "aten::hardtanh": ("min_val", "max_val"), "aten::hardtanh_": ("min_val", "max_val"),
    "aten::relu6": (0.0, 6.0), "aten::relu6_": (0.0, 6.0),
}  # fmt: skip
# Ops whose quantized kernels give a fixed output grid: (scale, zero point) for quint8, qint8.
FIXED_GRID = {
    "aten::sigmoid": ((1 / 256, 0), (1 / 256, -128)),
    "aten::hardsigmoid": ((1 / 256, 0), (1 / 256, -128)),
    "aten::tanh": ((2 / 256, 128), (2 / 256, 0)),
}
# Ops that only read the shape of a quantized tensor.
SHAPE_ONLY = frozenset({"aten::size", "aten::dim", "aten::numel", "aten::len"})
# Ops whose handlers read quantization parameters themselves.
QUANT_AWARE = frozenset(
    {"aten::dequantize", "aten::quantize_per_tensor", "aten::q_scale", "aten::q_zero_point"}
)


@dataclasses.dataclass(frozen=True)
class QParams:
    """Per-tensor quantization: ``real = scale * (q - zero_point)``, q of ``dtype``."""

    scale: float
    zero_point: int
    dtype: ir.DataType

    def __post_init__(self) -> None:
        low, high = _RANGES[self.dtype]
        if not low <= self.zero_point <= high:
            raise Unsupported(f"zero point {self.zero_point} is outside the {self.dtype} range")
        if not self.scale > 0:
            raise Unsupported(f"quantization scale {self.scale} is not positive")


def quant_dtype(code: int) -> ir.DataType:
    """The ONNX type of a TorchScript quantized ScalarType code (quint8, qint8)."""
    if code not in _QUANT_DTYPES:
        raise Unsupported(
            f"quantized dtype code {code} (qint32 or a sub-byte type) has no ONNX QuantizeLinear "
            "output type; only quint8 and qint8 are supported"
        )
    return _QUANT_DTYPES[code]


def qparams(entry: Entry) -> QParams | None:
    """The quantization parameters of a translated value, None for a float value."""
    if isinstance(entry, ir.Value):
        found = entry.meta.get(_META)
        return found if isinstance(found, QParams) else None
    return None


def is_quantized(entry: Entry) -> bool:
    """True for a quantized tensor, also one whose grid is only known at run time."""
    return isinstance(entry, ir.Value) and _META in entry.meta


def mark(value: ir.Value, params: QParams | str) -> ir.Value:
    """Record that ``value`` holds dequantized values on the grid of ``params``."""
    value.meta[_META] = params
    return value


def requantize(ctx: TranslationContext, x: ir.Value, params: QParams) -> ir.Value:
    """QuantizeLinear then DequantizeLinear: ``x`` rounded (half to even) and saturated."""
    scale = ctx.constant(params.scale, ir.DataType.FLOAT)
    zero = ctx.constant(params.zero_point, params.dtype)
    q = ctx.op("QuantizeLinear", ctx.cast(x, ir.DataType.FLOAT), scale, zero)
    return mark(ctx.op("DequantizeLinear", q, scale, zero), params)


def _quantized_inputs(ctx: TranslationContext, node: TSNode) -> list[QParams]:
    """The grids of the node's quantized inputs; Unsupported if one is only known at run time."""
    found: list[QParams] = []
    for value in node.inputs:
        if value.node().kind() == "prim::Constant":
            continue
        try:
            entry = ctx.entry(value)
        except KeyError:  # left out as an argument check; the handler will not read it
            continue
        items = entry if isinstance(entry, list | tuple) else (entry,)
        if any(is_quantized(e) and qparams(e) is None for e in items):
            raise Unsupported("an input is a quantized tensor whose grid depends on a branch")
        found += [p for p in map(qparams, items) if p is not None]
    return found


def guard(ctx: TranslationContext, node: TSNode, translate: Callable[[], Entry]) -> Entry:
    """Run ``translate`` for ``node``; keep or restore the grid of quantized inputs, or refuse.

    Ops of the quantized handlers and structural ``prim::`` ops pass through; a float op on a
    quantized input keeps its grid (SAME_GRID), is rounded on the integers (REQUANTIZE) or to
    a fixed grid (FIXED_GRID), or is refused.
    """
    kind = node.kind
    if node.blocks:
        return _blocks(ctx, node, translate())
    if kind.startswith(("quantized::", "prim::")) or kind in QUANT_AWARE | SHAPE_ONLY:
        return translate()
    inputs = _quantized_inputs(ctx, node)
    if not inputs:
        return translate()
    if kind in FIXED_GRID:
        return _on_fixed_grid(ctx, kind, inputs[0].dtype, translate)
    if kind in CLAMPS:
        return _clamp(ctx, node, inputs[0])
    if kind not in SAME_GRID | REQUANTIZE:
        raise Unsupported(
            "a float op on a quantized tensor has no exact QDQ translation (torch runs a "
            "quantized kernel with its own rounding); dequantize before it in the model"
        )
    if len(set(inputs)) != 1:
        raise Unsupported("its quantized inputs have different scales or zero points")
    if kind in REQUANTIZE:
        return _on_integers(ctx, node, inputs[0], translate)
    return _apply(ctx, translate(), inputs[0])


def _clamp(ctx: TranslationContext, node: TSNode, params: QParams) -> ir.Value:
    """clamp, hardtanh or relu6 of a quantized tensor (constant bounds only)."""
    bounds: list[float | None] = []
    for bound in CLAMPS[node.kind]:
        if isinstance(bound, float):
            bounds.append(bound)
        elif ctx.is_none(node.input(bound)):
            bounds.append(None)
        elif not ctx.is_const(node.input(bound)):
            raise Unsupported("a clamp bound of a quantized tensor is not a constant")
        else:
            bounds.append(float(ctx.const(node.input(bound))))  # type: ignore[arg-type]
    return clamp_on_grid(ctx, ctx.tensor(node.inputs[0]), params, bounds[0], bounds[1])


def clamp_on_grid(
    ctx: TranslationContext, x: ir.Value, params: QParams, low: float | None, high: float | None
) -> ir.Value:
    """Clip to bounds rounded onto the grid, as torch's quantized clamp compares integers.

    torch quantizes each bound with the input's scale and zero point (saturating) and clamps
    the stored integers; the float bounds here are those integers dequantized as
    DequantizeLinear does, so grid values stay exactly on the grid.
    """
    bounds = [
        None if b is None else ctx.constant(_on_grid(params, b), ir.DataType.FLOAT)
        for b in (low, high)
    ]
    return mark(ctx.op("Clip", x, *bounds), params)


def _on_grid(params: QParams, value: float) -> float:
    """``value`` quantized by torch's rule on the grid of ``params``, then dequantized."""
    dtype = torch.qint8 if params.dtype == ir.DataType.INT8 else torch.quint8
    with warnings.catch_warnings():  # quantized tensor creation is deprecated in torch 2.13
        warnings.simplefilter("ignore")
        q = torch.quantize_per_tensor(torch.tensor([value]), params.scale, params.zero_point, dtype)
    stored = int(q.int_repr().item())
    return float(np.float32(stored - params.zero_point) * np.float32(params.scale))


def _blocks(ctx: TranslationContext, node: TSNode, result: Entry) -> Entry:
    """Carry the grid out of prim::If/prim::Loop when every block returns the same grid."""
    results = result if isinstance(result, tuple) else (result,)
    if len(results) != len(node.outputs):
        return result
    skip = 1 if node.kind == "prim::Loop" else 0  # a loop body returns its condition first
    marked = []
    for i, out in enumerate(results):
        producer = out.producer() if isinstance(out, ir.Value) else None
        if producer is None or producer.op_type not in ("If", "Loop"):
            marked.append(out)  # an inlined block: its entries carry their own grids
            continue
        found = {_block_output_grid(ctx, block, i + skip) for block in node.blocks} - {False}
        if found <= {None}:
            marked.append(out)
        elif isinstance(out, ir.Value):
            (params,) = found if len(found) == 1 else (_VARIES,)
            marked.append(mark(out, params))  # type: ignore[arg-type]
        else:
            raise Unsupported("its blocks return quantized tensors on different grids")
    return tuple(marked) if isinstance(result, tuple) else marked[0]


def _block_output_grid(
    ctx: TranslationContext, block: torch._C.Block, index: int
) -> QParams | bool | None:
    """The grid of a block's output, None for a float, False if the block was not translated."""
    try:
        return qparams(ctx.entry(list(block.outputs())[index]))
    except KeyError:
        return False


def _on_fixed_grid(
    ctx: TranslationContext, kind: str, dtype: ir.DataType, translate: Callable[[], Entry]
) -> Entry:
    """The float op, rounded to the fixed output grid torch's quantized kernel uses."""
    unsigned, signed = FIXED_GRID[kind]
    scale, zero = signed if dtype == ir.DataType.INT8 else unsigned
    result = translate()
    if not isinstance(result, ir.Value):
        raise Unsupported("a fixed-grid op with several outputs on a quantized tensor")
    return requantize(ctx, result, QParams(scale, zero, dtype))


def _on_integers(
    ctx: TranslationContext, node: TSNode, params: QParams, translate: Callable[[], Entry]
) -> Entry:
    """Run an averaging op on the integer values q and round the result as torch does.

    torch averages the stored integers and rounds half to even there, so the float op runs on
    ``q = round(x / scale) + zero_point`` (exact integers in float32), then
    ``y = dequantize(saturate(round_half_even(op(q))))``.
    """
    first = node.inputs[0]
    if node.has_input("padding") and any(ctx.const_ints(node.input("padding"))):
        raise Unsupported("padded average pooling of a quantized tensor is not supported")
    x = ctx.tensor(first)
    scale = ctx.constant(params.scale, ir.DataType.FLOAT)
    zero = ctx.constant(float(params.zero_point), ir.DataType.FLOAT)
    ints = ctx.op("Add", ctx.op("Round", ctx.op("Div", x, scale)), zero)
    ctx.bind(first, ints)
    try:
        result = translate()
    finally:
        ctx.bind(first, x)
    if not isinstance(result, ir.Value):
        raise Unsupported("an averaging op with several outputs on a quantized tensor")
    low, high = _RANGES[params.dtype]
    rounded = ctx.op(
        "Clip",
        ctx.op("Round", result),
        ctx.constant(float(low), ir.DataType.FLOAT),
        ctx.constant(float(high), ir.DataType.FLOAT),
    )
    q = ctx.cast(rounded, params.dtype)
    out = ctx.op("DequantizeLinear", q, scale, ctx.constant(params.zero_point, params.dtype))
    return mark(out, params)


def _apply(ctx: TranslationContext, result: Entry, params: QParams) -> Entry:
    """Mark the float results of a same-grid op with the grid of its input."""
    if isinstance(result, list | tuple):
        return type(result)(_apply(ctx, r, params) for r in result)
    if not isinstance(result, ir.Value) or not ctx.dtype(result).is_floating_point():
        return result
    if qparams(result) == params:
        return result
    if qparams(result) is None and result.producer() is not None:
        return mark(result, params)
    return mark(ctx.op("Identity", result), params)
