"""Parity of topk, sort, argsort, msort, cumsum, cumprod and unique."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity
from tests.models import fn


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(4, 5, 6),)


def _x2() -> tuple[torch.Tensor, ...]:
    return (torch.randn(4, 7),)


def _ties() -> tuple[torch.Tensor, ...]:
    """Few distinct values: many ties (random probes keep the range [0, 2])."""
    return (torch.randint(0, 3, (4, 9)),)


def _ties_f() -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 3, (4, 9)).float(),)


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-3, 4, (4, 5, 6)),)


def _int32() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-3, 4, (4, 5), dtype=torch.int32),)


def _with_zeros() -> tuple[torch.Tensor, ...]:
    x = torch.randn(4, 5, 6)
    x[x.abs() < 0.4] = 0.0
    return (x,)


def _vec() -> tuple[torch.Tensor, ...]:
    return (torch.randn(7),)


def _codes() -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 6, (4, 8)),)


def _rows() -> tuple[torch.Tensor, ...]:
    """Rows drawn from two values: duplicate rows for unique(dim=0)."""
    return (torch.tensor([[1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 0, 0], [0, 1, 1]]),)


# ---- scripted modules ------------------------------------------------------------------------
class TopkScripted(nn.Module):
    """k computed from the (dynamic) size of dim 0."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v, i = torch.topk(x, x.size(0) // 2, dim=0)
        return v, i


class SortScripted(nn.Module):
    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        v, i = x.sort(dim=1, descending=True, stable=True)
        return v, i, x.argsort(0), torch.msort(x)


class CumScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.cumsum(1), torch.cumprod(x, dim=-1), x.cumsum(0, dtype=torch.float64)


class UniqueScripted(nn.Module):
    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        u, inv, c = torch.unique(x, return_inverse=True, return_counts=True)
        return u, inv, c, torch.unique(x), torch.unique(x, dim=1)


