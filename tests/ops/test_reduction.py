"""Parity of reductions: mean, sum, prod, amax/amin, max/min, argmax/argmin, var/std, norms,
logsumexp, all/any, count_nonzero, numel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity
from tests.models import Fn, fn

# std of one element divides 0 by 0 (NaN, as in PyTorch), which PyTorch warns about
pytestmark = pytest.mark.filterwarnings("ignore:std... degrees of freedom:UserWarning")


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4),)


def _xy() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 4), torch.randn(2, 3, 4)


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-5, 5, (2, 3, 4), dtype=torch.int32),)


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


class VarStdScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        var, mean = torch.var_mean(x, [1, 2], keepdim=True)
        return x.std(1), (x - mean) / torch.sqrt(var + 1e-5), x.var(-1, correction=0)


class NormScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            torch.linalg.vector_norm(x, 2.0, [-1]),
            torch.linalg.vector_norm(x, float("inf"), [1, 2], True),
            x / x.norm(2, -1, True),
        )


class LogicReduceScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        pos = x > 0
        return pos.all(1), pos.any(), x.logsumexp(-1), x.numel()


class NumelDynamic(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum() / x.numel()


# float max/min: NaN in a reduced slice gives NaN (ONNX Runtime's ReduceMax skips it)
_NAN_MAX = frozenset({"ReduceMax", "IsNaN", "Where", "ReduceSum", "Add"})
_NAN_MIN = frozenset({"ReduceMin", "IsNaN", "Where", "ReduceSum", "Add"})
_NAN_ARG = frozenset({"ArgMax", "IsNaN", "Cast", "ReduceMax", "Where"})  # the first NaN wins


def _special() -> tuple[torch.Tensor, ...]:
    nan, inf = float("nan"), float("inf")
    x = torch.tensor([[[1.0, nan, -2.0, 0.5], [inf, 1.0, 2.0, 3.0], [-inf, -inf, 0.0, 1.0]]] * 2)
    return (x,)


def _half() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4).half(),)


_MEAN = frozenset({"ReduceMean"})
_SUM = frozenset({"ReduceSum"})

CASES = [
    # mean
    OpCase("mean_all", fn(lambda x: x.mean()), _x, expect_ops=_MEAN),
    OpCase("mean_dim", fn(lambda x: x.mean(1)), _x, expect_ops=_MEAN),
    OpCase("mean_dims_keep", fn(lambda x: x.mean([1, 2], keepdim=True)), _x, expect_ops=_MEAN),
    OpCase("mean_neg", fn(lambda x: x.mean(-1)), _x, expect_ops=_MEAN),
    OpCase("mean_empty_dims", fn(lambda x: torch.mean(x, [])), _x, expect_ops=_MEAN),
    OpCase(
        "mean_dtype",
        fn(lambda x: x.mean(1, dtype=torch.float64)),
        _x,
        expect_ops=frozenset({"Cast", "ReduceMean"}),
    ),
    OpCase("mean_opset17", fn(lambda x: x.mean([0, 2])), _x, opset=17, expect_ops=_MEAN),
    OpCase("mean_all_opset17", fn(lambda x: x.mean()), _x, opset=17, expect_ops=_MEAN),
    OpCase("mean_batch", fn(lambda x: x.mean(0)), _x, expect_ops=_MEAN),
    OpCase("global_pool_scripted", GlobalPool, lambda: (torch.randn(2, 3, 4, 5),), mode="script"),
    # sum
    OpCase("sum_all", fn(lambda x: x.sum()), _x, expect_ops=_SUM),
    OpCase("sum_dim", fn(lambda x: x.sum(2)), _x, expect_ops=_SUM),
    OpCase("sum_dims_keep", fn(lambda x: x.sum((0, 2), keepdim=True)), _x, expect_ops=_SUM),
    OpCase("sum_int", fn(lambda x: x.sum(1)), _ints, expect_ops=frozenset({"Cast", "ReduceSum"})),
    OpCase("sum_bool", fn(lambda x: (x > 0).sum()), _x),
    OpCase("sum_int_all", fn(lambda x: x.sum()), _ints),
    OpCase("sum_dtype", fn(lambda x: x.sum(-1, dtype=torch.float64)), _x),
    OpCase("sum_opset17", fn(lambda x: x.sum(1)), _x, opset=17, expect_ops=_SUM),
    OpCase("mean_sum_scripted", MeanSumScripted, _x, mode="script"),
    # prod
    OpCase("prod_dim", fn(lambda x: x.prod(1)), _x, expect_ops=frozenset({"ReduceProd"})),
    OpCase("prod_all_opset17", fn(lambda x: x.prod()), _x, opset=17),
    # amax / amin
    OpCase("amax", fn(lambda x: x.amax(1)), _x, expect_ops=_NAN_MAX),
    OpCase("amin_keep", fn(lambda x: x.amin((1, 2), True)), _x, expect_ops=_NAN_MIN),
    OpCase("amax_all", fn(lambda x: x.amax()), _x, expect_ops=_NAN_MAX),
    OpCase("amax_int", fn(lambda x: x.amax(-1)), _ints, expect_ops=frozenset({"ReduceMax"})),
    OpCase("amax_bool", fn(lambda x: (x > 0).amax(-1)), _x),
    OpCase("amax_opset17", fn(lambda x: x.amax(1)), _x, opset=17),
    # max / min
    OpCase("max_all", fn(lambda x: x.max()), _x, expect_ops=_NAN_MAX),
    OpCase("min_all", fn(lambda x: x.min()), _x, expect_ops=_NAN_MIN),
    OpCase("max_dim", fn(lambda x: x.max(1)), _x, expect_ops=_NAN_MAX | _NAN_ARG),
    OpCase("min_dim_keep", fn(lambda x: x.min(-1, keepdim=True)), _x),
    OpCase("max_dim_values", fn(lambda x: x.max(2)[0]), _x),
    OpCase("max_dim_indices", fn(lambda x: x.max(0).indices), _x),
    OpCase("max_dim_opset17", fn(lambda x: x.max(1)), _x, opset=17),
    OpCase("max_dim_int", fn(lambda x: x.max(1)), _ints),
    OpCase("max_other", fn(lambda x, y: torch.max(x, y)), _xy, expect_ops=frozenset({"Max"})),
    OpCase("min_other", fn(lambda x, y: torch.min(x, y)), _xy, expect_ops=frozenset({"Min"})),
    OpCase("max_dim_scripted", MaxDimScripted, _x, mode="script"),
    # argmax / argmin
    OpCase("argmax_all", fn(lambda x: x.argmax()), _x, expect_ops=_NAN_ARG | {"Reshape"}),
    OpCase("argmax_dim", fn(lambda x: x.argmax(1)), _x, expect_ops=_NAN_ARG),
    OpCase(
        "argmin_keep",
        fn(lambda x: x.argmin(-1, keepdim=True)),
        _x,
        expect_ops=_NAN_ARG | {"ArgMin"},
    ),
    OpCase("argmax_all_keep", fn(lambda x: torch.argmax(x, keepdim=True)), _x),
    OpCase("argmax_int", fn(lambda x: x.argmax(2)), _ints),
    OpCase("arg_scripted", ArgScripted, _x, mode="script"),
    # var / std
    OpCase("var_all", fn(lambda x: x.var()), _x),
    OpCase("var_dim", fn(lambda x: x.var(1)), _x),
    OpCase("var_dims_keep_biased", fn(lambda x: x.var((0, 2), unbiased=False, keepdim=True)), _x),
    OpCase("var_correction", fn(lambda x: torch.var(x, -1, correction=2)), _x),
    OpCase("var_batch_dim", fn(lambda x: x.var(0)), _x),
    OpCase("std_dim", fn(lambda x: x.std(-1, keepdim=True)), _x),
    OpCase("std_all_biased", fn(lambda x: x.std(unbiased=False)), _x),
    OpCase("std_single_element", fn(lambda x: x[:, :1].std(1)), _x),
    OpCase("var_mean", fn(lambda x: torch.var_mean(x, 1)), _x),
    OpCase("std_mean_keep", fn(lambda x: torch.std_mean(x, (1, 2), keepdim=True)), _x),
    OpCase("std_mean_all", fn(lambda x: torch.std_mean(x)), _x),
    OpCase("var_float64", fn(lambda x: x.double().var(1)), _x),
    OpCase("var_half", fn(lambda x: x.var(-1)), _half),
    OpCase("var_opset17", fn(lambda x: x.std(1)), _x, opset=17),
    OpCase("var_std_scripted", VarStdScripted, _x, mode="script"),
    # norms
    OpCase("norm_all", fn(lambda x: torch.norm(x)), _x, expect_ops=frozenset({"ReduceL2"})),
    OpCase("norm_dim", fn(lambda x: torch.norm(x, dim=1)), _x),
    OpCase("norm_p1_keep", fn(lambda x: torch.norm(x, p=1, dim=(1, 2), keepdim=True)), _x),
    OpCase("norm_inf", fn(lambda x: torch.norm(x, p=float("inf"), dim=-1)), _x),
    OpCase("norm_neg_inf", fn(lambda x: torch.linalg.vector_norm(x, float("-inf"), 1)), _x),
    OpCase("norm_p3", fn(lambda x: torch.norm(x, p=3, dim=2)), _x),
    OpCase("norm_p0", fn(lambda x: torch.linalg.vector_norm(x.round(), 0, -1)), _x),
    OpCase("norm_fro", fn(lambda x: torch.norm(x, "fro", dim=(1, 2))), _x),
    OpCase("norm_inf_nan", fn(lambda x: torch.linalg.vector_norm(x, float("inf"), -1)), _special),
    # NaN wins in max/min and their indices, as in PyTorch
    OpCase("amax_amin_nan", fn(lambda x: (x.amax(-1), x.amin((0, 2)))), _special),
    OpCase("max_min_all_nan", fn(lambda x: (x.max(), x.min(), x[0, 1:].max())), _special),
    OpCase("max_min_dim_nan", fn(lambda x: (*x.max(-1), *x.min(2, keepdim=True))), _special),
    OpCase("argmax_argmin_nan", fn(lambda x: (x.argmax(-1), x.argmin(2), x.argmax())), _special),
    OpCase("max_dim_nan_opset17", fn(lambda x: x.max(-1)), _special, opset=17),
    OpCase("norm_dtype", fn(lambda x: torch.linalg.vector_norm(x, dtype=torch.float64)), _x),
    OpCase(
        "linalg_norm", fn(lambda x: (torch.linalg.norm(x), torch.linalg.norm(x, dim=(1, 2)))), _x
    ),
    OpCase("linalg_norm_vector_ord", fn(lambda x: torch.linalg.norm(x, 3, dim=-1)), _x),
    OpCase("matrix_norm_fro", fn(lambda x: torch.linalg.matrix_norm(x)), _x),
    OpCase(
        "matrix_norm_1_inf",
        fn(lambda x: (torch.linalg.matrix_norm(x, 1), torch.linalg.matrix_norm(x, -float("inf")))),
        _x,
    ),
    OpCase("normalize", fn(lambda x: torch.nn.functional.normalize(x, dim=1)), _x),
    OpCase("norm_half", fn(lambda x: torch.norm(x, dim=-1)), _half),
    OpCase("norm_scripted", NormScripted, _x, mode="script"),
    # logsumexp
    OpCase("logsumexp", fn(lambda x: x.logsumexp(1)), _x),
    OpCase("logsumexp_keep_dims", fn(lambda x: torch.logsumexp(x * 50, (1, 2), keepdim=True)), _x),
    OpCase("logsumexp_special", fn(lambda x: x.logsumexp(-1)), _special),
    OpCase("logsumexp_int", fn(lambda x: x.logsumexp(1)), _ints),
    OpCase("logsumexp_half", fn(lambda x: x.logsumexp(-1)), _half),
    OpCase("logsumexp_opset17", fn(lambda x: x.logsumexp(1)), _x, opset=17),
    # all / any
    OpCase("all_any", fn(lambda x: ((x > 0).all(), (x > 0).any())), _x),
    OpCase("all_any_dim", fn(lambda x: ((x > -1).all(1), (x > 1).any(-1, keepdim=True))), _x),
    OpCase("all_any_dims", fn(lambda x: ((x > -1).all(dim=(1, 2)), (x > 1).any(dim=(0, 2)))), _x),
    OpCase("all_any_float", fn(lambda x: (x.round().all(-1), x.round().any(1))), _x),
    OpCase("all_any_int", fn(lambda x: (x.all(-1), x.any())), _ints),
    OpCase(
        "all_any_uint8",
        fn(lambda x: (x.all(-1), x.any(1))),
        lambda: (torch.randint(0, 3, (2, 3, 4), dtype=torch.uint8),),
    ),
    OpCase("all_any_empty_dim", fn(lambda x: ((x[:, :0] > 0).all(1), (x[:, :0] > 0).any(1))), _x),
    OpCase("all_opset17", fn(lambda x: (x > 0).all(1)), _x, opset=17),
    OpCase("logic_reduce_scripted", LogicReduceScripted, _x, mode="script"),
    # count_nonzero / numel
    OpCase("count_nonzero", fn(lambda x: torch.count_nonzero(x.round())), _x),
    OpCase("count_nonzero_dims", fn(lambda x: torch.count_nonzero(x.round(), (0, 2))), _x),
    OpCase("count_nonzero_int_dim", fn(lambda x: torch.count_nonzero(x, -1)), _ints),
    OpCase("numel_traced", fn(lambda x: x.sum() / x.numel()), _x),
    OpCase("numel_scripted_dynamic", NumelDynamic, _x, mode="script"),
    OpCase(
        "bfloat16_reductions",
        fn(
            lambda x: (
                x.bfloat16().var(1).float(),
                x.bfloat16().norm(dim=1).float(),
                x.bfloat16().logsumexp(-1).float(),
                x.bfloat16().round().all(1),
                torch.count_nonzero(x.bfloat16().round(), -1),
            )
        ),
        _x,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_opset17_axes_are_attributes(tmp_path: Path) -> None:
    import onnx

    case = OpCase("mean17", fn(lambda x: x.mean(1).amax(-1)), _x, opset=17)
    assert_parity(case, tmp_path)
    model = onnx.load(str(tmp_path / "mean17.onnx"))
    # (ReduceSum, which carries a NaN through the max, takes axes as an input since opset 13)
    reduces = [n for n in model.graph.node if n.op_type in ("ReduceMean", "ReduceMax")]
    assert len(reduces) == 2
    for n in reduces:
        assert len(n.input) == 1
        assert [a.name for a in n.attribute if a.name == "axes"] == ["axes"]


REFUSALS = [
    ("matrix_norm_2", lambda x: torch.linalg.matrix_norm(x, 2), "singular values"),
    ("matrix_norm_nuc", lambda x: torch.linalg.matrix_norm(x, "nuc"), "singular values"),
]


@pytest.mark.parametrize(("name", "fn", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused(name: str, fn: object, reason: str, tmp_path: Path) -> None:
    from converter import ConvertOptions, convert
    from converter.errors import TranslationError
    from tests.harness import save_archive

    xs = _x()
    archive = save_archive(Fn(fn).eval(), xs, tmp_path / f"{name}.pt")
    with pytest.raises(TranslationError, match=reason):
        convert(archive, tmp_path / f"{name}.onnx", xs, options=ConvertOptions())
