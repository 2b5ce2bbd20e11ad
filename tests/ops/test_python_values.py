"""Python-level values in scripted code: questions about the run, strings, constant lists."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3),)


class RunQuestions(nn.Module):
    """Branches on what an ONNX graph answers statically: no grad, no autocast, not nested,
    CPU, floating point."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.requires_grad or x.is_nested:
            x = x * 0
        if torch.is_autocast_enabled():
            x = x * 0
        if x.device.type == "cpu" and x.is_floating_point():
            x = x + 1
        return x


class Strings(nn.Module):
    """A message built with format decides, through its length, what is computed."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = float(x.size(1)) / 10.0  # TorchScript prints 0.30000000000000004
        shape = f"rank {x.dim()}, {x.size(1)} columns, scale {scale}, {float(x.dim())}"
        if len(shape) == len("rank 2, 3 columns, scale 0.30000000000000004, 2."):
            return x * 2
        return x


class ConstantLists(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        checks = [x.dim() == 2, x.size(1) == 3]
        sizes = [x.size(1), 0]
        if all(checks) and any(sizes) and all([x.size(1), 1]):
            return x + 1
        return x


CASES = [
    OpCase("run_questions", RunQuestions, _x, mode="script"),
    OpCase("format_len", Strings, _x, mode="script"),
    OpCase("all_any", ConstantLists, _x, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
