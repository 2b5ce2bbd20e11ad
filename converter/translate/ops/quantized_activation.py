"""Quantized activations and scalar arithmetic: scalar add/mul, relu6, clamp, elu, celu.

Like ``quantized.py``: the float op on the dequantized input, then ``QuantizeLinear`` /
``DequantizeLinear`` on the output grid. ``add_scalar`` and ``mul_scalar`` take no output
scale: torch's kernel derives it from the input's grid and the scalar, so translation asks the
same kernel for it on a one-element tensor (the grid does not depend on the values).
"""

from __future__ import annotations

import warnings

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import quant
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.quantized import quantized_input
from converter.translate.registry import handler

__all__: list[str] = []


def _kernel_grid(kind: str, params: quant.QParams, scalar: float) -> quant.QParams:
    """The output grid torch's ``kind`` kernel picks for an input on ``params`` and ``scalar``."""
    dtype = torch.qint8 if params.dtype == ir.DataType.INT8 else torch.quint8
    op = getattr(torch.ops.quantized, kind.split("::")[1])
    with warnings.catch_warnings():  # quantized tensor creation is deprecated in torch 2.13
        warnings.simplefilter("ignore")
        probe = torch.quantize_per_tensor(torch.zeros(1), params.scale, params.zero_point, dtype)
        out = op(probe, scalar)
    return quant.QParams(float(out.q_scale()), int(out.q_zero_point()), params.dtype)


@handler(
    "quantized::add_scalar",
    "quantized::add_scalar_relu",
    "quantized::mul_scalar",
    "quantized::mul_scalar_relu",
)
def quantized_scalar(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::add_scalar(Tensor qa, Scalar b) -> Tensor qc; also _relu, mul_scalar"""
    x, params = quantized_input(ctx, node, 0)
    if node.overload or not ctx.is_const(node.input("b")):
        raise Unsupported("a quantized scalar add/mul with a tensor operand is not supported")
    scalar = float(ctx.const(node.input("b")))  # type: ignore[arg-type]
    grid = _kernel_grid(node.kind, params, scalar)
    y = ctx.op("Add" if "add" in node.kind else "Mul", x, ctx.constant(scalar, ir.DataType.FLOAT))
    if node.kind.endswith("_relu"):
        y = ctx.op("Relu", y)
    return quant.requantize(ctx, y, grid)


@handler("quantized::relu6")
def quantized_relu6(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::relu6(Tensor qx, bool inplace=False) -> Tensor"""
    x, params = quantized_input(ctx, node, 0)
    return quant.clamp_on_grid(ctx, x, params, 0.0, 6.0)


@handler("quantized::clamp")
def quantized_clamp(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::clamp(Tensor qx, Scalar? min=None, Scalar? max=None) -> Tensor qy"""
    x, params = quantized_input(ctx, node, 0)
    bounds = [node.input("min"), node.input("max")]
    low, high = (None if ctx.is_none(b) else float(ctx.const(b)) for b in bounds)  # type: ignore[arg-type]
    return quant.clamp_on_grid(ctx, x, params, low, high)


@handler("quantized::elu", "quantized::celu")
def quantized_elu(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::elu(Tensor self, float output_scale, int output_zero_point, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor; celu(self, scale, zero point, alpha)"""  # noqa: E501
    x, params = quantized_input(ctx, node, 0)
    alpha = float(ctx.const(node.input("alpha")))  # type: ignore[arg-type]
    if node.kind == "quantized::celu":
        y = ctx.op("Celu", x, alpha=alpha)
        return quant.requantize(ctx, y, _grid(ctx, node, params))
    scale = float(ctx.const(node.input("scale")))  # type: ignore[arg-type]
    input_scale = float(ctx.const(node.input("input_scale")))  # type: ignore[arg-type]
    # scale * (x if x > 0 else alpha * (exp(x * input_scale) - 1))
    negative = ctx.op("Mul", x, ctx.constant(input_scale, ir.DataType.FLOAT))
    negative = ctx.op("Elu", negative, alpha=alpha)
    zero = ctx.constant(0.0, ir.DataType.FLOAT)
    y = ctx.op("Where", ctx.op("Greater", x, zero), x, negative)
    if scale != 1.0:
        y = ctx.op("Mul", y, ctx.constant(scale, ir.DataType.FLOAT))
    return quant.requantize(ctx, y, _grid(ctx, node, params))


def _grid(ctx: TranslationContext, node: TSNode, like: quant.QParams) -> quant.QParams:
    """The output grid named by the node's output_scale and output_zero_point arguments."""
    scale = float(ctx.const(node.input("output_scale")))  # type: ignore[arg-type]
    return quant.QParams(scale, ctx.const_int(node.input("output_zero_point")), like.dtype)
