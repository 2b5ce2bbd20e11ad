"""Parity of casts, identities, *_like fills, masked_fill, where, comparisons and clamp."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity
from tests.models import fn


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4),)


def _xy() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 4), torch.randn(2, 3, 4)


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-5, 5, (2, 3, 4), dtype=torch.int32),)


def _ints2() -> tuple[torch.Tensor, ...]:
    return torch.randint(0, 3, (2, 3, 4)), torch.randint(0, 3, (2, 3, 4))


def _x_row() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 4), torch.randn(4)


# ---- scripted modules ------------------------------------------------------------------------
class CastsScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.to(torch.float64), x.long().to(x), x.to(x.device).float()


class TypeAsScripted(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x > 0).type_as(y) * y


class WhereScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            torch.where(x > 0, x, 0.0),
            x.masked_fill(x < 0, 1.5),
            torch.where(x > 0, 1.0, -1.0),
        )


class CompareSize(nn.Module):
    """x.size(1) is an int computed at run time; comparisons with it mix tensor and scalar."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.size(0)
        return x * n >= n, (x.sum(1) < n).long()


class ClampScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.clamp(min=-0.5), x.clamp(max=0.25), torch.clamp(x, -0.1, 0.1)


class FillsScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.zeros_like(x), torch.ones_like(x) + x, torch.full_like(x, 2.5)


class IdentitiesScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone().detach().contiguous() + 1


