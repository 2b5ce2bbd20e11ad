"""Weight-only quantized embeddings (``float_qparams_weight_only_qconfig``) and byte-packed bags.

The rows are uint8 with a float scale and a float bias per row; torch's kernels compute a row
as ``fma(scale, q, bias)`` with ``bias = -zero_point * scale`` (float32). The export keeps the
uint8 table and gathers rows, scales and biases by index, then ``q * scale + bias``; the
product and the sum are rounded separately, so values may differ from torch's fused
multiply-add in the last bit (within the float tolerance), never by a quantization step.
Bags (``embedding_bag_byte``) sum or average the rows of each bag with a 0/1 membership matrix.
"""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.quantized import packed_params
from converter.translate.registry import handler

__all__: list[str] = []

_F = ir.DataType.FLOAT
_I64 = ir.DataType.INT64


def _rowwise_tables(ctx: TranslationContext, node: TSNode) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(uint8 rows, scale column, bias column) initializers of the node's weight argument."""
    weight = node.input("weight")
    if node.kind == "quantized::embedding_bag_byte_rowwise_offsets":
        stored = ctx.tensor(weight).const_value
        if stored is None or stored.dtype != ir.DataType.UINT8:
            raise Unsupported("the byte-packed embedding weights are not a constant uint8 tensor")
        packed = torch.from_numpy(stored.numpy().copy())
        dim = packed.shape[1] - 8  # each row ends with its float32 scale and bias
        scale_bias = packed[:, dim:].contiguous().view(torch.float32)
        q, scale, bias = packed[:, :dim], scale_bias[:, :1], scale_bias[:, 1:]
    else:
        w: object = packed_params(ctx, weight).unpack()  # a tensor for embeddings
        if not isinstance(w, torch.Tensor) or w.dtype != torch.quint8:
            raise Unsupported("embedding weights that are not quint8 (4-bit tables)")
        if w.qscheme() != torch.per_channel_affine_float_qparams:
            raise Unsupported(f"embedding weights quantized {w.qscheme()}")
        scale = w.q_per_channel_scales().float()[:, None]
        q, bias = w.int_repr(), -w.q_per_channel_zero_points().float()[:, None] * scale
    return (
        ctx.initializer("qembedding", q.contiguous()),
        ctx.initializer("qembedding_scale", scale.contiguous()),
        ctx.initializer("qembedding_bias", bias.contiguous()),
    )


def _rows(ctx: TranslationContext, node: TSNode, indices: ir.Value) -> ir.Value:
    """The dequantized rows of ``indices``: shape indices.shape + (dim,)."""
    if node.has_input("pruned_weights") and ctx.const(node.input("pruned_weights")):
        raise Unsupported("pruned quantized embedding weights are not supported")
    q, scale, bias = _rowwise_tables(ctx, node)
    rows = ctx.cast(ctx.op("Gather", q, indices, axis=0), _F)
    rows = ctx.op("Mul", rows, ctx.op("Gather", scale, indices, axis=0))
    return ctx.op("Add", rows, ctx.op("Gather", bias, indices, axis=0))


@handler("quantized::embedding_byte")
def quantized_embedding_byte(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::embedding_byte(EmbeddingPackedParamsBase weight, Tensor indices, bool pruned_weights=False) -> Tensor"""  # noqa: E501
    return _rows(ctx, node, ctx.tensor(node.input("indices")))


@handler("quantized::embedding_bag_byte", "quantized::embedding_bag_byte_rowwise_offsets")
def quantized_embedding_bag_byte(ctx: TranslationContext, node: TSNode) -> Entry:
    """quantized::embedding_bag_byte(EmbeddingPackedParamsBase weight, Tensor indices, Tensor? offsets=None, bool scale_grad_by_freq=False, int mode=0, bool pruned_weights=False, Tensor? per_sample_weights=None, Tensor? compressed_indices_mapping=None, bool include_last_offset=False) -> Tensor"""  # noqa: E501
    mode = ctx.const_int(node.input("mode"))
    if mode not in (0, 1):
        raise Unsupported("only sum and mean quantized embedding bags are supported (not max)")
    if mode == 1 and node.kind.endswith("_rowwise_offsets"):
        raise Unsupported(
            "torch 2.13's embedding_bag_byte_rowwise_offsets kernel sums the bags it is asked to "
            "average (mode=1); use quantized::embedding_bag_byte or mode=0"
        )
    indices = ctx.tensor(node.input("indices"))
    rows = _rows(ctx, node, indices)
    if not ctx.is_none(node.input("per_sample_weights")):
        weights = ctx.tensor(node.input("per_sample_weights"), _F)
        rows = ctx.op("Mul", rows, ctx.op("Unsqueeze", weights, ctx.constant([-1])))
    if ctx.is_none(node.input("offsets")):
        if ctx.rank(indices) != 2:
            raise Unsupported("a bag without offsets needs 2-d indices")
        reduce = "ReduceMean" if mode == 1 else "ReduceSum"
        return ctx.op(reduce, rows, ctx.constant([1]), keepdims=0)
    members = _membership(ctx, node, ctx.op("Shape", indices))
    summed = ctx.op("MatMul", members, rows)
    if mode == 0:
        return summed
    count = ctx.op("ReduceSum", members, ctx.constant([1]), keepdims=1)
    return ctx.op("Div", summed, ctx.op("Max", count, ctx.constant(1.0, _F)))


def _membership(ctx: TranslationContext, node: TSNode, length: ir.Value) -> ir.Value:
    """(bags, L) float matrix: 1 where index position p lies in [start_b, end_b)."""
    offsets = ctx.cast(ctx.tensor(node.input("offsets")), _I64)
    if ctx.const(node.input("include_last_offset")):
        starts = ctx.op("Slice", offsets, ctx.constant([0]), ctx.constant([-1]))
        ends = ctx.op("Slice", offsets, ctx.constant([1]), ctx.constant([2**62]))
    else:
        starts = offsets
        tail = ctx.op("Slice", offsets, ctx.constant([1]), ctx.constant([2**62]))
        ends = ctx.op("Concat", tail, length, axis=0)
    positions = ctx.op(
        "Range", ctx.constant(0, _I64), ctx.op("Squeeze", length), ctx.constant(1, _I64)
    )
    column = ctx.constant([-1, 1])
    inside = ctx.op(
        "And",
        ctx.op("GreaterOrEqual", positions, ctx.op("Reshape", starts, column)),
        ctx.op("Less", positions, ctx.op("Reshape", ends, column)),
    )
    return ctx.cast(inside, _F)
