"""Dynamically quantized LSTM and GRU (``quantize_dynamic`` on nn.LSTM / nn.GRU), unrolled in time.

For each layer and direction, torch's ``aten::quantized_lstm`` / ``quantized_gru`` with int8
cell parameters projects the whole input sequence through one dynamic linear (the sequence
quantized at once, on its own range), then at every time step projects the hidden state through
a dynamic linear that quantizes that step's state afresh, then runs the float cell. ONNX's
LSTM/GRU operators cannot requantize inside, so the export unrolls the steps with the same
dynamic linears (``quantized_dynamic.py``); the sequence length must be static. Cell parameters
of ``dtype=torch.float16`` use weights rounded to float16 and no activation quantization.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.quantized import PackedWeights
from converter.translate.ops.quantized_dynamic import dynamic_linear, fp16_linear
from converter.translate.registry import handler

__all__: list[str] = []

Linear = Callable[[ir.Value], ir.Value]
Step = Callable[[TranslationContext, ir.Value, list[ir.Value], Linear], list[ir.Value]]


def _cell_linears(ctx: TranslationContext, params: object) -> tuple[Linear, Linear]:
    """The input and hidden projections of one layer and direction (a CellParamsBase)."""
    getstate = getattr(params, "__getstate__", None)
    state = getstate()[0] if callable(getstate) else None
    if not isinstance(state, tuple) or len(state) != 5:
        raise Unsupported("the recurrent cell parameters are not a frozen CellParamsBase")
    kind, _, _, longs, packed = state
    ih, hh = (cast(PackedWeights, p) for p in packed)
    if kind == "quantized_dynamic":
        reduce_range = bool(longs[0])
        return (
            lambda x: dynamic_linear(ctx, x, ih, reduce_range, integer=True),
            lambda h: dynamic_linear(ctx, h, hh, reduce_range, integer=True),
        )
    if kind == "quantized_fp16":
        return lambda x: fp16_linear(ctx, x, ih), lambda h: fp16_linear(ctx, h, hh)
    raise Unsupported(f"recurrent cell parameters of kind {kind!r} are not supported")


def _split(ctx: TranslationContext, x: ir.Value, parts: int) -> list[ir.Value]:
    """Equal chunks of the last axis of a (batch, parts * hidden) value."""
    width = ctx.static_dim(x, 1)
    if width is None:
        raise Unsupported("the gate width of a quantized recurrent layer is not static")
    sizes = ctx.constant([width // parts] * parts)
    return list(ctx.op_multi("Split", x, sizes, num_outputs=parts, axis=1))


def _lstm_step(
    ctx: TranslationContext, pre: ir.Value, state: list[ir.Value], hidden: Linear
) -> list[ir.Value]:
    """i, f, g, o = pre + W_hh h; c' = sig(f) c + sig(i) tanh(g); h' = sig(o) tanh(c')."""
    h, c = state
    i, f, g, o = _split(ctx, ctx.op("Add", pre, hidden(h)), 4)
    i, f, o = (ctx.op("Sigmoid", v) for v in (i, f, o))
    c = ctx.op("Add", ctx.op("Mul", f, c), ctx.op("Mul", i, ctx.op("Tanh", g)))
    return [ctx.op("Mul", o, ctx.op("Tanh", c)), c]


def _gru_step(
    ctx: TranslationContext, pre: ir.Value, state: list[ir.Value], hidden: Linear
) -> list[ir.Value]:
    """r, z from the summed projections; n = tanh(x_n + r * h_n); h' = (h - n) z + n."""
    (h,) = state
    x_r, x_z, x_n = _split(ctx, pre, 3)
    h_r, h_z, h_n = _split(ctx, hidden(h), 3)
    r = ctx.op("Sigmoid", ctx.op("Add", x_r, h_r))
    z = ctx.op("Sigmoid", ctx.op("Add", x_z, h_z))
    n = ctx.op("Tanh", ctx.op("Add", x_n, ctx.op("Mul", r, h_n)))
    return [ctx.op("Add", ctx.op("Mul", ctx.op("Sub", h, n), z), n)]


def _states(ctx: TranslationContext, node: TSNode, lstm: bool) -> list[ir.Value]:
    """[h0] or, for LSTM, [h0, c0]; each (layers * dirs, batch, hidden)."""
    entry = ctx.entry(node.input("hx"))
    if lstm:
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise Unsupported("LSTM initial state must be a pair (h0, c0)")
        return [ctx.as_tensor(e, "hx") for e in entry]
    return [ctx.tensor(node.input("hx"))]


def _run(
    ctx: TranslationContext,
    seq: ir.Value,
    states: list[ir.Value],
    linears: tuple[Linear, Linear],
    step: Step,
    reverse: bool,
) -> tuple[ir.Value, list[ir.Value]]:
    """One direction of one layer over a (steps, batch, features) sequence, unrolled."""
    steps = ctx.static_dim(seq, 0)
    if steps is None:
        raise Unsupported("a dynamically quantized LSTM/GRU needs a static sequence length")
    pre = linears[0](seq)  # the whole sequence quantized at once, as torch does
    outputs: dict[int, ir.Value] = {}
    for t in reversed(range(steps)) if reverse else range(steps):
        current = ctx.op("Gather", pre, ctx.constant(t), axis=0)
        states = step(ctx, current, states, linears[1])
        outputs[t] = ctx.op("Unsqueeze", states[0], ctx.constant([0]))
    return ctx.op("Concat", *(outputs[t] for t in range(steps)), axis=0), states


def _quantized_rnn(ctx: TranslationContext, node: TSNode, lstm: bool) -> tuple[Entry, ...]:
    if ctx.const(node.input("train")):
        raise Unsupported("a quantized LSTM/GRU recorded in training mode; call model.eval()")
    layers, dirs = (
        ctx.const_int(node.input("num_layers")),
        2 if ctx.const(node.input("bidirectional")) else 1,
    )
    params = ctx.entry(node.input("params"))
    if not isinstance(params, list | tuple) or len(params) != layers * dirs:
        raise Unsupported("the quantized LSTM/GRU cell parameters are not a constant list")
    x = ctx.tensor(node.input("input"))
    batch_first = bool(ctx.const(node.input("batch_first")))
    seq = ctx.op("Transpose", x, perm=[1, 0, 2]) if batch_first else x
    initial = _states(ctx, node, lstm)
    finals: list[list[ir.Value]] = [[] for _ in initial]
    for layer in range(layers):
        outs = []
        for d in range(dirs):
            index = ctx.constant(layer * dirs + d)
            states = [ctx.op("Gather", s, index, axis=0) for s in initial]
            linears = _cell_linears(ctx, params[layer * dirs + d])
            out, states = _run(ctx, seq, states, linears, _lstm_step if lstm else _gru_step, d == 1)
            outs.append(out)
            for i, s in enumerate(states):
                finals[i].append(ctx.op("Unsqueeze", s, ctx.constant([0])))
        seq = outs[0] if dirs == 1 else ctx.op("Concat", *outs, axis=2)
    output = ctx.op("Transpose", seq, perm=[1, 0, 2]) if batch_first else seq
    return (output, *(ctx.op("Concat", *f, axis=0) for f in finals))


@handler("aten::quantized_lstm")
def aten_quantized_lstm(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::quantized_lstm.input(Tensor input, Tensor[] hx, CellParamsBase[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first, *, ScalarType? dtype=None, bool use_dynamic=False) -> (Tensor, Tensor, Tensor)"""  # noqa: E501
    if node.overload not in ("", "input"):
        raise Unsupported(f"the {node.overload!r} overload (packed sequences) is not supported")
    return _quantized_rnn(ctx, node, lstm=True)


@handler("aten::quantized_gru")
def aten_quantized_gru(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::quantized_gru.input(Tensor input, Tensor hx, CellParamsBase[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)"""  # noqa: E501
    if node.overload not in ("", "input"):
        raise Unsupported(f"the {node.overload!r} overload (packed sequences) is not supported")
    return _quantized_rnn(ctx, node, lstm=False)
