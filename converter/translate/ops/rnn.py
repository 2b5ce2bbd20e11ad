"""Recurrent layers: nn.LSTM, nn.GRU and nn.RNN (tanh, relu) as ONNX LSTM/GRU/RNN, layer by layer.

PyTorch runs all layers and directions in one ``aten::lstm``/``gru``/``rnn_*`` node; ONNX has
one node per layer (both directions in it). Each layer's weights are re-laid out at translation
time into the initializers ONNX wants: W [dirs, gates*H, in], R [dirs, gates*H, H] and
B [dirs, 2*gates*H] (input bias, then recurrence bias), gates in ONNX order.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

_FLOATS = (ir.DataType.FLOAT16, ir.DataType.FLOAT, ir.DataType.DOUBLE)


@dataclasses.dataclass(frozen=True)
class _Cell:
    """One recurrent cell type: its ONNX op, gate count and PyTorch -> ONNX gate order."""

    name: str  # "LSTM", "GRU" or "RNN", also the ONNX op type
    gates: int
    order: tuple[int, ...]  # ONNX gate k is PyTorch gate order[k]
    activation: str | None = None  # RNN only: "Tanh" or "Relu"


# PyTorch LSTM gates are (i, f, g, o), ONNX LSTM wants (i, o, f, c);
# PyTorch GRU gates are (r, z, n), ONNX GRU wants (z, r, h).
_LSTM = _Cell("LSTM", 4, (0, 3, 1, 2))
_GRU = _Cell("GRU", 3, (1, 0, 2))
_RNN_TANH = _Cell("RNN", 1, (0,), "Tanh")
_RNN_RELU = _Cell("RNN", 1, (0,), "Relu")


def _weight(entry: Entry, what: str) -> torch.Tensor:
    """A weight of the ``params`` list as a torch tensor (it must be a constant)."""
    if isinstance(entry, torch.Tensor):
        return entry.detach().cpu()
    if isinstance(entry, ir.Value) and entry.const_value is not None:
        return torch.from_numpy(np.array(entry.const_value.numpy()))
    raise Unsupported(f"the {what} is computed at run time; only constant (frozen) weights work")


def _reorder(w: torch.Tensor, cell: _Cell) -> torch.Tensor:
    """Gate blocks along dim 0 of a PyTorch weight or bias, rearranged into ONNX's order."""
    blocks = w.chunk(cell.gates, dim=0)
    return torch.cat([blocks[k] for k in cell.order], dim=0)


def _is_zeros(value: ir.Value) -> bool:
    """True if the value is known to be all zeros (a constant, or ConstantOfShape of 0)."""
    if value.const_value is not None:
        return not np.any(value.const_value.numpy())
    producer = value.producer()
    if producer is None or producer.op_type != "ConstantOfShape":
        return False
    attr = producer.attributes.get("value")
    return attr is None or not np.any(attr.as_tensor().numpy())


def _states(ctx: TranslationContext, node: TSNode, cell: _Cell) -> list[ir.Value]:
    """The initial states: [h0] or, for LSTM, [h0, c0]; each [layers*dirs, batch, hidden]."""
    entry = ctx.entry(node.input("hx"))
    if cell is _LSTM:
        if not isinstance(entry, list | tuple) or len(entry) != 2:
            raise Unsupported("LSTM initial state must be a pair (h0, c0)")
        return [ctx.as_tensor(e, "hx") for e in entry]
    return [ctx.tensor(node.input("hx"))]


def _layer_state(
    ctx: TranslationContext, state: ir.Value, layer: int, dirs: int, layers: int
) -> ir.Value | None:
    """The part of an initial state for one layer: rows layer*dirs .. (layer+1)*dirs."""
    if _is_zeros(state):
        return None  # ONNX's default initial state is zeros
    if layers == 1:
        return state
    start, end = ctx.constant([layer * dirs]), ctx.constant([(layer + 1) * dirs])
    return ctx.op("Slice", state, start, end, ctx.constant([0]))


