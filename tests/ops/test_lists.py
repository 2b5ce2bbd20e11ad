"""Scripted list edits: insert, pop, extend, del and clear, outside loops and in them."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from converter import WorkerOptions, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, assert_runs_at_sizes, save_archive


# ---- outside loops: the list is edited at conversion time -------------------------------------
class InsertPlain(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x * 2]
        outs.insert(1, x + 1)
        outs.insert(-1, x - 1)
        outs.insert(10, x * 3)
        outs.insert(-10, x / 2)
        a = outs.pop()
        return torch.stack(outs) + a


class PopPlain(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x + 1, x + 2, x + 3]
        first = outs.pop(0)
        last = outs.pop()
        middle = outs.pop(-1)
        return torch.cat(outs) + first * last - middle


class ExtendDeleteClearPlain(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x]
        outs.extend([x + 1, x * 2])
        outs.extend(outs)
        del outs[1]
        del outs[-2]
        scratch: list[torch.Tensor] = [x, x]
        scratch.clear()
        scratch.append(x - 3)
        return torch.stack(outs, 0) + len(scratch) * scratch[0]


class InsertAtRunTimeIndex(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x * 2, x * 3]
        outs.insert(x.size(0) - 5, x + 1)  # negative for short inputs, clamped like Python
        outs.insert(x.size(0), x - 1)  # past the end for long inputs: appended
        return torch.stack(outs)


class PopAtRunTimeIndex(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x * 2, x * 3, x * 4]
        y = outs.pop(x.size(0) - 4)
        del outs[x.size(0) % 2]
        return torch.stack(outs) * y


# ---- in loops: the list is an ONNX sequence the loop carries ----------------------------------
class ReversedBuild(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.insert(0, x[i] * (i + 1))
        return torch.stack(outs)


class InsertMiddleWhile(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x[0]]
        i = 0
        while i < x.size(0):
            outs.insert(-1, x[i] + i)
            outs.insert(i - 2, x[i] * 2)
            outs.insert(7, -x[i])
            i += 1
        return torch.stack(outs)


class StackMachine(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stack: list[torch.Tensor] = [x[0]]
        for i in range(x.size(0)):
            stack.append(x[i])
            stack.append(x[i] * 2)
            top = stack.pop()
            under = stack.pop()
            stack.append(top - under)
        total = stack.pop(0)
        return total + torch.stack(stack).sum(0)


class PopFrontWhile(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        queue: list[torch.Tensor] = [x[0], x[1], x[2]]
        y = x[0] * 0
        k = 0
        while k < 2:
            y = y + queue.pop(0) * (k + 1)
            queue.append(y)
            k += 1
        return torch.stack(queue) + y


class ExtendInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.extend([x[i], x[i] * i])
        outs.extend([x.sum(0), x.mean(0)])
        return torch.stack(outs, -1)


class PlusEqualsInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x[0]]
        for i in range(x.size(0)):
            outs += [x[i] * i, x[i] + 1]
        return torch.stack(outs)


class ExtendRunTimeLists(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        evens: list[torch.Tensor] = []
        odds: list[torch.Tensor] = []
        for i in range(x.size(0)):
            if i % 2 == 0:
                evens.append(x[i])
            else:
                odds.append(-x[i])
        evens.extend(odds)
        both = [x[0] * 5]
        both.extend(evens)
        return torch.stack(both)


class AddRunTimeLists(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ups: list[torch.Tensor] = []
        downs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            ups.append(x[i] + i)
        k = 0
        while k < x.size(0) - 1:
            downs.insert(0, x[k] * 3)
            k += 1
        both = downs + ups
        return torch.cat(both + both)


class DeleteAndClearInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window: list[torch.Tensor] = [x[0]]
        kept: list[torch.Tensor] = [x[0]]
        for i in range(x.size(0)):
            window.append(x[i] + i)
            if len(window) > 2:
                del window[0]
            if i % 2 == 1:
                kept.extend(window)
                window.clear()
                window.append(x[i])
        return torch.stack(kept) + torch.stack(window).sum(0)


class SelfExtendInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x[0]]
        for i in range(x.size(0) - 1):
            outs.extend(outs)
            outs.append(x[i])
        return torch.stack(outs)


class PopUnderIfInLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x[0], x[1]]
        y = x[0]
        for i in range(x.size(0)):
            outs.append(x[i] * 2)
            if i % 2 == 0:
                y = y + outs.pop(1)
        return torch.stack(outs) + y


class EditsUnderIf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x + 1]
        if bool(x.sum() > 0):
            outs.insert(0, x * 5)
        else:
            del outs[0]
        return torch.cat(outs)


class EditsAfterLoop(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.append(x[i] * i)
        outs.insert(1, x[0] + 10)
        last = outs.pop()
        del outs[0]
        outs.extend([last, last * 2])
        return torch.stack(outs)


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 4),)


def _long() -> tuple[torch.Tensor, ...]:
    return (torch.randn(6, 4),)


LIST_CASES = [
    OpCase(
        "list_insert_plain",
        InsertPlain,
        _x,
        mode="script",
        expect_ops=frozenset({"Add", "Mul", "Sub", "Div", "Unsqueeze", "Concat"}),
    ),
    OpCase("list_pop_plain", PopPlain, _x, mode="script"),
    OpCase("list_extend_delete_clear_plain", ExtendDeleteClearPlain, _x, mode="script"),
    OpCase("list_insert_run_time_index", InsertAtRunTimeIndex, _x, mode="script"),
    OpCase("list_pop_run_time_index", PopAtRunTimeIndex, _long, mode="script"),
    OpCase("list_insert_reversed_build", ReversedBuild, _x, mode="script"),
    OpCase("list_insert_middle_while", InsertMiddleWhile, _x, mode="script"),
    OpCase("list_pop_stack_machine", StackMachine, _x, mode="script"),
    OpCase("list_pop_front_while", PopFrontWhile, _x, mode="script"),
    OpCase("list_extend_in_loop", ExtendInLoop, _x, mode="script"),
    OpCase("list_extend_run_time_lists", ExtendRunTimeLists, _long, mode="script"),
    OpCase("list_plus_equals_in_loop", PlusEqualsInLoop, _x, mode="script"),
    OpCase("list_add_run_time_lists", AddRunTimeLists, _x, mode="script"),
    OpCase("list_delete_clear_in_loop", DeleteAndClearInLoop, _long, mode="script"),
    OpCase("list_self_extend_in_loop", SelfExtendInLoop, _x, mode="script"),
    OpCase("list_pop_under_if_in_loop", PopUnderIfInLoop, _x, mode="script"),
    OpCase("list_edits_under_if", EditsUnderIf, _x, mode="script"),
    OpCase("list_edits_under_if_else", EditsUnderIf, lambda: (-torch.rand(3, 4),), mode="script"),
    OpCase("list_edits_after_loop", EditsAfterLoop, _x, mode="script"),
]


@pytest.mark.parametrize("case", LIST_CASES, ids=[c.id for c in LIST_CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


RUN_TIME_LENGTHS = [
    InsertAtRunTimeIndex,
    PopAtRunTimeIndex,
    ReversedBuild,
    InsertMiddleWhile,
    StackMachine,
    ExtendInLoop,
    ExtendRunTimeLists,
    PlusEqualsInLoop,
    AddRunTimeLists,
    DeleteAndClearInLoop,
    SelfExtendInLoop,
    PopUnderIfInLoop,
    EditsAfterLoop,
]


@pytest.mark.parametrize("make", RUN_TIME_LENGTHS, ids=[m.__name__ for m in RUN_TIME_LENGTHS])
def test_edits_follow_run_time_lengths(make: type[nn.Module], tmp_path: Path) -> None:
    """One ONNX file for every input length: positions are worked out at run time."""
    assert_runs_at_sizes(make().eval(), _long(), tmp_path, (4, 5, 7))


class PopRunTimeOutOfRange(nn.Module):
    def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = [x, x + 1]
        return outs.pop(int(k))


class IntInsertAtRunTimeIndex(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sizes: list[int] = [1, 2]
        sizes.insert(x.size(0), 3)
        return x + sizes[0]


def test_run_time_insert_into_list_of_ints_is_refused(tmp_path: Path) -> None:
    archive = save_archive(IntInsertAtRunTimeIndex(), _x(), tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "m.onnx", _x(), worker=WorkerOptions(isolate=False))
    first = str(info.value).splitlines()[0]
    assert re.search(r"cannot translate aten::insert\.t at .*test_lists\.py:\d+", first), first
    assert first.endswith(
        "inserting into a list of non-tensors at a position only known at run time"
    ), first


def test_run_time_out_of_range_pop_fails_in_onnx_runtime(tmp_path: Path) -> None:
    """TorchScript raises for an index out of range; the ONNX model fails there too."""
    module = PopRunTimeOutOfRange().eval()
    example = (torch.randn(3, 4), torch.tensor(1))
    archive = save_archive(module, example, tmp_path / "m.pt", mode="script")
    out = tmp_path / "m.onnx"
    convert(archive, out, example, worker=WorkerOptions(isolate=False))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for k in (-2, 0, 1):
        feeds = (example[0], torch.tensor(k))
        (got,) = session.run(None, {n: t.numpy() for n, t in zip(names, feeds, strict=True)})
        np.testing.assert_allclose(got, module(*feeds).numpy())
    feeds = (example[0], torch.tensor(2))
    with pytest.raises(IndexError, match="out of range"):
        module(*feeds)
    with pytest.raises(Exception, match="Invalid sequence index"):
        session.run(None, {n: t.numpy() for n, t in zip(names, feeds, strict=True)})


class ClearBeforeTyped(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.clear()
            outs.append(x[i])
        return torch.stack(outs)


def test_clear_of_untyped_list_in_loop_is_refused(tmp_path: Path) -> None:
    archive = save_archive(ClearBeforeTyped(), _x(), tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "m.onnx", _x(), worker=WorkerOptions(isolate=False))
    first = str(info.value).splitlines()[0]
    assert first.endswith(
        "clearing a list that is empty before the loop, inside the loop before anything is "
        "added: its element type is not known there (start the list with an item)"
    ), first


class ViewAppendedThenWritten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        outs: list[torch.Tensor] = []
        for i in range(x.size(0)):
            outs.append(y[i])  # a view of y: TorchScript's list sees the write below
            y.add_(1)
        return torch.stack(outs)


class TensorAppendedThenWritten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        outs: list[torch.Tensor] = []
        for _ in range(x.size(0)):
            outs.append(y)  # the same tensor every time
            y.add_(1)
        return torch.stack(outs)


class ViewsListedThenWritten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        outs: list[torch.Tensor] = [y[0]]
        outs.append(y[1])
        y.add_(1)
        return torch.stack(outs + [y[2]])  # noqa: RUF005 (TorchScript's list concatenation)


class JoinedListThenWritten(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        outs: list[torch.Tensor] = [x]
        outs += [y]
        y.add_(1)
        return torch.stack(outs)


_VIEW = (
    "a view of the written tensor (aten::select) is taken before the in-place write and read "
    "after it"
)
WRITES_SEEN_THROUGH_LISTS = [
    (ViewAppendedThenWritten, _VIEW),
    (ViewsListedThenWritten, _VIEW),
    (
        TensorAppendedThenWritten,
        "in-place write to a tensor that aten::append put in a list before the write, with the "
        "list read after it",
    ),
    (
        JoinedListThenWritten,
        "in-place write to a tensor that a list or tuple made before it holds, where that list is "
        "read after the write from inside a loop or branch, or through another list made from it",
    ),
]


@pytest.mark.parametrize(
    ("make", "message"),
    WRITES_SEEN_THROUGH_LISTS,
    ids=[m.__name__ for m, _ in WRITES_SEEN_THROUGH_LISTS],
)
def test_writes_a_list_would_see_are_refused(
    make: type[nn.Module], message: str, tmp_path: Path
) -> None:
    """TorchScript's lists hold tensors, not copies: a later in-place write shows through them."""
    archive = save_archive(make(), _x(), tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "m.onnx", _x(), worker=WorkerOptions(isolate=False))
    first = str(info.value).splitlines()[0]
    assert re.search(r"cannot translate aten::add_\.Scalar at .*test_lists\.py:\d+", first), first
    assert first.endswith(message), first
