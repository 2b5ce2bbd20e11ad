"""Parity of the extra element-wise math: rounding, logs/exps, trigonometry, logical and bitwise
ops, NaN-aware minimum/maximum, float classification, lerp/addcmul/addcdiv, hypot; float16
and bfloat16 models."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from converter import ConvertOptions, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, save_archive
from tests.models import Fn, fn

_INF, _NAN = math.inf, math.nan


def _f(*shape: int, scale: float = 1.0) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(*shape) * scale,)


def _unit(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    """Values in (-1, 1), the domain of asin, acos and atanh."""
    return lambda: (torch.rand(*shape) * 1.98 - 0.99,)


def _pos(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.rand(*shape) * 5 + 0.01,)


def _two(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(*shape), torch.randn(*shape))


def _ints(lo: int = -9, hi: int = 10, dtype: torch.dtype = torch.int64) -> Callable[[], tuple]:
    return lambda: (torch.randint(lo, hi, (3, 4), dtype=dtype), torch.randint(lo, hi, (3, 4)))


def _int1(lo: int = -9, hi: int = 10, dtype: torch.dtype = torch.int64) -> Callable[[], tuple]:
    return lambda: (torch.randint(lo, hi, (3, 4), dtype=dtype),)


def _bools() -> tuple[torch.Tensor, ...]:
    return torch.rand(3, 4) > 0.5, torch.rand(3, 4) > 0.5


def _special() -> tuple[torch.Tensor, ...]:
    """NaN, infinities and signed zeros (random feeds replace them with normal values)."""
    x = torch.tensor([[_NAN, _INF, -_INF, 0.0, -0.0, 1.5], [2.5, -2.5, 0.5, -0.5, 1e-8, 3.0]])
    return (x,)


def _special_pairs() -> tuple[torch.Tensor, ...]:
    a = torch.tensor([[0.0, -0.0, 0.0, -0.0, _INF, _INF, -_INF, 1.0, _NAN, 2.0, -3.0, 1.0]] * 2)
    b = torch.tensor([[0.0, 0.0, -0.0, -0.0, _INF, -_INF, -_INF, -_INF, 1.0, _NAN, 0.0, -0.5]] * 2)
    return a, b


def _half(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(*shape).half(),)


# ---- scripted modules ------------------------------------------------------------------------
class RoundingScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.round(x * 3), torch.trunc(x * 3) + torch.sign(x), torch.round(x, decimals=2)


class LogicScripted(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        keep = (x > 0) & ~(y > 1) | (x < -1) ^ (y < 0)
        both = torch.logical_and(x, y > 0)
        return keep, both


class BitsScripted(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x & y) | (x ^ 5) | ~y


class InplaceBitsScripted(nn.Module):
    def forward(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = x.clone()
        z &= y
        z |= 3
        z ^= y
        return z, torch.as_tensor([1, 2, 3, 4]) + y, torch.as_tensor(y, dtype=torch.float32)


class NanScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        bad = torch.isnan(x) | torch.isinf(x)
        return bad, torch.nan_to_num(x, nan=0.0, posinf=1e4), torch.isfinite(x)


class LerpScripted(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.lerp(x, y, 0.25), torch.addcmul(x, x, y, value=0.5)


class HalfMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fc1(x)) + 1
        return self.fc2(h) + x[:, :4]


def _half_mlp() -> nn.Module:
    return HalfMLP().half()


class HalfMath(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (
            torch.log1p(x.abs()),
            torch.expm1(x),
            torch.atan2(x, x + 1),
            torch.maximum(x, -x),
            torch.sign(x),
            torch.round(x * 4),
            torch.hypot(x, x * 2),
            torch.nan_to_num(x),
        )


CASES = [
    # rounding and sign
    OpCase("sign", fn(torch.sign), _special, expect_ops=frozenset({"Sign", "IsNaN", "Where"})),
    OpCase("sign_int", fn(torch.sign), _int1(), expect_ops=frozenset({"Sign"})),
    OpCase("sign_int16", fn(torch.sign), _int1(dtype=torch.int16)),
    OpCase("sign_bool", fn(lambda x: torch.sign(x > 0)), _f(3, 4)),
    OpCase("sgn", fn(torch.sgn), _f(3, 4)),
    OpCase("round", fn(lambda x: torch.round(x * 4)), _f(3, 4)),
    OpCase(
        "round_half_even",
        fn(torch.round),
        lambda: (torch.tensor([[0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 4.5]]),),
    ),
    OpCase("round_decimals", fn(lambda x: torch.round(x * 100, decimals=2)), _f(3, 4)),
    OpCase("round_decimals_neg", fn(lambda x: torch.round(x * 1000, decimals=-2)), _f(3, 4)),
    OpCase("round_int", fn(torch.round), _int1()),
    OpCase("trunc", fn(lambda x: torch.trunc(x * 3)), _f(3, 4)),
    OpCase("trunc_special", fn(torch.trunc), _special),
    OpCase("fix", fn(lambda x: torch.fix(x * 3)), _f(3, 4)),
    OpCase("frac", fn(lambda x: torch.frac(x * 3)), _f(3, 4)),
    OpCase("square", fn(torch.square), _f(3, 4), expect_ops=frozenset({"Mul"})),
    OpCase("square_int", fn(torch.square), _int1()),
    OpCase("square_bool", fn(lambda x: torch.square(x > 0)), _f(3, 4)),
    OpCase("rounding_scripted", RoundingScripted, _f(3, 4), mode="script"),
    # logs and exps
    OpCase("log1p", fn(torch.log1p), _pos(3, 4)),
    OpCase("log1p_tiny", fn(lambda x: torch.log1p(x * 1e-9)), _f(3, 4)),
    OpCase("log1p_special", fn(torch.log1p), _special),
    OpCase("log1p_int", fn(torch.log1p), lambda: (torch.randint(0, 9, (3, 4)),)),
    OpCase("expm1", fn(torch.expm1), _f(3, 4)),
    OpCase("expm1_tiny", fn(lambda x: torch.expm1(x * 1e-9)), _f(3, 4)),
    OpCase("expm1_special", fn(torch.expm1), _special),
    OpCase("expm1_float64", fn(torch.expm1), lambda: (torch.randn(3, 4, dtype=torch.float64),)),
    OpCase("log2", fn(torch.log2), _pos(3, 4)),
    OpCase(
        "log2_powers_floor",
        fn(lambda x: torch.floor(torch.log2(x))),
        lambda: (torch.tensor([[1.0, 2.0, 4.0, 8.0, 1024.0, 2.0**-3, 3.0, 2.0**20]]),),
    ),
    OpCase("log10", fn(torch.log10), _pos(3, 4)),
    OpCase(
        "log10_powers",
        fn(torch.log10),
        lambda: (torch.tensor([[1.0, 10.0, 100.0, 1000.0, 1e5, 1e-3]]),),
    ),
    OpCase("exp2", fn(torch.exp2), _f(3, 4, scale=4)),
    OpCase("exp2_int", fn(torch.exp2), lambda: (torch.randint(-4, 10, (3, 4)),)),
    OpCase("deg2rad_rad2deg", fn(lambda x: (torch.deg2rad(x * 90), torch.rad2deg(x))), _f(3, 4)),
    # trigonometry
    OpCase("tan", fn(torch.tan), _f(3, 4), expect_ops=frozenset({"Tan"})),
    OpCase("sinh_cosh", fn(lambda x: (torch.sinh(x), torch.cosh(x))), _f(3, 4, scale=3)),
    OpCase("asin_acos_atan", fn(lambda x: (x.asin(), x.acos(), x.atan())), _unit(3, 4)),
    OpCase(
        "asinh_acosh_atanh",
        fn(lambda x: (x.asinh(), (x.abs() + 1).acosh(), x.atanh())),
        _unit(3, 4),
    ),
    OpCase("trig_int", fn(lambda x: torch.atan(x) + torch.sinh(x)), _int1(-3, 3)),
    OpCase("atan2", fn(torch.atan2), _two(3, 4)),
    OpCase("atan2_special", fn(torch.atan2), _special_pairs),
    OpCase(
        "atan2_int",
        fn(torch.atan2),
        lambda: (torch.randint(-3, 4, (3, 4)), torch.randint(-3, 4, (3, 4))),
    ),
    # logical and bitwise
    OpCase(
        "logical",
        fn(
            lambda x, y: (
                torch.logical_and(x, y),
                torch.logical_or(x, y),
                torch.logical_xor(x, y),
                torch.logical_not(x),
            )
        ),
        lambda: (torch.randn(3, 4).round(), torch.randint(0, 2, (3, 4))),
    ),
    OpCase("logical_scripted", LogicScripted, _two(3, 4), mode="script"),
    OpCase("bool_ops_opset17", fn(lambda x, y: (x & y, x | y, x ^ y, ~x)), _bools, opset=17),
    OpCase(
        "bitwise_int",
        fn(lambda x, y: (x & y, x | y, x ^ y, ~x)),
        _ints(),
        expect_ops=frozenset({"BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot"}),
    ),
    OpCase(
        "bitwise_int32_scalar",
        fn(lambda x, y: (torch.bitwise_and(x, 6), x | 1, torch.bitwise_xor(x, 3))),
        _ints(dtype=torch.int32),
    ),
    OpCase("bitwise_uint8", fn(lambda x, y: (x & 0x0F, ~x)), _ints(0, 255, torch.uint8)),
    OpCase("bitwise_scripted", BitsScripted, _ints(), mode="script"),
    OpCase("bitwise_inplace_scripted", InplaceBitsScripted, _ints(), mode="script"),
    OpCase(
        "bitwise_inplace_traced",
        fn(lambda x, y: (x.clone().__iand__(y), x.clone().__ior__(y), x.clone().__ixor__(y))),
        _ints(),
    ),
    OpCase(
        "bitwise_or_mixed_bool_int",
        fn(lambda x, y: torch.bitwise_or(x > 0, y)),
        _ints(),
    ),
    OpCase("bitwise_int_opset19", fn(lambda x, y: x ^ y), _ints(), opset=19),
    # minimum / maximum and NaN
    OpCase(
        "maximum_minimum", fn(lambda x, y: (torch.maximum(x, y), torch.minimum(x, y))), _two(3, 4)
    ),
    OpCase(
        "maximum_nan",
        fn(lambda x, y: (torch.maximum(x, y), torch.minimum(x, y))),
        _special_pairs,
    ),
    OpCase("fmax_fmin_nan", fn(lambda x, y: (torch.fmax(x, y), torch.fmin(x, y))), _special_pairs),
    OpCase("fmax_fmin", fn(lambda x, y: (torch.fmax(x, y), torch.fmin(x, y))), _two(3, 4)),
    OpCase("maximum_int", fn(lambda x, y: (torch.maximum(x, y), torch.fmin(x, y))), _ints()),
    OpCase("maximum_int16", fn(lambda x, y: torch.minimum(x, y.short())), _ints(dtype=torch.int16)),
    OpCase("maximum_bool", fn(lambda x, y: (torch.maximum(x, y), torch.minimum(x, y))), _bools),
    OpCase("maximum_mixed", fn(lambda x, y: torch.maximum(x, y.float())), _ints()),
    # classification
    OpCase(
        "isnan_isinf_isfinite",
        fn(lambda x: (x.isnan(), x.isinf(), x.isfinite(), x.isposinf(), x.isneginf())),
        _special,
    ),
    OpCase("isnan_int", fn(lambda x, y: (x.isnan(), x.isinf(), x.isfinite())), _ints()),
    OpCase("signbit", fn(torch.signbit), _special),
    OpCase("signbit_int", fn(lambda x, y: torch.signbit(x)), _ints()),
    OpCase("nan_to_num", fn(torch.nan_to_num), _special),
    OpCase(
        "nan_to_num_values",
        fn(lambda x: torch.nan_to_num(x, nan=-1.0, posinf=100.0, neginf=-100.0)),
        _special,
    ),
    OpCase("nan_to_num_int", fn(lambda x, y: torch.nan_to_num(x)), _ints()),
    OpCase("nan_scripted", NanScripted, _special, mode="script"),
    # fused arithmetic
    OpCase("copysign", fn(torch.copysign), _special_pairs),
    OpCase("copysign_scalar", fn(lambda x: torch.copysign(x, -1.0)), _f(3, 4)),
    OpCase("copysign_int", fn(torch.copysign), _ints()),
    OpCase("lerp_scalar_small", fn(lambda x, y: torch.lerp(x, y, 0.3)), _two(3, 4)),
    OpCase("lerp_scalar_large", fn(lambda x, y: torch.lerp(x, y, 0.8)), _two(3, 4)),
    OpCase(
        "lerp_tensor",
        fn(torch.lerp),
        lambda: (torch.randn(3, 4), torch.randn(3, 4), torch.rand(3, 4) * 2 - 0.5),
    ),
    OpCase("addcmul", fn(lambda x, y: torch.addcmul(x, x, y, value=-1.5)), _two(3, 4)),
    OpCase("addcmul_int", fn(lambda x, y: torch.addcmul(x, x, y, value=3)), _ints()),
    OpCase("addcdiv", fn(lambda x, y: torch.addcdiv(x, x, y.abs() + 0.5, value=0.5)), _two(3, 4)),
    OpCase("lerp_scripted", LerpScripted, _two(3, 4), mode="script"),
    OpCase("hypot", fn(torch.hypot), _two(3, 4)),
    OpCase(
        "hypot_extremes",
        fn(torch.hypot),
        lambda: (
            torch.tensor([[1e30, 3.0, _INF, 0.0, 1e-30, _NAN]]),
            torch.tensor([[1e30, 4.0, _NAN, 0.0, 1e-30, 1.0]]),
        ),
    ),
    OpCase(
        "hypot_float64",
        fn(torch.hypot),
        lambda: (torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)),
    ),
    OpCase("xlogy", fn(torch.xlogy), lambda: (torch.randn(3, 4).relu(), torch.rand(3, 4) + 0.1)),
    OpCase("xlogy_special", fn(torch.xlogy), _special_pairs),
    OpCase("xlogy_scalar", fn(lambda x: (torch.xlogy(2, x.abs()), torch.xlogy(x, 3.0))), _f(3, 4)),
    OpCase(
        "logaddexp", fn(lambda x, y: (torch.logaddexp(x, y), torch.logaddexp2(x, y))), _two(3, 4)
    ),
    OpCase("logaddexp_special", fn(torch.logaddexp), _special_pairs),
    OpCase(
        "heaviside",
        fn(lambda x, y: torch.heaviside(x.round(), y)),
        _two(3, 4),
    ),
    # dynamic batch through a chain of the new ops
    OpCase(
        "chain_dynamic_batch",
        fn(lambda x: torch.log1p(x.abs()) * torch.sign(x) + torch.atan2(x, x.flip(1))),
        _f(5, 6),
    ),
    # float16 and bfloat16
    OpCase("half_mlp", _half_mlp, _half(3, 8)),
    OpCase("half_mlp_scripted", _half_mlp, _half(3, 8), mode="script"),
    OpCase("half_math", HalfMath, _half(3, 4)),
    OpCase(
        "bfloat16_inside",
        fn(
            lambda x: (
                torch.sign(x.bfloat16()).float(),
                torch.log1p(x.abs().bfloat16()).float(),
                torch.maximum(x.bfloat16(), x.flip(1).bfloat16()).float(),
                torch.isnan(x.bfloat16()),
            )
        ),
        _f(3, 4),
    ),
    OpCase(
        "bfloat16_more",
        fn(
            lambda x: (
                torch.nan_to_num(x.bfloat16()).float(),
                torch.round(x.bfloat16()).float(),
                torch.trunc(x.bfloat16()).float(),
                torch.atan2(x.bfloat16(), x.flip(1).bfloat16()).float(),
                torch.fmax(x.bfloat16(), x.flip(1).bfloat16()).float(),
                torch.copysign(x.bfloat16(), x.flip(1).bfloat16()).float(),
                torch.square(x.bfloat16()).float(),
                torch.lerp(x.bfloat16(), x.flip(1).bfloat16(), 0.3).float(),
                torch.logical_xor(x.bfloat16(), x.flip(1).bfloat16()),
                torch.isinf(x.bfloat16()) | torch.signbit(x.bfloat16()),
            )
        ),
        _f(3, 4, scale=3),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def _f64() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 4, dtype=torch.float64),)


# ---- refusals --------------------------------------------------------------------------------
REFUSALS = [
    ("erfinv", fn(torch.erfinv), _f(3, 4), 18, "inverse error function"),
    ("bitwise_int_opset17", fn(lambda x, y: x & y), _ints(), 17, "--opset 18"),
    ("bitwise_not_int_opset17", fn(lambda x, y: ~x), _ints(), 17, "--opset 18"),
    (
        "atan_float64",
        fn(torch.atan),
        lambda: (torch.randn(3, 4, dtype=torch.float64),),
        18,
        "no float64 Atan",
    ),
    (
        "erf_float64",
        fn(torch.erf),
        _f64,
        18,
        "erf of a float64 tensor: ONNX Runtime's CPU provider has no float64 Erf kernel",
    ),
    ("gelu_float64", fn(nn.functional.gelu), _f64, 18, "exact gelu of a float64 tensor"),
    ("gelu_float64_opset20", fn(nn.functional.gelu), _f64, 20, "exact gelu of a float64 tensor"),
]


@pytest.mark.parametrize(
    ("name", "make", "inputs", "opset", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused(
    name: str,
    make: Callable[[], nn.Module],
    inputs: Callable[[], tuple[torch.Tensor, ...]],
    opset: int,
    reason: str,
    tmp_path: Path,
) -> None:
    xs = inputs()
    archive = save_archive(make().eval(), xs, tmp_path / f"{name}.pt")
    with pytest.raises(TranslationError, match=reason):
        convert(archive, tmp_path / f"{name}.onnx", xs, options=ConvertOptions(opset=opset))


def test_bfloat16_inputs_refused_clearly(tmp_path: Path) -> None:
    """A model taking bfloat16 inputs is refused with a one-line InputError naming the input."""
    from converter.errors import InputError

    xs = (torch.randn(3, 4).bfloat16(),)
    archive = save_archive(Fn(torch.sign).eval(), xs, tmp_path / "bf16.pt")
    with pytest.raises(InputError) as info:
        convert(archive, tmp_path / "bf16.onnx", xs)
    assert str(info.value) == (
        f"{archive}: input 'input_0' is bfloat16, which ONNX Runtime's Python API cannot feed; "
        "cast the model's inputs to float32 (cast back inside forward to keep its arithmetic)"
    )
    assert not (tmp_path / "bf16.onnx").exists()
