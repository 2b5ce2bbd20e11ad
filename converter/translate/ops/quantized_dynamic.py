"""Dynamically quantized linear layers (``torch.ao.quantization.quantize_dynamic``).

``quantized::linear_dynamic`` quantizes its float input to uint8 with parameters chosen from the
input's own range at run time, multiplies by the int8 weight and returns float. The export
computes the same parameters in the graph (``_choose_qparams``, the rule of PyTorch's
``ChooseQuantizationParams``), then ``QuantizeLinear`` -> ``DequantizeLinear`` -> ``MatMul``.

The quantized range depends on the engine that runs the TorchScript model
(``torch.backends.quantized.engine`` of the converting process): fbgemm and x86 use 0..127 when
``reduce_range`` is set (to keep their 16-bit intermediate sums from saturating), qnnpack always
uses 0..255. fbgemm/x86 without ``reduce_range`` can saturate, which ONNX cannot reproduce, so
that case is refused.

``quantized::linear_dynamic_fp16`` (``quantize_dynamic`` with ``dtype=torch.float16``) keeps the
input in float32 and multiplies by weights rounded to float16 (fbgemm widens them back to float32
inside the product): a float16 initializer, ``Cast`` to float32, ``MatMul`` and the float bias.
"""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.quantized import PackedWeights, dequantized_weight, packed_params
from converter.translate.registry import handler

__all__ = ["dynamic_linear", "fp16_linear"]

_SMALL_SCALE = float(torch.tensor(6.1e-5, dtype=torch.float32))  # SMALL_SCALE_THRESHOLD (float)
_D = ir.DataType.DOUBLE
_F = ir.DataType.FLOAT


def _qmax(reduce_range: bool) -> int:
    """The top of the uint8 range the current engine quantizes the input to."""
    engine = torch.backends.quantized.engine
    if engine == "qnnpack":
        return 255
    if engine not in ("fbgemm", "x86"):
        raise Unsupported(f"dynamic quantization on the {engine!r} engine is not supported")
    if not reduce_range:
        raise Unsupported(
            f"the {engine} engine without reduce_range can saturate its 16-bit intermediate "
            "sums, which ONNX cannot reproduce; quantize with reduce_range=True (the default)"
        )
    return 127


def _where(ctx: TranslationContext, cond: ir.Value, a: ir.Value, b: ir.Value) -> ir.Value:
    return ctx.op("Where", cond, a, b)


def _choose_qparams(ctx: TranslationContext, x: ir.Value, qmax: int) -> tuple[ir.Value, ir.Value]:
    """Scale (float) and zero point (uint8) for quantizing ``x`` to 0..qmax.

    lo = min(min(x), 0), hi = max(max(x), 0), scale = (hi - lo) / qmax in double (0.1 if
    float(scale) is 0 or its reciprocal overflows). A scale under 6.1e-5 becomes 6.1e-5 and
    lo, hi are stretched to match. zero_point = round_half_even(clip(z, 0, qmax)) with z the
    zero point implied by lo or by hi, whichever adds the smaller terms.
    """
    zero_f, zero_d = ctx.constant(0.0, _F), ctx.constant(0.0, _D)
    lo = ctx.op("Min", ctx.op("ReduceMin", x, keepdims=0), zero_f)
    hi = ctx.op("Max", ctx.op("ReduceMax", x, keepdims=0), zero_f)
    scale = ctx.op("Div", ctx.op("Sub", ctx.cast(hi, _D), ctx.cast(lo, _D)), ctx.constant(qmax, _D))
    scale_f = ctx.cast(scale, _F)
    degenerate = ctx.op(
        "Or",
        ctx.op("Equal", scale_f, zero_f),
        ctx.op("IsInf", ctx.op("Reciprocal", scale_f)),
    )
    scale = _where(ctx, degenerate, ctx.constant(0.1, _D), scale)
    lo, hi, scale = _cut_small_scale(ctx, lo, hi, scale, qmax)
    lo_d, hi_d = ctx.cast(lo, _D), ctx.cast(hi, _D)
    from_lo = ctx.op("Div", lo_d, scale)
    from_hi = ctx.op("Div", hi_d, scale)
    zp_lo = ctx.op("Neg", from_lo)
    zp_hi = ctx.op("Sub", ctx.constant(qmax, _D), from_hi)
    err_lo = ctx.op("Neg", ctx.op("Abs", from_lo))
    err_hi = ctx.op("Sub", ctx.constant(qmax, _D), ctx.op("Abs", from_hi))
    zp = _where(ctx, ctx.op("Less", err_lo, err_hi), zp_lo, zp_hi)
    zp = ctx.op("Round", ctx.op("Clip", zp, zero_d, ctx.constant(qmax, _D)))
    return ctx.cast(scale, _F), ctx.cast(zp, ir.DataType.UINT8)


