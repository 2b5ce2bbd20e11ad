"""Normalization in inference: batch, layer, group and instance norm."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []


def _optional(ctx: TranslationContext, node: TSNode, name: str, like: ir.Value) -> ir.Value | None:
    """An optional tensor argument in the dtype of ``like``, or None."""
    value = node.input(name)
    return None if ctx.is_none(value) else ctx.tensor(value, ctx.dtype(like))


def _reduce_mean(ctx: TranslationContext, x: ir.Value, axes: list[int]) -> ir.Value:
    """ReduceMean keeping dims; ``axes`` is an input from opset 18, an attribute before."""
    if ctx.opset >= 18:
        return ctx.op("ReduceMean", x, ctx.constant(axes), keepdims=1)
    return ctx.op("ReduceMean", x, axes=axes, keepdims=1)


def _normalize(ctx: TranslationContext, x: ir.Value, axes: list[int], eps: float) -> ir.Value:
    """(x - mean) / sqrt(biased var + eps) over ``axes``, the variance of the centred values."""
    centred = ctx.op("Sub", x, _reduce_mean(ctx, x, axes))
    var = _reduce_mean(ctx, ctx.op("Mul", centred, centred), axes)
    std = ctx.op("Sqrt", ctx.op("Add", var, ctx.constant(eps, ctx.dtype(x))))
    return ctx.op("Div", centred, std)


def _channel_affine(
    ctx: TranslationContext, y: ir.Value, weight: ir.Value | None, bias: ir.Value | None
) -> ir.Value:
    """y * weight + bias with per-channel (dim 1) vectors broadcast over the other dims."""
    shape = ctx.constant([-1] + [1] * (ctx.rank(y) - 2))
    if weight is not None:
        y = ctx.op("Mul", y, ctx.op("Reshape", weight, shape))
    if bias is not None:
        y = ctx.op("Add", y, ctx.op("Reshape", bias, shape))
    return y


def _channels(ctx: TranslationContext, x: ir.Value, *params: ir.Value | None) -> int | None:
    """The channel count (dim 1) from the input or from any per-channel parameter."""
    for p in params:
        if p is not None and ctx.static_dim(p, 0) is not None:
            return ctx.static_dim(p, 0)
    return ctx.static_dim(x, 1)


def _ones_zeros(
    ctx: TranslationContext, x: ir.Value, c: int, weight: ir.Value | None, bias: ir.Value | None
) -> tuple[ir.Value, ir.Value]:
    dtype = ctx.dtype(x)
    scale = weight if weight is not None else ctx.constant(np.ones(c), dtype)
    return scale, bias if bias is not None else ctx.constant(np.zeros(c), dtype)


@handler("aten::batch_norm")
def aten_batch_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor"""  # noqa: E501
    x = ctx.tensor(node.input("input"))
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    weight, bias = _optional(ctx, node, "weight", x), _optional(ctx, node, "bias", x)
    mean, var = _optional(ctx, node, "running_mean", x), _optional(ctx, node, "running_var", x)
    if ctx.const(node.input("training")):
        if mean is not None or var is not None:
            raise Unsupported(
                "batch_norm recorded in training mode (training=True: batch statistics, and "
                "running stats updated in place); call .eval() before tracing"
            )
        # track_running_stats=False: every call normalizes with the statistics of its batch.
        y = _normalize(ctx, x, [0, *range(2, ctx.rank(x))], eps)
        return _channel_affine(ctx, y, weight, bias)
    if mean is None or var is None:
        raise Unsupported("batch_norm in eval mode without running statistics")
    c = _channels(ctx, x, weight, bias, mean, var)
    if c is None:
        raise Unsupported("batch_norm: the channel count is not static")
    scale, shift = _ones_zeros(ctx, x, c, weight, bias)
    return ctx.op("BatchNormalization", x, scale, shift, mean, var, epsilon=eps)