class ScalarCompareScripted(nn.Module):
    """Comparisons of Python ints (eq.int) decided at run time and folded."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return x + 1
        return x


_CAST = frozenset({"Cast"})

CASES = [
    # casts
    OpCase("to_int32", fn(lambda x: x.to(torch.int32)), _x, expect_ops=_CAST),
    OpCase("to_double", fn(lambda x: x.double()), _x, expect_ops=_CAST),
    OpCase("to_half_back", fn(lambda x: x.half().float()), _x, expect_ops=_CAST),
    OpCase(
        "to_bool", fn(lambda x: (x * 2).to(torch.bool)), _x, expect_ops=frozenset({"Mul", "Cast"})
    ),
    OpCase("to_from_int", fn(lambda x: x.to(torch.float32)), _ints, expect_ops=_CAST),
    OpCase("to_same", fn(lambda x: x.to(torch.float32) + 1), _x, expect_ops=frozenset({"Add"})),
    OpCase("to_other", fn(lambda x, y: x.long().to(y)), _xy, expect_ops=_CAST),
    OpCase("to_device_dtype", fn(lambda x: x.to("cpu", torch.int64)), _x, expect_ops=_CAST),
    OpCase("type_as", fn(lambda x, y: x.long().type_as(y)), _xy, expect_ops=_CAST),
    OpCase("casts_scripted", CastsScripted, _x, mode="script"),
    OpCase("type_as_scripted", TypeAsScripted, _xy, mode="script"),
    # identities
    OpCase("clone", fn(lambda x: x.clone() * 2), _x, expect_ops=frozenset({"Mul"})),
    OpCase("detach", fn(lambda x: x.detach() * 2), _x, expect_ops=frozenset({"Mul"})),
    OpCase(
        "identities_scripted", IdentitiesScripted, _x, mode="script", expect_ops=frozenset({"Add"})
    ),
    # fills
    OpCase("zeros_like", fn(lambda x: torch.zeros_like(x) + x), _x),
    OpCase("ones_like", fn(lambda x: torch.ones_like(x) - x), _x),
    OpCase("full_like", fn(lambda x: torch.full_like(x, 3.5) * x), _x),
    OpCase("full_like_int", fn(lambda x: torch.full_like(x, 7) + x), _ints),
    OpCase("zeros_like_dtype", fn(lambda x: torch.zeros_like(x, dtype=torch.int64)), _x),
    OpCase("fills_scripted", FillsScripted, _x, mode="script"),
    # masking and where
    OpCase("masked_fill", fn(lambda x: x.masked_fill(x > 0.5, -1.0)), _x),
    OpCase("masked_fill_int", fn(lambda x: x.masked_fill(x < 0, 9)), _ints),
    OpCase(
        "masked_fill_tensor",
        fn(lambda x: x.masked_fill(x > 0, torch.tensor(2.0))),
        _x,
    ),
    OpCase("masked_fill_broadcast", fn(lambda x, y: x.masked_fill(y > 0, 0.0)), _x_row),
    OpCase("where", fn(lambda x, y: torch.where(x > y, x, y)), _xy),
    OpCase("where_scalar_other", fn(lambda x: torch.where(x > 0, x, 0.0)), _x),
    OpCase("where_scalar_self", fn(lambda x: torch.where(x > 0, 2.0, x)), _x),
    OpCase("where_promote", fn(lambda x: torch.where(x > 0, x, x.long())), _x),
    OpCase("where_broadcast", fn(lambda x, y: torch.where(y > 0, x, y)), _x_row),
    OpCase("where_scripted", WhereScripted, _x, mode="script"),
    OpCase(
        "where_indices",
        fn(lambda x: torch.where(x > 0)),
        _x,
        expect_ops=frozenset({"Greater", "NonZero", "Gather"}),
    ),
    # comparisons
    OpCase("eq", fn(lambda x, y: x == y), _ints2, expect_ops=frozenset({"Equal"})),
    OpCase("ne", fn(lambda x, y: x != y), _ints2, expect_ops=frozenset({"Equal", "Not"})),
    OpCase("eq_bool", fn(lambda x, y: (x > 0) == (y > 0)), _xy),
    OpCase("eq_float", fn(lambda x: x == x.clamp(max=0.0)), _x),
    OpCase("lt", fn(lambda x, y: x < y), _xy, expect_ops=frozenset({"Less"})),
    OpCase("le", fn(lambda x, y: x <= y), _xy, expect_ops=frozenset({"LessOrEqual"})),
    OpCase("gt_scalar", fn(lambda x: x > 0.5), _x, expect_ops=frozenset({"Greater"})),
    OpCase("ge_scalar_int", fn(lambda x: x >= 1), _ints, expect_ops=frozenset({"GreaterOrEqual"})),
    OpCase("eq_scalar_int", fn(lambda x: x == 2), _ints, expect_ops=frozenset({"Equal"})),
    OpCase("ne_scalar", fn(lambda x: x != 0), _ints, expect_ops=frozenset({"Equal", "Not"})),
    OpCase("lt_int_float", fn(lambda x: x < 0.5), _ints, expect_ops=frozenset({"Cast", "Less"})),
    OpCase("gt_bool", fn(lambda x, y: (x > 0) > (y > 0)), _xy),
    OpCase("compare_broadcast", fn(lambda x, y: x <= y), _x_row),
    OpCase("compare_size_scripted", CompareSize, _x, mode="script"),
    OpCase(
        "compare_folded_scripted",
        ScalarCompareScripted,
        _x,
        mode="script",
        expect_ops=frozenset({"Add"}),
    ),
    # clamp
    OpCase("clamp", fn(lambda x: x.clamp(-0.5, 0.5)), _x, expect_ops=frozenset({"Clip"})),
    OpCase("clamp_min", fn(lambda x: x.clamp(min=0.1)), _x, expect_ops=frozenset({"Clip"})),
    OpCase("clamp_max", fn(lambda x: x.clamp(max=0.1)), _x, expect_ops=frozenset({"Clip"})),
    OpCase(
        "clamp_min_fn", fn(lambda x: torch.clamp_min(x, 0.0)), _x, expect_ops=frozenset({"Clip"})
    ),
    OpCase(
        "clamp_max_fn", fn(lambda x: torch.clamp_max(x, 0.0)), _x, expect_ops=frozenset({"Clip"})
    ),
    OpCase("clamp_int", fn(lambda x: x.clamp(-2, 3)), _ints, expect_ops=frozenset({"Clip"})),
    OpCase("clamp_int_float", fn(lambda x: x.clamp(min=0.5)), _ints),
    OpCase("clamp_inplace", fn(lambda x: (x * 1).clamp_(0.0, 1.0)), _x),
    OpCase("clamp_tensor", fn(lambda x, y: x.clamp(min=y)), _xy, expect_ops=frozenset({"Max"})),
    OpCase(
        "clamp_tensor_both",
        fn(lambda x, y: torch.clamp(x, y, y + 1)),
        _x_row,
        expect_ops=frozenset({"Max", "Min", "Add"}),
    ),
    OpCase("clip", fn(lambda x: x.clip(-0.2, 0.2)), _x, expect_ops=frozenset({"Clip"})),
    OpCase("clamp_scripted", ClampScripted, _x, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
