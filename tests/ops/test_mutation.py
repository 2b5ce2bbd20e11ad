"""In-place ops in scripted code: later reads, views, aliases, branches and loops see the write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from converter import convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, save_archive


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 4),)


def _x_mask() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 4), torch.randn(3, 4) > 0)


class Straight(nn.Module):
    """Each in-place op is read afterwards through the written name."""

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x * 2
        y.masked_fill_(m, 0.5)
        a = y + 1
        y.clamp_(-1.0, 1.0)
        y.add_(x, alpha=2.0)
        y.mul_(3)
        b = y.clone()
        y.ge_(0.5)
        return a + b, y


class CopyFillZero(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = torch.zeros_like(x)
        y.copy_(x[0])
        a = y * 1.0
        y.fill_(2.5)
        b = y * 1.0
        y.zero_()
        return a, b, y + x


class ShapeInPlace(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        y.unsqueeze_(0)
        y.squeeze_(0)
        y.unsqueeze_(1)
        return y * 2


class IndexPutInPlace(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[0] = 0.0
        y[:, 1] += 1.0
        return y


class ThroughViews(nn.Module):
    """Writes through views taken just for the write reach the base tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        y[0].add_(1.0)
        y.view(-1).mul_(2.0)
        y.t().sub_(0.5)
        return y


class ChainedAlias(nn.Module):
    """The result of one in-place op is the same tensor as its input."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x + 0
        z = y.add_(1.0)
        z.mul_(2.0)
        return y, z


class InBranch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        if bool(x.sum() > 0):
            y.add_(10.0)
        else:
            y[0].mul_(-1.0)
        return y + 1


class InLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        z = x * 0
        for i in range(x.size(0)):
            y.mul_(2.0)
            if i > 0:
                z.add_(y)
        return y + z


class NestedLoopView(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        for i in range(x.size(0)):
            for j in range(x.size(1)):
                y[i].add_(float(j))
        return y


class InList(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        z = x * 2
        parts = [y, z]
        y.add_(1.0)
        return torch.cat(parts, 0)


class Preallocated(nn.Module):
    """A tensor filled slice by slice in a loop (index_put_ through a slice view)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.size(0), x.size(1), 3)
        for i in range(3):
            out[:, :, i] = x * float(i)
        return out


class StepsCopied(nn.Module):
    """A recurrent loop that copies each state into a row of a preallocated output."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.zeros(x.size(0), 4)
        outs = torch.zeros(x.size(0), x.size(1), 4)
        for t in range(x.size(1)):
            h = torch.tanh(self.lin(x[:, t]) + h)
            outs[:, t].copy_(h)
        return outs


class InputWritten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.mean() > 0):
            x.relu_()
        x += 1
        return x * 2


class WhileLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        i = 0
        while i < x.size(0):
            y.mul_(0.5)
            y.clamp_(min=-0.1)
            i += 1
        return y


class ViewBeforeLoop(nn.Module):
    """A view taken before a loop and written in it: the base is carried through the loop."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        v = y[0]
        for _ in range(x.size(1)):
            v.add_(1.0)
        return y


class AliasWrittenInBranch(nn.Module):
    """z is y itself (add_ returns its input), so a write to y in a branch shows in z."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        z = y.add_(1.0)
        if bool(x.sum() > 0):
            y.mul_(2.0)
        return z


CASES = [
    OpCase("straight", Straight, _x_mask, mode="script"),
    OpCase("copy_fill_zero", CopyFillZero, _x, mode="script"),
    OpCase("shape_in_place", ShapeInPlace, _x, mode="script"),
    OpCase("index_put_in_place", IndexPutInPlace, _x, mode="script"),
    OpCase("through_views", ThroughViews, _x, mode="script"),
    OpCase("chained_alias", ChainedAlias, _x, mode="script"),
    OpCase("in_branch_pos", InBranch, lambda: (torch.rand(3, 4),), mode="script"),
    OpCase("in_branch_neg", InBranch, lambda: (-torch.rand(3, 4),), mode="script"),
    OpCase("in_loop", InLoop, _x, mode="script"),
    OpCase("nested_loop_view", NestedLoopView, _x, mode="script"),
    OpCase("in_list", InList, _x, mode="script"),
    OpCase("preallocated", Preallocated, _x, mode="script"),
    OpCase("steps_copied", StepsCopied, lambda: (torch.randn(2, 6, 4),), mode="script"),
    OpCase("input_written", InputWritten, _x, mode="script"),
    OpCase("while_loop", WhileLoop, _x, mode="script"),
    OpCase("view_before_loop", ViewBeforeLoop, _x, mode="script"),
    OpCase(
        "alias_written_in_branch", AliasWrittenInBranch, lambda: (torch.rand(3, 4),), mode="script"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_parity_other_branch_at_run_time(tmp_path: Path) -> None:
    """One ONNX file follows both branches: convert with one input, check with the other."""
    from converter import VerifyOptions, verify

    archive = save_archive(InBranch().eval(), (torch.rand(3, 4),), tmp_path / "m.pt", "script")
    convert(archive, tmp_path / "m.onnx", (torch.rand(3, 4),))
    report = verify(archive, tmp_path / "m.onnx", (-torch.rand(3, 4),), options=VerifyOptions())
    assert report.ok


class StaleView(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        v = y.view(-1)
        y.add_(1.0)
        return v * 2


class StaleViewInLoop(nn.Module):
    """The view is read before the write in program order, but after it on the next pass."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        v = y[0]
        out = x * 0
        for _ in range(x.size(0)):
            out = out + v
            y.add_(1.0)
        return out


class RankChangeInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        for _ in range(x.size(0)):
            y.unsqueeze_(0)
        return y


def _refusal(module: nn.Module, tmp_path: Path) -> str:
    inputs = _x()
    archive = save_archive(module.eval(), inputs, tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "m.onnx", inputs)
    return str(info.value)


def test_stale_view_is_refused(tmp_path: Path) -> None:
    message = _refusal(StaleView(), tmp_path)
    first = message.splitlines()[0]
    assert first.endswith(
        "a view of the written tensor (aten::view) is taken before the in-place write and "
        "read after it"
    )
    assert "cannot translate aten::add_.Scalar at " in first
    assert "test_mutation.py:" in first


def test_stale_view_in_loop_is_refused(tmp_path: Path) -> None:
    message = _refusal(StaleViewInLoop(), tmp_path)
    assert "a view of the written tensor (aten::select) is taken before the in-place write" in (
        message
    )


def test_rank_change_in_loop_is_refused(tmp_path: Path) -> None:
    message = _refusal(RankChangeInLoop(), tmp_path)
    assert "cannot translate prim::Loop at " in message
    assert re.search(
        r"loop-carried tensor %y(\.\d+)? changes its type or rank inside the loop body "
        r"\(FLOAT, rank 2 -> FLOAT, rank 3\)",
        message,
    ), message


class ThroughChunk(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x + 0
        y.chunk(2, 1)[0].zero_()
        return y


def test_write_through_untranslated_view_is_refused(tmp_path: Path) -> None:
    first = _refusal(ThroughChunk(), tmp_path).splitlines()[0]
    assert first.endswith(
        "in-place write to a part of the list that aten::chunk made, which is not translated "
        "back to the tensor it came from"
    )
