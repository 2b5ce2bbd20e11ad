"""Pooling (max, average, adaptive, global) and nearest/linear upsampling."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []


def _dims(node: TSNode) -> int:
    """The number of spatial dims from the op name: max_pool2d_with_indices -> 2."""
    match = re.search(r"(\d)d", node.kind)
    if match is None:
        raise Unsupported(f"cannot tell the spatial rank of {node.kind}")
    return int(match.group(1))


def _ints(ctx: TranslationContext, node: TSNode, name: str, n: int) -> list[int]:
    values = ctx.const_ints(node.input(name))
    return values * n if len(values) == 1 else values


def _batched(ctx: TranslationContext, x: ir.Value, n: int) -> tuple[ir.Value, bool]:
    """Add a batch dim to an unbatched (C, *spatial) input; True if one was added."""
    if ctx.rank(x) == n + 1:
        return ctx.op("Unsqueeze", x, ctx.constant([0])), True
    return x, False


def _unbatched(ctx: TranslationContext, y: ir.Value | None, added: bool) -> ir.Value | None:
    if y is None or not added:
        return y
    return ctx.op("Squeeze", y, ctx.constant([0]))


def _used(ts_value: object) -> bool:
    return bool(ts_value.uses())  # type: ignore[attr-defined]


def _max_pool(
    ctx: TranslationContext, x: ir.Value, attrs: dict[str, object], indices: bool
) -> tuple[ir.Value, ir.Value | None]:
    """MaxPool; with ``indices``, PyTorch's: flat positions within each (n, c) plane."""
    if not indices:
        return ctx.op("MaxPool", x, **attrs), None
    y, flat = ctx.op_multi("MaxPool", x, num_outputs=2, attributes=attrs)
    # ONNX numbers elements over the whole (row-major) tensor; PyTorch within one plane.
    plane = ctx.op("ReduceProd", ctx.op("Shape", x, start=2), keepdims=0)
    return y, ctx.op("Mod", flat, plane)


