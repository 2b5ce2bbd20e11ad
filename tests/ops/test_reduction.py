"""Parity of reductions: mean, sum, prod, amax/amin, max/min, argmax/argmin."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4),)


def _xy() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 4), torch.randn(2, 3, 4)


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-5, 5, (2, 3, 4), dtype=torch.int32),)


class _Fn(nn.Module):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> object:
        return self.fn(x)  # type: ignore[operator]


class _Fn2(nn.Module):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> object:
        return self.fn(x, y)  # type: ignore[operator]


def _fn(fn: object) -> object:
    return lambda: _Fn(fn)


def _fn2(fn: object) -> object:
    return lambda: _Fn2(fn)


# ---- scripted modules ------------------------------------------------------------------------
class MeanSumScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.mean(1), x.sum(dim=(1, 2), keepdim=True), x.mean()


class MaxDimScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        values, indices = x.max(1)
        low = torch.min(x, -1, keepdim=True)
        return values, indices, low[0] + low[1]


class ArgScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.argmax(), x.argmin(dim=-1), x.amax(-1) - x.amin((1, 2), keepdim=True)


class GlobalPool(nn.Module):
    """Global average pooling as mean over H and W, scripted."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean([2, 3]).flatten(1)


_MEAN = frozenset({"ReduceMean"})
_SUM = frozenset({"ReduceSum"})

CASES = [
    # mean
    OpCase("mean_all", _fn(lambda x: x.mean()), _x, expect_ops=_MEAN),
    OpCase("mean_dim", _fn(lambda x: x.mean(1)), _x, expect_ops=_MEAN),
    OpCase("mean_dims_keep", _fn(lambda x: x.mean([1, 2], keepdim=True)), _x, expect_ops=_MEAN),
    OpCase("mean_neg", _fn(lambda x: x.mean(-1)), _x, expect_ops=_MEAN),
    OpCase("mean_empty_dims", _fn(lambda x: torch.mean(x, [])), _x, expect_ops=_MEAN),
    OpCase(
        "mean_dtype",
        _fn(lambda x: x.mean(1, dtype=torch.float64)),
        _x,
        expect_ops=frozenset({"Cast", "ReduceMean"}),
    ),
    OpCase("mean_opset17", _fn(lambda x: x.mean([0, 2])), _x, opset=17, expect_ops=_MEAN),
    OpCase("mean_all_opset17", _fn(lambda x: x.mean()), _x, opset=17, expect_ops=_MEAN),
    OpCase("mean_batch", _fn(lambda x: x.mean(0)), _x, expect_ops=_MEAN),
    OpCase("global_pool_scripted", GlobalPool, lambda: (torch.randn(2, 3, 4, 5),), mode="script"),
    # sum
    OpCase("sum_all", _fn(lambda x: x.sum()), _x, expect_ops=_SUM),
    OpCase("sum_dim", _fn(lambda x: x.sum(2)), _x, expect_ops=_SUM),
    OpCase("sum_dims_keep", _fn(lambda x: x.sum((0, 2), keepdim=True)), _x, expect_ops=_SUM),
    OpCase("sum_int", _fn(lambda x: x.sum(1)), _ints, expect_ops=frozenset({"Cast", "ReduceSum"})),
    OpCase("sum_bool", _fn(lambda x: (x > 0).sum()), _x),
    OpCase("sum_int_all", _fn(lambda x: x.sum()), _ints),
    OpCase("sum_dtype", _fn(lambda x: x.sum(-1, dtype=torch.float64)), _x),
    OpCase("sum_opset17", _fn(lambda x: x.sum(1)), _x, opset=17, expect_ops=_SUM),
    OpCase("mean_sum_scripted", MeanSumScripted, _x, mode="script"),
    # prod
    OpCase("prod_dim", _fn(lambda x: x.prod(1)), _x, expect_ops=frozenset({"ReduceProd"})),
    OpCase("prod_all_opset17", _fn(lambda x: x.prod()), _x, opset=17),
    # amax / amin
    OpCase("amax", _fn(lambda x: x.amax(1)), _x, expect_ops=frozenset({"ReduceMax"})),
    OpCase(
        "amin_keep", _fn(lambda x: x.amin((1, 2), True)), _x, expect_ops=frozenset({"ReduceMin"})
    ),
    OpCase("amax_all", _fn(lambda x: x.amax()), _x, expect_ops=frozenset({"ReduceMax"})),
    OpCase("amax_int", _fn(lambda x: x.amax(-1)), _ints, expect_ops=frozenset({"ReduceMax"})),
    OpCase("amax_bool", _fn(lambda x: (x > 0).amax(-1)), _x),
    OpCase("amax_opset17", _fn(lambda x: x.amax(1)), _x, opset=17),
    # max / min
    OpCase("max_all", _fn(lambda x: x.max()), _x, expect_ops=frozenset({"ReduceMax"})),
    OpCase("min_all", _fn(lambda x: x.min()), _x, expect_ops=frozenset({"ReduceMin"})),
    OpCase("max_dim", _fn(lambda x: x.max(1)), _x, expect_ops=frozenset({"ReduceMax", "ArgMax"})),
    OpCase("min_dim_keep", _fn(lambda x: x.min(-1, keepdim=True)), _x),
    OpCase("max_dim_values", _fn(lambda x: x.max(2)[0]), _x),
    OpCase("max_dim_indices", _fn(lambda x: x.max(0).indices), _x),
    OpCase("max_dim_opset17", _fn(lambda x: x.max(1)), _x, opset=17),
    OpCase("max_dim_int", _fn(lambda x: x.max(1)), _ints),
    OpCase("max_other", _fn2(lambda x, y: torch.max(x, y)), _xy, expect_ops=frozenset({"Max"})),
    OpCase("min_other", _fn2(lambda x, y: torch.min(x, y)), _xy, expect_ops=frozenset({"Min"})),
    OpCase("max_dim_scripted", MaxDimScripted, _x, mode="script"),
    # argmax / argmin
    OpCase(
        "argmax_all", _fn(lambda x: x.argmax()), _x, expect_ops=frozenset({"Reshape", "ArgMax"})
    ),
    OpCase("argmax_dim", _fn(lambda x: x.argmax(1)), _x, expect_ops=frozenset({"ArgMax"})),
    OpCase(
        "argmin_keep",
        _fn(lambda x: x.argmin(-1, keepdim=True)),
        _x,
        expect_ops=frozenset({"ArgMin"}),
    ),
    OpCase("argmax_all_keep", _fn(lambda x: torch.argmax(x, keepdim=True)), _x),
    OpCase("argmax_int", _fn(lambda x: x.argmax(2)), _ints),
    OpCase("arg_scripted", ArgScripted, _x, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_opset17_axes_are_attributes(tmp_path: Path) -> None:
    import onnx

    case = OpCase("mean17", _fn(lambda x: x.mean(1).amax(-1)), _x, opset=17)
    assert_parity(case, tmp_path)
    model = onnx.load(str(tmp_path / "mean17.onnx"))
    reduces = [n for n in model.graph.node if n.op_type.startswith("Reduce")]
    assert len(reduces) == 2
    for n in reduces:
        assert len(n.input) == 1
        assert [a.name for a in n.attribute if a.name == "axes"] == ["axes"]