def _cut_small_scale(
    ctx: TranslationContext, lo: ir.Value, hi: ir.Value, scale: ir.Value, qmax: int
) -> tuple[ir.Value, ir.Value, ir.Value]:
    """Raise a scale under the threshold to it; lo and hi (float) follow as PyTorch does."""
    small = ctx.op("Less", scale, ctx.constant(_SMALL_SCALE, _D))
    zero = ctx.constant(0.0, _F)
    span = float(torch.tensor(_SMALL_SCALE, dtype=torch.float32) * qmax)
    amplifier = ctx.op("Div", ctx.constant(_SMALL_SCALE, _F), ctx.cast(scale, _F))
    lo_zero, hi_zero = ctx.op("Equal", lo, zero), ctx.op("Equal", hi, zero)
    # lo == 0: hi = threshold * qmax; else hi == 0: lo = -threshold * qmax; else both scaled
    new_lo = _where(ctx, lo_zero, lo, ctx.op("Mul", lo, amplifier))
    new_lo = _where(
        ctx, ctx.op("And", hi_zero, ctx.op("Not", lo_zero)), ctx.constant(-span, _F), new_lo
    )
    new_hi = _where(ctx, hi_zero, hi, ctx.op("Mul", hi, amplifier))
    new_hi = _where(ctx, lo_zero, ctx.constant(span, _F), new_hi)
    lo = _where(ctx, small, new_lo, lo)
    hi = _where(ctx, small, new_hi, hi)
    return lo, hi, _where(ctx, small, ctx.constant(_SMALL_SCALE, _D), scale)


def dynamic_linear(
    ctx: TranslationContext,
    x: ir.Value,
    packed: PackedWeights,
    reduce_range: bool,
    integer: bool = False,
) -> ir.Value:
    """x @ W.T + b with x quantized to uint8 on parameters chosen from its own range.

    ``integer`` multiplies the integer operands (exact in float32) and scales the sums, as
    fbgemm does, instead of the QDQ form that ONNX Runtime fuses into its own integer kernels.
    """
    if ctx.dtype(x) != _F:
        raise Unsupported("dynamic quantization of a non-float32 input")
    qmax = _qmax(reduce_range)
    w, b = packed.unpack()
    if w.dtype != torch.qint8:
        raise Unsupported(f"dynamically quantized weights of dtype {w.dtype}")
    scale, zero = _choose_qparams(ctx, x, qmax)
    q = ctx.op("QuantizeLinear", x, scale, zero)
    if integer:
        y = _integer_product(ctx, q, scale, zero, w, qmax)
    else:
        xq = ctx.op("DequantizeLinear", q, scale, zero)
        y = ctx.op("MatMul", xq, dequantized_weight(ctx, w, transpose=True))
    if b is not None:
        y = ctx.op("Add", y, ctx.initializer("qbias", b.float()))
    return y


def _integer_product(
    ctx: TranslationContext,
    q: ir.Value,
    scale: ir.Value,
    zero: ir.Value,
    w: torch.Tensor,
    qmax: int,
) -> ir.Value:
    """(q - zero) @ (w_int - w_zero).T times scale * w_scale: integer sums, one scaling."""
    if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        w_scale = torch.tensor([w.q_scale()], dtype=torch.float32)
        ints = w.int_repr().float() - w.q_zero_point()
    else:
        w_scale = w.q_per_channel_scales().float()
        ints = w.int_repr().float() - w.q_per_channel_zero_points().float()[:, None]
    if qmax * float(ints.abs().max()) * w.shape[1] >= 2**24:  # every partial sum stays exact
        raise Unsupported(
            f"the integer sums of a dynamic linear with {w.shape[1]} inputs can exceed 2**24, "
            "where float32 stops being exact"
        )
    x_ints = ctx.op("Sub", ctx.cast(q, _F), ctx.cast(zero, _F))
    acc = ctx.op("MatMul", x_ints, ctx.initializer("qweight_int", ints.t().contiguous()))
    return ctx.op("Mul", acc, ctx.op("Mul", scale, ctx.initializer("qweight_scale", w_scale)))


def fp16_linear(ctx: TranslationContext, x: ir.Value, packed: PackedWeights) -> ir.Value:
    """x @ W.T + b with W rounded to float16 and widened back, as fbgemm's fp16 GEMM does."""
    if ctx.dtype(x) != _F:
        raise Unsupported("a float16 dynamic linear on a non-float32 input")
    w, b = packed.unpack()
    half = w.to(torch.float16)
    if not torch.equal(half.float(), w):
        raise Unsupported("the unpacked weights of a float16 dynamic linear are not float16 values")
    weight = ctx.cast(ctx.initializer("fp16_weight", half.t().contiguous()), _F)
    y = ctx.op("MatMul", x, weight)
    if b is not None:
        y = ctx.op("Add", y, ctx.initializer("bias", b.float()))
    return y


def _linear_dynamic(ctx: TranslationContext, node: TSNode, relu: bool) -> ir.Value:
    x = ctx.tensor(node.input("X"))
    packed = packed_params(ctx, node.input("W_prepack"))
    y = dynamic_linear(ctx, x, packed, bool(ctx.const(node.input("reduce_range"))))
    return ctx.op("Relu", y) if relu else y


@handler("quantized::linear_dynamic", "quantized::linear_relu_dynamic")
def quantized_linear_dynamic(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::linear_dynamic(Tensor X, LinearPackedParamsBase W_prepack, bool reduce_range=False) -> Tensor Y"""  # noqa: E501
    return _linear_dynamic(ctx, node, node.kind.endswith("_relu_dynamic"))


@handler("quantized::linear_dynamic_fp16", "quantized::linear_relu_dynamic_fp16")
def quantized_linear_dynamic_fp16(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::linear_dynamic_fp16(Tensor X, LinearPackedParamsBase W_prepack) -> Tensor Y"""
    y = fp16_linear(ctx, ctx.tensor(node.input("X")), packed_params(ctx, node.input("W_prepack")))
    return ctx.op("Relu", y) if node.kind.endswith("_relu_dynamic_fp16") else y