@dataclasses.dataclass(frozen=True)
class _Window:
    """The sliding window of a pooling node (symmetric pads per spatial dim)."""

    kernel: list[int]
    strides: list[int]
    pads: list[int]
    dilations: list[int]
    ceil: bool = False

    def attrs(self, **extra: object) -> dict[str, object]:
        return dict(
            kernel_shape=self.kernel,
            strides=self.strides,
            pads=self.pads + self.pads,
            ceil_mode=int(self.ceil),
            **extra,
        )

    def torch_size(self, i: int, size: int) -> int:
        """PyTorch's output size along spatial dim ``i``."""
        k, s, p, d = self.kernel[i], self.strides[i], self.pads[i], self.dilations[i]
        span = size + 2 * p - d * (k - 1) - 1
        out = (-(-span // s) if self.ceil else span // s) + 1
        # ceil mode: a last window that would start in the right padding is dropped
        return out - 1 if self.ceil and (out - 1) * s >= size + p else out


def _window(ctx: TranslationContext, node: TSNode, n: int) -> _Window:
    kernel = _ints(ctx, node, "kernel_size", n)
    dilations = _ints(ctx, node, "dilation", n) if node.has_input("dilation") else [1] * n
    return _Window(
        kernel,
        _ints(ctx, node, "stride", n) or kernel,
        _ints(ctx, node, "padding", n),
        dilations,
        bool(ctx.const(node.input("ceil_mode"))),
    )


def _trim_ceil(
    ctx: TranslationContext, x: ir.Value, window: _Window, *ys: ir.Value | None
) -> list[ir.Value | None]:
    """Slice ceil-mode outputs to PyTorch's size where ONNX shape inference says otherwise.

    Before opset 22 the ONNX shape formula keeps a last window that starts in the right
    padding, which PyTorch and ONNX Runtime drop: the inferred static size is one too large.
    The Slice changes nothing at run time and makes the declared shape right.
    """
    axes, ends = [], []
    for i in range(len(window.kernel) if window.ceil else 0):
        size, got = ctx.static_dim(x, i + 2), ctx.static_dim(ys[0], i + 2)  # type: ignore[arg-type]
        if size is not None and got is not None and got != window.torch_size(i, size):
            axes.append(i + 2)
            ends.append(window.torch_size(i, size))
    if not axes:
        return list(ys)
    starts, limits, where = ctx.constant([0] * len(axes)), ctx.constant(ends), ctx.constant(axes)
    return [y if y is None else ctx.op("Slice", y, starts, limits, where) for y in ys]


@handler("aten::max_pool1d", "aten::max_pool2d", "aten::max_pool3d")
@handler("aten::max_pool1d_with_indices", "aten::max_pool2d_with_indices")
@handler("aten::max_pool3d_with_indices")
def aten_max_pool(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> Tensor; also ``_with_indices`` -> (Tensor, Tensor)"""  # noqa: E501
    n = _dims(node)
    x, added = _batched(ctx, ctx.tensor(node.input("self")), n)
    window = _window(ctx, node, n)
    with_indices = len(node.outputs) == 2
    attrs = window.attrs(dilations=window.dilations)
    y, idx = _max_pool(ctx, x, attrs, with_indices and _used(node.outputs[1]))
    outs = [_unbatched(ctx, v, added) for v in _trim_ceil(ctx, x, window, y, idx)]
    return tuple(outs) if with_indices else outs[0]


@handler("aten::avg_pool1d", "aten::avg_pool2d", "aten::avg_pool3d")
def aten_avg_pool(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor"""  # noqa: E501
    n = _dims(node)
    if node.has_input("divisor_override") and not ctx.is_none(node.input("divisor_override")):
        raise Unsupported("avg_pool with divisor_override: ONNX AveragePool has no divisor")
    x, added = _batched(ctx, ctx.tensor(node.input("self")), n)
    window = _window(ctx, node, n)
    include = int(bool(ctx.const(node.input("count_include_pad"))))
    y = ctx.op("AveragePool", x, **window.attrs(count_include_pad=include))
    return _unbatched(ctx, _trim_ceil(ctx, x, window, y)[0], added)


def _adaptive_kernel(
    ctx: TranslationContext, node: TSNode, x: ir.Value, n: int, global_ok: bool
) -> list[int] | None:
    """Kernel (= stride) of an adaptive pool as a plain pool; None: a global pool will do."""
    wanted = ctx.const(node.input("output_size"))
    wanted = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
    wanted = wanted * n if len(wanted) == 1 else wanted  # None keeps that input size
    sizes = [ctx.static_dim(x, d) for d in range(2, n + 2)]
    out = [i if o is None else int(o) for o, i in zip(wanted, sizes, strict=True)]
    if global_ok and all(o == 1 for o in out):
        return None
    kernel = []
    for i, o in zip(sizes, out, strict=True):
        if i is None or o is None:
            raise Unsupported(f"adaptive pooling to {out} needs static input spatial sizes")
        if i % o:
            raise Unsupported(
                f"adaptive pooling from {sizes} to {out}: the input is not a multiple of the "
                "output, so the windows differ in size, which ONNX pooling cannot express"
            )
        kernel.append(i // o)
    return kernel


@handler("aten::adaptive_avg_pool1d", "aten::adaptive_avg_pool2d", "aten::adaptive_avg_pool3d")
@handler("aten::_adaptive_avg_pool2d", "aten::_adaptive_avg_pool3d")
@handler("aten::adaptive_max_pool1d", "aten::adaptive_max_pool2d", "aten::adaptive_max_pool3d")
def aten_adaptive_pool(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor; adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)"""  # noqa: E501
    n, is_max = _dims(node), "max" in node.kind
    x, added = _batched(ctx, ctx.tensor(node.input("self")), n)
    indices = is_max and _used(node.outputs[1])
    kernel = _adaptive_kernel(ctx, node, x, n, global_ok=not indices)
    idx = None
    if kernel is None:
        y = ctx.op("GlobalMaxPool" if is_max else "GlobalAveragePool", x)
    elif is_max:
        y, idx = _max_pool(ctx, x, _Window(kernel, kernel, [0] * n, [1] * n).attrs(), indices)
    else:
        y = ctx.op("AveragePool", x, **_Window(kernel, kernel, [0] * n, [1] * n).attrs())
    if is_max:
        return _unbatched(ctx, y, added), _unbatched(ctx, idx, added)
    return _unbatched(ctx, y, added)


def _floats(value: object) -> list[float]:
    if isinstance(value, list | tuple):
        return [float(v) for v in value]
    return [float(value)]  # type: ignore[arg-type]


def _resize_target(
    ctx: TranslationContext, node: TSNode, x: ir.Value, n: int
) -> tuple[ir.Value | None, ir.Value | None]:
    """(scales, sizes) inputs of Resize, one of them None, from either upsample overload."""
    if node.has_input("scale_factors"):  # the .vec overloads
        if not ctx.is_none(node.input("scale_factors")):
            factors = _floats(ctx.const(node.input("scale_factors")))
            return ctx.constant([1.0, 1.0] + factors * (n if len(factors) == 1 else 1)), None
    elif any(not ctx.is_none(node.input(a)) for a in node.arg_names if a.startswith("scales")):
        return _explicit_scales(ctx, node, x), None
    size = ctx.size_list(node.input("output_size"))
    batch_channels = ctx.op("Shape", x, end=2)
    size_value = ctx.constant(size) if isinstance(size, list) else size
    return None, ctx.op("Concat", batch_channels, size_value, axis=0)


def _explicit_scales(ctx: TranslationContext, node: TSNode, x: ir.Value) -> ir.Value:
    """output_size with scales_*: PyTorch maps coordinates by the scales, as ONNX Resize does
    with scales, provided the output size is the one the scales give."""
    out = ctx.const_ints(node.input("output_size"))
    names = [a for a in node.arg_names if a.startswith("scales")]
    scales = [ctx.const(node.input(a)) for a in names]
    sizes = [ctx.static_dim(x, d) for d in range(2, ctx.rank(x))]
    factors = [float(np.float32(s)) for s in scales if isinstance(s, int | float)]
    if len(factors) != len(out) or not all(
        i is not None and o == math.floor(i * f)
        for o, i, f in zip(out, sizes, factors, strict=True)
    ):
        raise Unsupported(
            f"upsampling to {out} with unrelated scales {scales} ({', '.join(names)})"
        )
    return ctx.constant([1.0, 1.0, *factors])


@handler("aten::upsample_nearest1d", "aten::upsample_nearest2d", "aten::upsample_nearest3d")
@handler("aten::upsample_linear1d", "aten::upsample_bilinear2d", "aten::upsample_trilinear3d")
def aten_upsample(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners, float[]? scale_factors) -> Tensor; also upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners, float? scales_h=None, float? scales_w=None) and the nearest/1d/3d ops"""  # noqa: E501
    x = ctx.tensor(node.inputs[0])
    n = _dims(node)
    if ctx.rank(x) != n + 2:
        raise Unsupported(f"{node.kind} expects a rank-{n + 2} input")
    scales, sizes = _resize_target(ctx, node, x, n)
    if "nearest" in node.kind:  # src = floor(dst * in / out)
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric"}
        attrs["nearest_mode"] = "floor"
    else:
        # PyTorch's align_corners=False is ONNX half_pixel, also for an output size of 1
        # (pytorch_half_pixel would map that one pixel to 0, PyTorch maps it to in/2 - 0.5).
        align = bool(ctx.const(node.input("align_corners")))
        mode = "align_corners" if align else "half_pixel"
        attrs = {"mode": "linear", "coordinate_transformation_mode": mode}
    return ctx.op("Resize", x, None, scales, sizes, **attrs)
