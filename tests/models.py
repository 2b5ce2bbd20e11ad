"""Tiny modules shared by tests."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["Fn", "TwoInputs", "Unsupported", "fn", "tiny_mlp"]


def tiny_mlp() -> nn.Module:
    """Linear-ReLU-Linear on 4 features."""
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


class TwoInputs(nn.Module):
    """Two inputs of different dtypes: float features and an integer scale."""

    def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) * k


class Unsupported(nn.Module):
    """Uses two operators that have no ONNX translation (a determinant and an FFT)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        det = torch.linalg.det(x)
        spectrum = torch.fft.rfft(x).abs()
        return spectrum * det + torch.linalg.det(x * 2)


class Fn(nn.Module):
    """A function of the inputs as a module (for tracing; the inputs are named input_0, ...)."""

    def __init__(self, f: Callable[..., object]) -> None:
        super().__init__()
        self.f = f

    def forward(self, *xs: torch.Tensor) -> object:
        return self.f(*xs)


def fn(f: Callable[..., object]) -> Callable[[], nn.Module]:
    """A factory of ``Fn(f)`` (what op cases take)."""
    return lambda: Fn(f)
