"""Scripted control flow: prim::If and prim::Loop become ONNX If and Loop."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from converter import WorkerOptions, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, assert_runs_at_sizes, save_archive


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


class AppendStack(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.append(x[i] * i)
        return torch.stack(outs, 1)


class AppendCat(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x]
        y = x
        for _ in range(x.size(0)):
            y = torch.tanh(y) + 1
            outs.append(y)
        return torch.cat(outs, -1)


class AppendLast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        h = x[0]
        for t in range(x.size(0)):
            h = torch.sigmoid(h + x[t])
            outs.append(h)
        return outs[-1] * len(outs) + outs[0]


class WhileAppend(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x]
        y = x
        while bool(y.abs().sum() < 100):
            y = y * 2 + 1
            outs.append(y)
        return outs[-1] + len(outs)


class AppendInBranch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            if i % 2 == 0:
                outs.append(x[i] * 2)
        return torch.stack(outs)


class ReadListInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = [x, x + 1, x * 2]
        y = x
        for t in range(len(xs)):
            y = y * xs[t]
        return y


class LoopOverBuiltList(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.append(x[i] + i)
        total = torch.zeros_like(x[0])
        for item in outs:
            total = total + item
        return total


class CarriedListConcat(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs = outs + [x[i] - i]  # noqa: RUF005 (list concatenation is under test)
        return torch.stack(outs, -1)


class NestedLoopsAppend(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            for j in range(x.size(1)):
                outs.append(x[i, j] * j + i)
        return torch.stack(outs)


class AppendUnderIf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x]
        if bool(x.sum() > 0):
            outs.append(x * 2)
        return torch.cat(outs, 0)


class RangeWithStep(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x[0]
        for t in range(1, x.size(0), 2):
            y = y + x[t] * t
        for t in range(x.size(0) - 1, 0, -3):
            y = y - x[t]
        return y


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
    OpCase(
        "list_append_stack",
        AppendStack,
        _x,
        mode="script",
        expect_ops=frozenset({"Loop", "SequenceEmpty", "ConcatFromSequence", "Shape", "Gather"}),
    ),
    OpCase("list_append_cat", AppendCat, _x, mode="script"),
    OpCase("list_append_last", AppendLast, _x, mode="script"),
    OpCase("list_while_append", WhileAppend, lambda: (torch.rand(2, 3) * 0.1,), mode="script"),
    OpCase("list_append_in_branch", AppendInBranch, _x, mode="script"),
    OpCase("list_read_in_loop", ReadListInLoop, _x, mode="script"),
    OpCase("list_loop_over_built", LoopOverBuiltList, _x, mode="script"),
    OpCase("list_carried_concat", CarriedListConcat, _x, mode="script"),
    OpCase("list_nested_loops", NestedLoopsAppend, _x, mode="script"),
    OpCase("list_append_under_if", AppendUnderIf, _x, mode="script"),
    OpCase("for_range_start_step", RangeWithStep, _x, mode="script"),
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


TRIP_COUNT_LOOPS = [
    AppendStack,
    AppendCat,
    AppendLast,
    WhileAppend,
    AppendInBranch,
    LoopOverBuiltList,
    CarriedListConcat,
    NestedLoopsAppend,
    RangeWithStep,
]


@pytest.mark.parametrize("make", TRIP_COUNT_LOOPS, ids=[m.__name__ for m in TRIP_COUNT_LOOPS])
def test_loop_runs_other_trip_counts(make: type[nn.Module], tmp_path: Path) -> None:
    """One ONNX file for every trip count: the list's length is not baked in."""
    scale = 0.01 if make is WhileAppend else 1.0
    assert_runs_at_sizes(make().eval(), _x(), tmp_path, (1, 6), scale)


class IntListInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes: list[int] = []
        for i in range(x.size(0)):
            sizes.append(i)
        return x + len(sizes)


def test_list_of_ints_built_in_loop_is_refused(tmp_path: Path) -> None:
    archive = save_archive(IntListInLoop(), _x(), tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "m.onnx", _x(), worker=WorkerOptions(isolate=False))
    first = str(info.value).splitlines()[0]
    assert re.search(r"cannot translate prim::Loop at .*test_control_flow\.py:\d+", first), first
    assert first.endswith("a loop that carries a list of non-tensors is not supported"), first


class ReturnsLoopList(nn.Module):
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.append(x[i] * i)
        return outs


def test_list_built_in_loop_as_output_is_refused(tmp_path: Path) -> None:
    archive = save_archive(ReturnsLoopList(), _x(), tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError, match="output 0 is a list built in a loop, whose length"):
        convert(archive, tmp_path / "m.onnx", _x(), worker=WorkerOptions(isolate=False))
