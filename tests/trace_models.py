"""Modules that tracing gets wrong, one failure mode each; MARK comments name the lines."""

from __future__ import annotations

import torch
from torch import nn


class DataIf(nn.Module):
    """A Python if on a tensor value."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # MARK:if
            return x * 2
        return x * -1


class ConstantIf(nn.Module):
    """The R post's example: both branches return constants."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return torch.tensor(1.0)  # MARK:const
        return torch.tensor(2.0)


class IntSlice(nn.Module):
    """Slicing with int(x.max())."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = int(x.max())  # MARK:int
        return x[:, :n]


class LoopOverSize(nn.Module):
    """A loop over x.size(0), unrolled at the traced batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = []
        for i in range(x.size(0)):  # MARK:for
            rows.append(x[i] * 2)
        return torch.stack(rows)


class FloatMean(nn.Module):
    """A Python float from x.mean()."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = float(x.mean())  # MARK:float
        return x * scale


class BakedView(nn.Module):
    """A reshape with the traced batch size written in."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(2, -1)  # MARK:view


class DynamicView(nn.Module):
    """The right way: the batch size read from the input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x.view(x.size(0), -1))


class ConstantOutput(nn.Module):
    """Ignores its input entirely."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(3)  # MARK:ones


def dropout_net() -> nn.Module:
    """Linear + Dropout, left in training mode by the caller."""
    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))


def batchnorm_net() -> nn.Module:
    """Conv + BatchNorm, left in training mode by the caller."""
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