@handler("aten::layer_norm")
def aten_layer_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, float eps=1e-05, bool cudnn_enable=True) -> Tensor"""  # noqa: E501
    x = ctx.tensor(node.input("input"))
    shape = ctx.const_ints(node.input("normalized_shape"))
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    weight, bias = _optional(ctx, node, "weight", x), _optional(ctx, node, "bias", x)
    if weight is None:
        weight = ctx.constant(np.ones(shape), ctx.dtype(x))
    # No empty trailing input for a missing bias: ONNX Runtime 1.31 crashes on it.
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ctx.op("LayerNormalization", *inputs, axis=-len(shape), epsilon=eps)


@handler("aten::group_norm")
def aten_group_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1e-05, bool cudnn_enabled=True) -> Tensor"""  # noqa: E501
    x = ctx.tensor(node.input("input"))
    groups = ctx.const_int(node.input("num_groups"))
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    if not ctx.dtype(x).is_floating_point():
        raise Unsupported("group_norm of a non-float tensor")
    # (N, C, *) -> (N, G, C/G * prod(*)): normalize each group, then restore the shape.
    grouped = ctx.op("Reshape", x, ctx.constant([0, groups, -1]))
    y = _normalize(ctx, grouped, [2], eps)
    y = ctx.op("Reshape", y, ctx.op("Shape", x))
    weight, bias = _optional(ctx, node, "weight", x), _optional(ctx, node, "bias", x)
    return _channel_affine(ctx, y, weight, bias)


@handler("aten::instance_norm")
def aten_instance_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::instance_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool use_input_stats, float momentum, float eps, bool cudnn_enabled) -> Tensor"""  # noqa: E501
    x = ctx.tensor(node.input("input"))
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    weight, bias = _optional(ctx, node, "weight", x), _optional(ctx, node, "bias", x)
    mean, var = _optional(ctx, node, "running_mean", x), _optional(ctx, node, "running_var", x)
    c = _channels(ctx, x, weight, bias, mean, var)
    if ctx.const(node.input("use_input_stats")):
        if c is None:  # no per-channel constants to build: normalize by hand
            y = _normalize(ctx, x, list(range(2, ctx.rank(x))), eps)
            return _channel_affine(ctx, y, weight, bias)
        scale, shift = _ones_zeros(ctx, x, c, weight, bias)
        return ctx.op("InstanceNormalization", x, scale, shift, epsilon=eps)
    if mean is None or var is None or c is None:
        raise Unsupported("instance_norm without input statistics needs running statistics")
    scale, shift = _ones_zeros(ctx, x, c, weight, bias)
    return ctx.op("BatchNormalization", x, scale, shift, mean, var, epsilon=eps)


def _rms_args(
    ctx: TranslationContext, node: TSNode
) -> tuple[ir.Value, list[int], ir.Value | None, float, ir.DataType]:
    """rms_norm's input, normalized_shape, weight, eps and the dtype PyTorch computes in."""
    x = ctx.tensor(node.input("input"))
    if not ctx.dtype(x).is_floating_point():
        raise Unsupported("rms_norm of a non-float tensor")
    # PyTorch computes in float32 for half and bfloat16 inputs (float64 for float64), and
    # eps=None is the epsilon of that type, not of the input's (torch.finfo(float32).eps).
    stash = ir.DataType.DOUBLE if ctx.dtype(x) == ir.DataType.DOUBLE else ir.DataType.FLOAT
    eps_arg = node.input("eps")
    default_eps = float(np.finfo(np.float64 if stash == ir.DataType.DOUBLE else np.float32).eps)
    eps = default_eps if ctx.is_none(eps_arg) else float(ctx.const(eps_arg))  # type: ignore[arg-type]
    shape = ctx.const_ints(node.input("normalized_shape"))
    return x, shape, _optional(ctx, node, "weight", x), eps, stash


@handler("aten::rms_norm")
def aten_rms_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::rms_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, float? eps=None) -> Tensor"""  # noqa: E501
    x, shape, weight, eps, stash = _rms_args(ctx, node)
    xs = ctx.cast(x, stash)
    axes = list(range(ctx.rank(x) - len(shape), ctx.rank(x)))
    mean_square = _reduce_mean(ctx, ctx.op("Mul", xs, xs), axes)
    inv_rms = ctx.op(
        "Reciprocal", ctx.op("Sqrt", ctx.op("Add", mean_square, ctx.constant(eps, stash)))
    )
    y = ctx.cast(ctx.op("Mul", xs, inv_rms), ctx.dtype(x))
    return y if weight is None else ctx.op("Mul", y, weight)


@handler("aten::rms_norm", since_opset=23)
def aten_rms_norm_23(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::rms_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, float? eps=None) -> Tensor (ONNX RMSNormalization, opset 23)"""  # noqa: E501
    x, shape, weight, eps, stash = _rms_args(ctx, node)
    if weight is None:
        weight = ctx.constant(np.ones(shape), ctx.dtype(x))
    return ctx.op("RMSNormalization", x, weight, axis=-len(shape), epsilon=eps, stash_type=stash)
