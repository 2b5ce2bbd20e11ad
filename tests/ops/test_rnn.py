"""Parity of nn.LSTM, nn.GRU and nn.RNN (aten::lstm, aten::gru, aten::rnn_tanh, aten::rnn_relu)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from converter import ConvertOptions, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, save_archive

SEQ, BATCH, FEATURES, HIDDEN = 5, 2, 3, 8


# ---- modules -----------------------------------------------------------------------------------
class _Output(nn.Module):
    """Only the output sequence."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.rnn(x)[0]
        return y


class _LSTMAll(nn.Module):
    """(output, (h_n, c_n)), as nn.LSTM returns them."""

    def __init__(self, rnn: nn.LSTM) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        y, (h, c) = self.rnn(x)
        return y, (h, c)


class _All(nn.Module):
    """(output, h_n) of a GRU or RNN."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.rnn(x)
        return y, h


class _LSTMStates(nn.Module):
    """Initial states as inputs: forward(x, h0, c0) -> (output, (h_n, c_n))."""

    def __init__(self, rnn: nn.LSTM) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        y, (h, c) = self.rnn(x, (h0, c0))
        return y, (h, c)


class _States(nn.Module):
    """Initial state as input: forward(x, h0) -> (output, h_n) of a GRU or RNN."""

    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor, h0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, h = self.rnn(x, h0)
        return y, h


# ---- inputs ------------------------------------------------------------------------------------
def _seq_major() -> tuple[torch.Tensor, ...]:
    return (torch.randn(SEQ, BATCH, FEATURES),)


def _batch_major() -> tuple[torch.Tensor, ...]:
    return (torch.randn(BATCH, SEQ, FEATURES),)


def _with_states(
    layers: int, dirs: int, cells: int, batch_first: bool = False
) -> Callable[[], tuple[torch.Tensor, ...]]:
    """x plus ``cells`` initial states (1 for h0, 2 for h0 and c0)."""

    def make() -> tuple[torch.Tensor, ...]:
        (x,) = _batch_major() if batch_first else _seq_major()
        states = [torch.randn(layers * dirs, BATCH, HIDDEN) for _ in range(cells)]
        return (x, *states)

    return make


def _lstm(**kw: object) -> nn.LSTM:
    return nn.LSTM(FEATURES, HIDDEN, **kw)


def _gru(**kw: object) -> nn.GRU:
    return nn.GRU(FEATURES, HIDDEN, **kw)


def _rnn(**kw: object) -> nn.RNN:
    return nn.RNN(FEATURES, HIDDEN, **kw)


def _relu(**kw: object) -> nn.RNN:
    return nn.RNN(FEATURES, HIDDEN, nonlinearity="relu", **kw)


# Dynamic dims: the batch is dim 1 of a sequence-major input (dim 0 is the sequence), dim 0 of a
# batch-first one. With initial states as inputs only the sequence length is dynamic: the batch
# is dim 1 of h0/c0, and the probes resize each symbolic dim on its own, which the module's
# hidden-size check rejects.
_BATCH: dict[str, Any] = {"dynamic_batch": False, "dynamic_dims": {0: (1,)}}
_SEQ_BATCH: dict[str, Any] = {"dynamic_batch": False, "dynamic_dims": {0: (0, 1)}}
_BF_SEQ_BATCH: dict[str, Any] = {"dynamic_dims": {0: (0, 1)}}  # batch-first: dim 0 is the batch
_SEQ: dict[str, Any] = {"dynamic_batch": False, "dynamic_dims": {0: (0,)}}
_BF_SEQ: dict[str, Any] = {"dynamic_batch": False, "dynamic_dims": {0: (1,)}}

# Op sets with the initial states as inputs (zero states from aten::zeros add nodes of their
# own): each layer is one recurrent op with Slice picking its rows of h0/c0; between layers
# Squeeze (one direction) or Transpose + Reshape (two); Concat gathers the final states.
_GRU_2 = frozenset({"GRU", "Slice", "Squeeze", "Concat"})
_BI_2 = frozenset({"LSTM", "Slice", "Transpose", "Reshape", "Concat"})
_BI_2_GRU = _BI_2 - {"LSTM"} | {"GRU"}

CASES = [
    # ---- LSTM, traced
    OpCase("lstm", lambda: _Output(_lstm()), _seq_major, **_BATCH),
    OpCase("lstm_all", lambda: _LSTMAll(_lstm()), _seq_major, **_SEQ_BATCH),
    OpCase("lstm_module", _lstm, _seq_major, **_SEQ_BATCH),  # nn.LSTM itself: (y, (h, c))
    OpCase("lstm_2layers", lambda: _LSTMAll(_lstm(num_layers=2)), _seq_major, **_SEQ_BATCH),
    OpCase("lstm_bidir", lambda: _LSTMAll(_lstm(bidirectional=True)), _seq_major, **_SEQ_BATCH),
    OpCase("lstm_bidir_2layers", lambda: _LSTMAll(_lstm(num_layers=2, bidirectional=True)),
           _seq_major, **_SEQ_BATCH),
    OpCase("lstm_batch_first", lambda: _LSTMAll(_lstm(batch_first=True)), _batch_major,
           **_BF_SEQ_BATCH),
    OpCase("lstm_batch_first_bidir_2layers",
           lambda: _LSTMAll(_lstm(num_layers=2, bidirectional=True, batch_first=True)),
           _batch_major, **_BF_SEQ_BATCH),
    OpCase("lstm_no_bias", lambda: _LSTMAll(_lstm(bias=False, num_layers=2)), _seq_major,
           **_SEQ_BATCH),
    OpCase("lstm_dropout_eval", lambda: _LSTMAll(_lstm(num_layers=3, dropout=0.5)), _seq_major,
           **_BATCH),
    OpCase("lstm_states", lambda: _LSTMStates(_lstm()), _with_states(1, 1, 2),
           expect_ops=frozenset({"LSTM", "Squeeze"}), **_SEQ),
    OpCase("lstm_states_bidir_2layers",
           lambda: _LSTMStates(_lstm(num_layers=2, bidirectional=True)), _with_states(2, 2, 2),
           expect_ops=_BI_2, **_SEQ),
    OpCase("lstm_states_batch_first_2layers",
           lambda: _LSTMStates(_lstm(num_layers=2, batch_first=True)),
           _with_states(2, 1, 2, batch_first=True), **_BF_SEQ),
    OpCase("lstm_states_no_bias", lambda: _LSTMStates(_lstm(bias=False, bidirectional=True)),
           _with_states(1, 2, 2), **_SEQ),
    # ---- GRU, traced
    OpCase("gru", lambda: _Output(_gru()), _seq_major, **_BATCH),
    OpCase("gru_all", lambda: _All(_gru()), _seq_major, **_SEQ_BATCH),
    OpCase("gru_2layers", lambda: _All(_gru(num_layers=2)), _seq_major, **_SEQ_BATCH),
    OpCase("gru_bidir_2layers", lambda: _All(_gru(num_layers=2, bidirectional=True)),
           _seq_major, **_SEQ_BATCH),
    OpCase("gru_batch_first", lambda: _All(_gru(batch_first=True)), _batch_major,
           **_BF_SEQ_BATCH),
    OpCase("gru_no_bias", lambda: _All(_gru(bias=False, bidirectional=True)), _seq_major,
           **_SEQ_BATCH),
    OpCase("gru_states_2layers", lambda: _States(_gru(num_layers=2)), _with_states(2, 1, 1),
           expect_ops=_GRU_2, **_SEQ),
    OpCase("gru_states_bidir_2layers", lambda: _States(_gru(num_layers=2, bidirectional=True)),
           _with_states(2, 2, 1), expect_ops=_BI_2_GRU, **_SEQ),
    OpCase("gru_states_batch_first", lambda: _States(_gru(batch_first=True)),
           _with_states(1, 1, 1, batch_first=True), **_BF_SEQ),
    # ---- RNN (tanh, relu), traced
    OpCase("rnn_tanh", lambda: _All(_rnn()), _seq_major, **_SEQ_BATCH),
    OpCase("rnn_tanh_bidir_2layers", lambda: _All(_rnn(num_layers=2, bidirectional=True)),
           _seq_major, **_SEQ_BATCH),
    OpCase("rnn_tanh_batch_first_no_bias", lambda: _All(_rnn(batch_first=True, bias=False)),
           _batch_major, **_BF_SEQ_BATCH),
    OpCase("rnn_relu", lambda: _All(_relu()), _seq_major, **_SEQ_BATCH),
    OpCase("rnn_relu_bidir_2layers", lambda: _All(_relu(num_layers=2, bidirectional=True)),
           _seq_major, **_SEQ_BATCH),
    OpCase("rnn_relu_batch_first", lambda: _Output(_relu(batch_first=True, num_layers=2)),
           _batch_major, **_BF_SEQ_BATCH),
    OpCase("rnn_tanh_states", lambda: _States(_rnn(num_layers=2)), _with_states(2, 1, 1),
           **_SEQ),
    OpCase("rnn_relu_states_bidir", lambda: _States(_relu(bidirectional=True)),
           _with_states(1, 2, 1), **_SEQ),
    # ---- scripted (aten::lstm/gru/rnn_* with the states as a list or tensor). The scripted
    # forward checks hx.size() against a list holding the batch size, which the shared
    # aten::ne.int_list handler cannot compare at run time: the batch stays static.
    OpCase("lstm_scripted", lambda: _Output(_lstm(num_layers=2)), _seq_major, mode="script",
           **_SEQ),
    OpCase("lstm_all_scripted", lambda: _LSTMAll(_lstm(bidirectional=True, batch_first=True)),
           _batch_major, mode="script", **_BF_SEQ),
    OpCase("lstm_states_scripted",
           lambda: _LSTMStates(_lstm(num_layers=2, bidirectional=True)), _with_states(2, 2, 2),
           mode="script", **_SEQ),
    OpCase("gru_scripted", lambda: _All(_gru(num_layers=2, batch_first=True)), _batch_major,
           mode="script", **_BF_SEQ),
    OpCase("gru_states_scripted", lambda: _States(_gru(bidirectional=True, bias=False)),
           _with_states(1, 2, 1), mode="script", **_SEQ),
    OpCase("rnn_tanh_scripted", lambda: _All(_rnn(bidirectional=True)), _seq_major,
           mode="script", **_SEQ),
    OpCase("rnn_relu_states_scripted", lambda: _States(_relu(num_layers=2)),
           _with_states(2, 1, 1), mode="script", **_SEQ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


# ---- refusals ----------------------------------------------------------------------------------
class _Packed(nn.Module):
    """aten::lstm.data: the LSTM run on a PackedSequence's data and batch sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = _lstm()

    def forward(self, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(1, 2, self.rnn.hidden_size)
        weights: list[torch.Tensor] = self.rnn._flat_weights  # type: ignore[assignment]
        return torch.lstm(data, batch_sizes, (h, h), weights, True, 1, 0.0, False, False)[0]


class _Training(nn.Module):
    """aten::lstm with train=True (nn.LSTM traced without .eval() looks the same)."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = _lstm(num_layers=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(2, BATCH, HIDDEN)
        weights: list[torch.Tensor] = self.rnn._flat_weights  # type: ignore[assignment]
        return torch.lstm(x, (h, h), weights, True, 2, 0.0, True, False, False)[0]


def _packed_inputs() -> tuple[torch.Tensor, ...]:
    return torch.randn(5, FEATURES), torch.tensor([2, 2, 1])


REFUSED = [
    ("lstm_proj", lambda: _Output(_lstm(proj_size=3)), _seq_major, "trace", "proj_size"),
    ("lstm_packed", _Packed, _packed_inputs, "script", "packed sequence"),
    ("lstm_training", _Training, _seq_major, "trace", "training mode"),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize(
    ("name", "make", "inputs", "mode", "reason"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused(
    name: str, make: object, inputs: object, mode: str, reason: str, tmp_path: Path
) -> None:
    x = inputs()  # type: ignore[operator]
    archive = save_archive(make().eval(), x, tmp_path / f"{name}.pt", mode)  # type: ignore[operator, arg-type]
    out = tmp_path / f"{name}.onnx"
    with pytest.raises(TranslationError, match=reason):
        convert(archive, out, x, options=ConvertOptions(dynamic_batch=False))
    assert not out.exists()
