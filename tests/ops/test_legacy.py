"""Parity of legacy op spellings (aten::_cast_*) and the dtype tests torch's upgraders insert."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


class _Casts(nn.Module):
    """Every aten::_cast_* on values that each target type holds exactly."""

    def forward(
        self, x: torch.Tensor
    ) -> tuple[
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
        torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
    ]:  # fmt: skip
        y = x * 4.0
        return (
            torch._cast_Byte(y.abs(), False),
            torch._cast_Char(y, False),
            torch._cast_Short(y, False),
            torch._cast_Int(y, False),
            torch._cast_Long(y, False),
            torch._cast_Half(y, False),
            torch._cast_Float(torch._cast_Long(y, False), False),
            torch._cast_Double(y, False),
        )


class _DtypeTests(nn.Module):
    """The shape of torch's div upgrader: branch on is_floating_point of the operands."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.is_floating_point() or b.is_floating_point():
            return torch.div(a, b)
        return torch.div(a, b, rounding_mode="trunc")


class _ComplexSigned(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_complex() or not x.is_signed():
            return x + 1
        return x - 1


class _Logspace(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.logspace(-1.0, 2.0, 7) * x
        return a, torch.logspace(0.0, 10.0, 7, base=2.0, dtype=torch.float64) * x


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.tensor([[7, -7, 5], [9, -3, 2]]), torch.tensor([[2, 2, 3], [4, 5, 1]]))


def _floats() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3), torch.randn(2, 3).abs() + 0.5)


CASES = [
    OpCase("cast_all", _Casts, lambda: (torch.randn(3, 4),)),
    OpCase("cast_all_scripted", _Casts, lambda: (torch.randn(3, 4),), mode="script"),
    OpCase("is_floating_point_int", _DtypeTests, _ints, mode="script",
           expect_ops=frozenset({"Div"})),
    OpCase("is_floating_point_float", _DtypeTests, _floats, mode="script",
           expect_ops=frozenset({"Div"})),
    OpCase("is_complex_is_signed", _ComplexSigned, lambda: (torch.randn(2, 3),), mode="script",
           expect_ops=frozenset({"Sub"})),
    OpCase("logspace", _Logspace, lambda: (torch.randn(7),), mode="script"),
    OpCase("is_signed_uint8", _ComplexSigned, lambda: (torch.tensor([1, 2, 3], dtype=torch.uint8),),
           mode="script", expect_ops=frozenset({"Add"})),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