class CumsumInPlace(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 1
        y.cumsum_(1)
        return y


_SCAN = frozenset({"Scan", "ConstantOfShape", "Shape", "Concat"})  # ones of x's shape minus dim

CASES = [
    # topk
    OpCase("topk", fn(lambda x: x.topk(3, 1)), _x, expect_ops=frozenset({"TopK"})),
    OpCase("topk_smallest", fn(lambda x: torch.topk(x, 2, largest=False)), _x),
    OpCase("topk_batch_dim", fn(lambda x: x.topk(2, 0)), _x),
    OpCase("topk_values_ties", fn(lambda x: x.topk(4, -1).values), _ties),
    OpCase("topk_unsorted_sum", fn(lambda x: x.topk(3, 2, sorted=False)[0].sum(-1)), _x),
    OpCase("topk_uint8", fn(lambda x: (x.abs() * 9).to(torch.uint8).topk(2, 1).values), _x),
    OpCase("topk_int32", fn(lambda x: x.topk(2, 1).values), _int32),
    OpCase("topk_runtime_k_scripted", TopkScripted, _x2, mode="script"),
    OpCase("topk_opset23", fn(lambda x: x.topk(2, -1, largest=False)), _x, opset=23),
    # sort, argsort, msort
    OpCase("sort", fn(lambda x: x.sort(1)), _x, expect_ops=frozenset({"TopK"})),
    OpCase("sort_descending_last", fn(lambda x: torch.sort(x, descending=True)), _x),
    OpCase("sort_batch_dim", fn(lambda x: x.sort(0)), _x),
    OpCase("sort_stable_ties", fn(lambda x: x.sort(stable=True, dim=1)), _ties),
    OpCase(
        "sort_stable_ties_desc",
        fn(lambda x: torch.sort(x, dim=-1, descending=True, stable=True)),
        _ties_f,
    ),
    OpCase("sort_stable_ties_batch", fn(lambda x: x.sort(stable=True, dim=0)), _ties),
    OpCase("sort_values_ties", fn(lambda x: x.sort(1).values), _ties),
    OpCase("sort_bool", fn(lambda x: (x > 0).sort(stable=True, dim=1)), _x2),
    OpCase("sort_1d", fn(lambda x: x.sort()), _vec),
    OpCase("argsort", fn(lambda x: x.argsort(2)), _x),
    OpCase("argsort_desc", fn(lambda x: torch.argsort(x, dim=0, descending=True)), _x),
    OpCase(
        "argsort_stable_ties",
        fn(lambda x: x.argsort(dim=1, descending=True, stable=True)),
        _ties,
    ),
    OpCase("msort", fn(lambda x: torch.msort(x)), _x),
    OpCase("sort_scripted", SortScripted, _x2, mode="script"),
    OpCase("sort_ties_scripted", SortScripted, _ties, mode="script"),
    # cumsum
    OpCase("cumsum", fn(lambda x: x.cumsum(1)), _x, expect_ops=frozenset({"CumSum"})),
    OpCase("cumsum_neg_dim", fn(lambda x: torch.cumsum(x, -1)), _x),
    OpCase("cumsum_batch", fn(lambda x: x.cumsum(0)), _x),
    OpCase("cumsum_int", fn(lambda x: x.cumsum(2)), _ints),
    OpCase("cumsum_int32", fn(lambda x: x.cumsum(1)), _int32),
    OpCase("cumsum_bool", fn(lambda x: (x > 0).cumsum(1)), _x),
    OpCase("cumsum_dtype", fn(lambda x: x.cumsum(1, dtype=torch.float64)), _ints),
    OpCase("cumsum_dtype_int", fn(lambda x: x.cumsum(1, dtype=torch.int32)), _x),
    OpCase("cumsum_inplace_scripted", CumsumInPlace, _x, mode="script"),
    # cumprod
    OpCase("cumprod", fn(lambda x: x.cumprod(1)), _with_zeros, expect_ops=_SCAN),
    OpCase("cumprod_last", fn(lambda x: torch.cumprod(x, -1)), _with_zeros),
    OpCase("cumprod_batch", fn(lambda x: x.cumprod(0)), _with_zeros),
    OpCase("cumprod_int", fn(lambda x: x.cumprod(2)), _ints),
    OpCase("cumprod_bool", fn(lambda x: (x > 0).cumprod(1)), _x),
    OpCase("cumprod_1d", fn(lambda x: x.cumprod(0)), _vec),
    OpCase("cumprod_dtype", fn(lambda x: x.cumprod(1, dtype=torch.float64)), _ints),
    OpCase("cumprod_opset17", fn(lambda x: x.cumprod(1)), _with_zeros, opset=17),
    OpCase("cumprod_opset23", fn(lambda x: x.cumprod(0)), _with_zeros, opset=23),
    OpCase("cum_scripted", CumScripted, _with_zeros, mode="script"),
    # unique
    OpCase("unique", fn(lambda x: torch.unique(x)), _codes),
    OpCase(
        "unique_all",
        fn(lambda x: torch.unique(x, return_inverse=True, return_counts=True)),
        _codes,
    ),
    OpCase("unique_inverse", fn(lambda x: x.unique(return_inverse=True)), _codes),
    OpCase("unique_counts", fn(lambda x: x.unique(sorted=False, return_counts=True)), _codes),
    OpCase("unique_legacy", fn(lambda x: torch._unique(x, return_inverse=True)), _codes),
    OpCase(
        "unique_float", fn(lambda x: torch.unique((x * 2).long().float(), return_counts=True)), _x
    ),
    OpCase("unique_int32", fn(lambda x: torch.unique(x, return_inverse=True)), _int32),
    OpCase("unique_bool", fn(lambda x: torch.unique(x > 0, return_counts=True)), _x),
    OpCase(
        "unique_dim",
        fn(lambda x: torch.unique(x, dim=0, return_inverse=True, return_counts=True)),
        _rows,
        dynamic_batch=False,
    ),
    OpCase("unique_dim1", fn(lambda x: torch.unique(x, dim=1)), _ties),
    OpCase("unique_opset23", fn(lambda x: x.unique(return_counts=True)), _codes, opset=23),
    OpCase("unique_scripted", UniqueScripted, _codes, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
