"""Parity of element-wise arithmetic: tensor and scalar operands, PyTorch's dtype promotion."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity
from tests.models import fn


class _Scripted(nn.Module):
    """Scripted arithmetic with int and float Python scalars and int tensors."""

    def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        n = x.size(1)
        y = (x * n + 0.5) / 2 - k
        return y // 3 + (k % 4) * 2**2


class _ScriptedAdd(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x + y * 2


def _f(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(*shape),)


def _two(a: torch.dtype, b: torch.dtype) -> Callable[[], tuple[torch.Tensor, ...]]:
    def make() -> tuple[torch.Tensor, ...]:
        x = (torch.randn(2, 3) * 10).to(a)
        y = (torch.randn(2, 3) * 10).to(b)
        return x, torch.where(y == 0, torch.ones_like(y), y)

    return make


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-20, 20, (2, 5)), torch.randint(1, 7, (2, 5)))


CASES = [
    OpCase("add_tensor", fn(lambda x, y: x + y), _two(torch.float32, torch.float32)),
    OpCase(
        "add_alpha",
        fn(lambda x, y: torch.add(x, y, alpha=2.5)),
        _two(torch.float32, torch.float32),
    ),
    OpCase("sub_scalar", fn(lambda x: x - 3), _f(2, 3)),
    OpCase("rsub", fn(lambda x: 1 - x), _f(2, 3), expect_ops=frozenset({"Sub"})),
    OpCase("mul_scalar", fn(lambda x: x * 1.5), _f(2, 3), expect_ops=frozenset({"Mul"})),
    OpCase("div_true", fn(lambda x, y: x / y), _two(torch.float32, torch.float32)),
    OpCase("div_int_int_is_float", fn(lambda x, y: x / y), _ints),
    OpCase(
        "div_floor_float",
        fn(lambda x, y: torch.div(x, y, rounding_mode="floor")),
        _two(torch.float32, torch.float32),
    ),
    OpCase("div_floor_int", fn(lambda x, y: torch.div(x, y, rounding_mode="floor")), _ints),
    OpCase(
        "div_trunc_float",
        fn(lambda x, y: torch.div(x, y, rounding_mode="trunc")),
        _two(torch.float32, torch.float32),
    ),
    OpCase("div_trunc_int", fn(lambda x, y: torch.div(x, y, rounding_mode="trunc")), _ints),
    OpCase("floor_divide_int", fn(lambda x, y: x // y), _ints),
    OpCase(
        "remainder_float",
        fn(lambda x, y: torch.remainder(x, y)),
        _two(torch.float32, torch.float32),
    ),
    OpCase("remainder_int", fn(lambda x, y: x % y), _ints),
    OpCase("fmod_float", fn(lambda x, y: torch.fmod(x, y)), _two(torch.float32, torch.float32)),
    OpCase("fmod_int", fn(lambda x, y: torch.fmod(x, y)), _ints),
    OpCase("neg", fn(lambda x: -x), _f(2, 3), expect_ops=frozenset({"Neg"})),
    OpCase("pow_square", fn(lambda x: x**2), _f(2, 3), expect_ops=frozenset({"Mul"})),
    OpCase("pow_float", fn(lambda x: x.abs() ** 1.7), _f(2, 3)),
    OpCase("pow_tensor", fn(lambda x, y: x.abs() ** (y / 10)), _two(torch.float32, torch.float32)),
    OpCase(
        "sqrt_exp_log",
        fn(lambda x: torch.sqrt(x.abs()) + torch.exp(x) + torch.log(x.abs() + 1)),
        _f(2, 3),
    ),
    OpCase("rsqrt", fn(lambda x: torch.rsqrt(x.abs() + 0.1)), _f(2, 3)),
    OpCase("trig_erf", fn(lambda x: torch.sin(x) * torch.cos(x) + torch.erf(x)), _f(2, 3)),
    OpCase("floor_ceil", fn(lambda x: torch.floor(x * 3) + torch.ceil(x * 3)), _f(2, 3)),
    OpCase("reciprocal", fn(lambda x: torch.reciprocal(x.abs() + 1)), _f(2, 3)),
    # promotion: int tensor with float scalar -> float32; int tensor with int scalar stays int64
    OpCase("int_times_float_scalar", fn(lambda x: x * 0.5), lambda: (torch.randint(0, 9, (2, 3)),)),
    OpCase("int_plus_int_scalar", fn(lambda x: x + 7), lambda: (torch.randint(0, 9, (2, 3)),)),
    OpCase("int_plus_float_tensor", fn(lambda x, y: x + y), _two(torch.int64, torch.float32)),
    OpCase("int32_plus_int64", fn(lambda x, y: x + y), _two(torch.int32, torch.int64)),
    OpCase("float16_plus_float32", fn(lambda x, y: x + y), _two(torch.float16, torch.float32)),
    OpCase("float64_times_float32", fn(lambda x, y: x * y), _two(torch.float64, torch.float32)),
    OpCase(
        "float_plus_zero_dim_double",
        fn(lambda x: x + torch.tensor(2.5, dtype=torch.float64)),
        _f(2, 3),
    ),
    OpCase("bool_plus_int", fn(lambda x, y: (x > 0) + y), _two(torch.float32, torch.int64)),
    OpCase(
        "scripted_scalars",
        _Scripted,
        lambda: (torch.randn(2, 4), torch.randint(0, 9, (2, 4))),
        mode="script",
    ),
    OpCase("scripted_add", _ScriptedAdd, _two(torch.float32, torch.float32), mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
