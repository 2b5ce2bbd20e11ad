"""Quantized normalization: batch, layer, group and instance norm in QDQ form.

The float normalization on the dequantized input, then ``QuantizeLinear``/``DequantizeLinear``
on the output scale and zero point the node names (see ``quantized.py``).
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate import quant
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.quantized import quantized_input, requantize_output
from converter.translate.registry import handler

__all__: list[str] = []


def _grid(ctx: TranslationContext, node: TSNode, like: quant.QParams) -> quant.QParams:
    """The output grid named by the node's output_scale and output_zero_point arguments."""
    scale = float(ctx.const(node.input("output_scale")))  # type: ignore[arg-type]
    return quant.QParams(scale, ctx.const_int(node.input("output_zero_point")), like.dtype)


@handler(
    "quantized::batch_norm",
    "quantized::batch_norm1d",
    "quantized::batch_norm2d",
    "quantized::batch_norm3d",
    "quantized::batch_norm_relu",
    "quantized::batch_norm1d_relu",
    "quantized::batch_norm2d_relu",
    "quantized::batch_norm3d_relu",
)
def quantized_batch_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::batch_norm2d(Tensor qx, Tensor? weight, Tensor? bias, Tensor mean, Tensor var, float eps, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    mean = ctx.tensor(node.input("mean"), ir.DataType.FLOAT)
    var = ctx.tensor(node.input("var"), ir.DataType.FLOAT)
    channels = ctx.static_dim(mean, 0)
    if channels is None:
        raise Unsupported("the number of batch-norm channels is not static")
    weight, bias = node.input("weight"), node.input("bias")
    ones, zeros = ctx.constant([1.0] * channels), ctx.constant([0.0] * channels)
    y = ctx.op(
        "BatchNormalization",
        x,
        ones if ctx.is_none(weight) else ctx.tensor(weight, ir.DataType.FLOAT),
        zeros if ctx.is_none(bias) else ctx.tensor(bias, ir.DataType.FLOAT),
        mean,
        var,
        epsilon=float(ctx.const(node.input("eps"))),  # type: ignore[arg-type]
    )
    return requantize_output(ctx, node, y, params, node.kind.endswith("_relu"))


@handler("quantized::layer_norm")
def quantized_layer_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::layer_norm(Tensor input, int[] normalized_shape, Tensor? weight, Tensor? bias, float eps, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    shape = ctx.const_ints(node.input("normalized_shape"))
    weight, bias = node.input("weight"), node.input("bias")
    scale = ctx.constant(np.ones(shape, np.float32)) if ctx.is_none(weight) else ctx.tensor(weight)
    y = ctx.op(
        "LayerNormalization",
        x,
        scale,
        None if ctx.is_none(bias) else ctx.tensor(bias),
        axis=-len(shape),
        epsilon=float(ctx.const(node.input("eps"))),  # type: ignore[arg-type]
    )
    return requantize_output(ctx, node, y, params, relu=False)


def _affine(ctx: TranslationContext, node: TSNode, y: ir.Value) -> ir.Value:
    """y * weight + bias with the optional per-channel weight and bias broadcast on dim 1."""
    shape = ctx.constant([-1] + [1] * (ctx.rank(y) - 2))
    for name, op in (("weight", "Mul"), ("bias", "Add")):
        if not ctx.is_none(node.input(name)):
            param = ctx.tensor(node.input(name), ir.DataType.FLOAT)
            y = ctx.op(op, y, ctx.op("Reshape", param, shape))
    return y


def _normalized(ctx: TranslationContext, x: ir.Value, groups: int, eps: float) -> ir.Value:
    """(N, C, *) normalized over each of ``groups`` channel groups (mean 0, variance 1)."""
    grouped = ctx.op("Reshape", x, ctx.constant([0, groups, -1]))
    ones = ctx.constant(np.ones(groups, np.float32))
    zeros = ctx.constant(np.zeros(groups, np.float32))
    y = ctx.op("InstanceNormalization", grouped, ones, zeros, epsilon=eps)
    return ctx.op("Reshape", y, ctx.op("Shape", x))


@handler("quantized::group_norm")
def quantized_group_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::group_norm(Tensor input, int num_groups, Tensor? weight, Tensor? bias, float eps, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    y = _normalized(ctx, x, ctx.const_int(node.input("num_groups")), eps)
    return quant.requantize(ctx, _affine(ctx, node, y), _grid(ctx, node, params))


@handler("quantized::instance_norm")
def quantized_instance_norm(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::instance_norm(Tensor input, Tensor? weight, Tensor? bias, float eps, float output_scale, int output_zero_point) -> Tensor"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    channels = ctx.static_dim(x, 1)
    if channels is None:
        raise Unsupported("the channel count of a quantized instance norm is not static")
    eps = float(ctx.const(node.input("eps")))  # type: ignore[arg-type]
    y = _normalized(ctx, x, channels, eps)
    return quant.requantize(ctx, _affine(ctx, node, y), _grid(ctx, node, params))