def _rnn(ctx: TranslationContext, node: TSNode, cell: _Cell) -> tuple[Entry, ...]:
    op = node.kind
    if node.has_input("batch_sizes"):
        raise Unsupported(
            f"{op} on a packed sequence (nn.utils.rnn.PackedSequence) is not supported; "
            "pass a padded tensor instead"
        )
    if ctx.const(node.input("train")):
        raise Unsupported(
            f"{op} recorded in training mode (train=True: dropout between layers); "
            "call model.eval() before tracing"
        )
    x = ctx.tensor(node.input("input"))
    dtype = ctx.dtype(x)
    if dtype not in _FLOATS:
        raise Unsupported(f"{op} of a {dtype.name} tensor: ONNX {cell.name} takes float types")
    if ctx.rank(x) != 3:
        raise Unsupported(f"{op} input must be 3-D (sequence, batch, features)")
    has_biases = bool(ctx.const(node.input("has_biases")))
    layers = ctx.const_int(node.input("num_layers"))
    dirs = 2 if ctx.const(node.input("bidirectional")) else 1
    batch_first = bool(ctx.const(node.input("batch_first")))
    params = ctx.entry(node.input("params"))
    if not isinstance(params, list | tuple):
        raise Unsupported(f"{op} weights must be a list of constant tensors")

    per = 4 if has_biases else 2  # w_ih, w_hh[, b_ih, b_hh] per layer and direction
    if cell is _LSTM and len(params) == layers * dirs * (per + 1):
        raise Unsupported("LSTM with proj_size (projected hidden state) has no ONNX equivalent")
    if len(params) != layers * dirs * per:
        raise Unsupported(
            f"{op} has {len(params)} weight tensors, expected {layers * dirs * per} "
            f"for {layers} layer(s) x {dirs} direction(s)"
        )
    w_hh = _weight(params[1], "hidden-hidden weight")
    hidden = int(w_hh.shape[1])
    if tuple(w_hh.shape) != (cell.gates * hidden, hidden):
        raise Unsupported(f"{op} hidden-hidden weight has unexpected shape {list(w_hh.shape)}")

    states = [ctx.cast(s, dtype) for s in _states(ctx, node, cell)]
    torch_dtype = dtypes.to_torch(dtype)
    seq = ctx.op("Transpose", x, perm=[1, 0, 2]) if batch_first else x
    finals: list[list[ir.Value]] = [[] for _ in states]
    base = node.outputs[0].debugName()
    for layer in range(layers):
        group = params[layer * dirs * per : (layer + 1) * dirs * per]
        weights = [_weight(p, f"layer {layer} weight") for p in group]
        ws = [weights[d * per : (d + 1) * per] for d in range(dirs)]  # per direction
        w = torch.stack([_reorder(d[0], cell) for d in ws]).to(torch_dtype)
        r = torch.stack([_reorder(d[1], cell) for d in ws]).to(torch_dtype)
        inputs: list[ir.Value | None] = [
            seq,
            ctx.initializer(f"{base}_W_l{layer}", w),
            ctx.initializer(f"{base}_R_l{layer}", r),
        ]
        if has_biases:
            b = torch.stack([torch.cat([_reorder(d[2], cell), _reorder(d[3], cell)]) for d in ws])
            inputs.append(ctx.initializer(f"{base}_B_l{layer}", b.to(torch_dtype)))
        else:
            inputs.append(None)
        inputs.append(None)  # sequence_lens: every sequence is full length
        inputs += [_layer_state(ctx, s, layer, dirs, layers) for s in states]
        y, *last = ctx.op_multi(
            cell.name,
            *inputs,
            num_outputs=1 + len(states),
            hidden_size=hidden,
            direction="bidirectional" if dirs == 2 else "forward",
            # PyTorch's GRU applies the reset gate after the hidden-hidden product
            linear_before_reset=1 if cell is _GRU else None,
            activations=[cell.activation] * dirs if cell.activation else None,
        )
        for i, value in enumerate(last):
            finals[i].append(value)
        # ONNX Y is [seq, dirs, batch, hidden]; the next layer takes [seq, batch, dirs*hidden].
        if dirs == 1:
            seq = ctx.op("Squeeze", y, ctx.constant([1]))
        else:
            y = ctx.op("Transpose", y, perm=[0, 2, 1, 3])
            seq = ctx.op("Reshape", y, ctx.constant([0, 0, dirs * hidden]))
    output = ctx.op("Transpose", seq, perm=[1, 0, 2]) if batch_first else seq
    # h_n (and c_n): [layers*dirs, batch, hidden], layer-major like PyTorch.
    last_states = [v[0] if layers == 1 else ctx.op("Concat", *v, axis=0) for v in finals]
    return (output, *last_states)


@handler("aten::lstm")
def aten_lstm(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::lstm.input(Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor, Tensor)

    The packed-sequence overload ``aten::lstm.data`` (data, batch_sizes, ...) is refused.
    """  # noqa: E501
    return _rnn(ctx, node, _LSTM)


@handler("aten::gru")
def aten_gru(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::gru.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)

    The packed-sequence overload ``aten::gru.data`` is refused.
    """  # noqa: E501
    return _rnn(ctx, node, _GRU)


@handler("aten::rnn_tanh")
def aten_rnn_tanh(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::rnn_tanh.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)

    The packed-sequence overload ``aten::rnn_tanh.data`` is refused.
    """  # noqa: E501
    return _rnn(ctx, node, _RNN_TANH)


@handler("aten::rnn_relu")
def aten_rnn_relu(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """aten::rnn_relu.input(Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, float dropout, bool train, bool bidirectional, bool batch_first) -> (Tensor, Tensor)

    The packed-sequence overload ``aten::rnn_relu.data`` is refused.
    """  # noqa: E501
    return _rnn(ctx, node, _RNN_RELU)
