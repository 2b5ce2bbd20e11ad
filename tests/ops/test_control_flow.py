"""Scripted control flow: prim::If and prim::Loop become ONNX If and Loop."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


class DataIf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 0):
            y = x * 2
        else:
            y = x - 1
        return torch.relu(y)


class IfTwoOutputs(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if bool(x.mean() > 0):
            a, b = x + 1, x * 3
        else:
            a, b = x - 1, x * 0.5
        return a, b


class ForRange(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for i in range(x.size(0)):
            y = y + i
        return y


class WhileInt(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = 0
        y = x
        while k < 3:
            y = y * 1.5
            k += 1
        return y


class WhileTensor(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.abs() + 1
        while bool(y.max() < 100):
            y = y * 2
        return y


class LoopWithIf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for i in range(4):
            if i % 2 == 0:
                y = y + 1
            else:
                y = y * 2
        return y


class ShapeCheck(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError("expected a matrix")
        return x * 2


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 4),)


CASES = [
    OpCase(
        "if_data",
        DataIf,
        _x,
        mode="script",
        expect_ops=frozenset({"If", "Relu", "ReduceSum", "Greater"}),
    ),
    OpCase("if_two_outputs", IfTwoOutputs, _x, mode="script"),
    OpCase("for_range_size", ForRange, _x, mode="script", expect_ops=None),
    OpCase("while_int", WhileInt, _x, mode="script"),
    OpCase("while_tensor", WhileTensor, _x, mode="script"),
    OpCase("loop_with_if", LoopWithIf, _x, mode="script"),
    OpCase("shape_check_raise", ShapeCheck, _x, mode="script", expect_ops=frozenset({"Mul"})),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


class SizeListCheck(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size() != [x.size(0), 3]:
            raise RuntimeError("expected [N, 3]")
        return x + 1


def test_argument_check_on_run_time_sizes_is_left_out(tmp_path: Path) -> None:
    case = OpCase("size_list_check", SizeListCheck, lambda: (torch.randn(4, 3),), mode="script")
    result, _ = assert_parity(case, tmp_path)
    assert result.inputs[0].dims[0] == "batch"
