"""Parity of activations, softmax and eval-mode dropout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 5, 7),)


class _Fn(nn.Module):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)  # type: ignore[operator]


CASES = [
    OpCase("relu", nn.ReLU, _x, expect_ops=frozenset({"Relu"})),
    OpCase("relu_inplace", lambda: nn.ReLU(inplace=True), _x, expect_ops=frozenset({"Relu"})),
    OpCase("relu6", nn.ReLU6, _x, expect_ops=frozenset({"Clip"})),
    OpCase("hardtanh", lambda: nn.Hardtanh(-0.5, 2.0), _x, expect_ops=frozenset({"Clip"})),
    OpCase("leaky_relu", lambda: nn.LeakyReLU(0.2), _x, expect_ops=frozenset({"LeakyRelu"})),
    OpCase("elu", lambda: nn.ELU(0.7), _x, expect_ops=frozenset({"Elu"})),
    OpCase("gelu", nn.GELU, _x),
    OpCase("gelu_tanh", lambda: nn.GELU("tanh"), _x),
    OpCase("gelu_opset20", nn.GELU, _x, opset=20, expect_ops=frozenset({"Gelu"})),
    OpCase(
        "gelu_tanh_opset20", lambda: nn.GELU("tanh"), _x, opset=20, expect_ops=frozenset({"Gelu"})
    ),
    OpCase("silu", nn.SiLU, _x),
    OpCase("hardswish", nn.Hardswish, _x, expect_ops=frozenset({"HardSwish"})),
    OpCase("hardsigmoid", nn.Hardsigmoid, _x, expect_ops=frozenset({"HardSigmoid"})),
    OpCase("sigmoid", nn.Sigmoid, _x, expect_ops=frozenset({"Sigmoid"})),
    OpCase("tanh", nn.Tanh, _x, expect_ops=frozenset({"Tanh"})),
    OpCase("softmax", lambda: nn.Softmax(dim=-1), _x, expect_ops=frozenset({"Softmax"})),
    OpCase("softmax_dim1", lambda: nn.Softmax(dim=1), _x, expect_ops=frozenset({"Softmax"})),
    OpCase("log_softmax", lambda: nn.LogSoftmax(dim=1), _x, expect_ops=frozenset({"LogSoftmax"})),
    OpCase("dropout_eval", lambda: nn.Sequential(nn.Dropout(0.3), nn.ReLU()), _x),
    OpCase("relu_scripted", nn.ReLU, _x, mode="script", expect_ops=frozenset({"Relu"})),
    OpCase("gelu_scripted", nn.GELU, _x, mode="script"),
    OpCase("softmax_scripted", lambda: nn.Softmax(dim=-1), _x, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
