"""Parity of activations, softmax and eval-mode dropout."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from converter import ConvertOptions, TranslationError, convert
from tests.harness import OpCase, assert_parity, save_archive


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 5, 7),)


def _x4() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 6, 5, 5),)


def _even() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 6, 8),)


def _flat() -> tuple[torch.Tensor, ...]:
    return (torch.randn(4, 5),)


def _unit() -> tuple[torch.Tensor, ...]:
    """Probabilities in (0, 1), the domain of logit."""
    return (torch.rand(2, 5, 7) * 0.98 + 0.01,)


def _prelu(channels: int) -> nn.Module:
    """PReLU with distinct per-channel slopes (the default is 0.25 everywhere)."""
    m = nn.PReLU(channels)
    with torch.no_grad():
        m.weight.copy_(torch.linspace(-0.5, 0.8, channels))
    return m


class _FunctionalPrelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", torch.linspace(0.1, 0.6, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.prelu(x, self.weight)


class _FunctionalGlu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(x, 1)


class _FunctionalSoftplus(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(x, beta=0.5, threshold=0.4)


class _GluOfConcat(nn.Module):
    """GLU over a dim that is dynamic yet always even: the halving point comes from Shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.glu(torch.cat([x, x * 2.0], dim=-1), -1)


class _FunctionalShrink(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardshrink(x, 0.4) + F.softshrink(x, 0.7)


class _FunctionalThreshold(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.threshold(x, -0.2, 3.0) + F.celu(x, 1.5) + F.selu(x)


class _FunctionalRrelu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rrelu(x, 0.05, 0.25, training=False)


class _FunctionalRreluTraining(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rrelu(x, 0.05, 0.25, training=True)


class _Logit(nn.Module):
    def __init__(self, eps: float | None = None) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.logit(x, self.eps)


class _FunctionalMisc(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mish(x) + F.logsigmoid(x) + F.softsign(x) + F.tanhshrink(x)


_SOFTPLUS = frozenset({"Mul", "Softplus", "Div", "Greater", "Where"})

CASES = [
    OpCase("relu", nn.ReLU, _x, expect_ops=frozenset({"Relu"})),
    OpCase("relu_inplace", lambda: nn.ReLU(inplace=True), _x, expect_ops=frozenset({"Relu"})),
    OpCase("relu6", nn.ReLU6, _x, expect_ops=frozenset({"Clip"})),
    OpCase("hardtanh", lambda: nn.Hardtanh(-0.5, 2.0), _x, expect_ops=frozenset({"Clip"})),
    OpCase("leaky_relu", lambda: nn.LeakyReLU(0.2), _x, expect_ops=frozenset({"LeakyRelu"})),
    OpCase("elu", lambda: nn.ELU(0.7), _x, expect_ops=frozenset({"Elu"})),
    OpCase("gelu", nn.GELU, _x),
    OpCase("gelu_tanh", lambda: nn.GELU("tanh"), _x),
    OpCase("gelu_opset20", nn.GELU, _x, opset=20, expect_ops=frozenset({"Gelu"})),
    OpCase(
        "gelu_tanh_opset20", lambda: nn.GELU("tanh"), _x, opset=20, expect_ops=frozenset({"Gelu"})
    ),
    OpCase("silu", nn.SiLU, _x),
    OpCase("hardswish", nn.Hardswish, _x, expect_ops=frozenset({"HardSwish"})),
    OpCase("hardsigmoid", nn.Hardsigmoid, _x, expect_ops=frozenset({"HardSigmoid"})),
    OpCase("sigmoid", nn.Sigmoid, _x, expect_ops=frozenset({"Sigmoid"})),
    OpCase("tanh", nn.Tanh, _x, expect_ops=frozenset({"Tanh"})),
    OpCase("softmax", lambda: nn.Softmax(dim=-1), _x, expect_ops=frozenset({"Softmax"})),
    OpCase("softmax_dim1", lambda: nn.Softmax(dim=1), _x, expect_ops=frozenset({"Softmax"})),
    OpCase("log_softmax", lambda: nn.LogSoftmax(dim=1), _x, expect_ops=frozenset({"LogSoftmax"})),
    OpCase("dropout_eval", lambda: nn.Sequential(nn.Dropout(0.3), nn.ReLU()), _x),
    OpCase("prelu_single", nn.PReLU, _x4, expect_ops=frozenset({"Reshape", "PRelu"})),
    OpCase("prelu_channels_4d", lambda: _prelu(6), _x4, expect_ops=frozenset({"Reshape", "PRelu"})),
    OpCase("prelu_channels_3d", lambda: _prelu(5), _x),
    OpCase("prelu_channels_2d_input", lambda: _prelu(5), _flat),
    OpCase("prelu_functional", _FunctionalPrelu, _x4),
    OpCase("glu_last_dim", nn.GLU, _even, expect_ops=frozenset({"Split", "Sigmoid", "Mul"})),
    OpCase("glu_dim1", lambda: nn.GLU(dim=1), _x4),
    OpCase("glu_functional", _FunctionalGlu, _x4),
    OpCase(
        "glu_dynamic_dim",
        _GluOfConcat,
        _x,
        dynamic_dims={0: (2,)},
        expect_ops=frozenset({"Mul", "Concat", "Shape", "Gather", "Div", "Slice", "Sigmoid"}),
    ),
    OpCase("mish", nn.Mish, _x, expect_ops=frozenset({"Mish"})),
    OpCase(
        "mish_opset17", nn.Mish, _x, opset=17, expect_ops=frozenset({"Softplus", "Tanh", "Mul"})
    ),
    OpCase("softplus", nn.Softplus, _x, expect_ops=frozenset({"Softplus", "Greater", "Where"})),
    OpCase(
        "softplus_beta_threshold",
        lambda: nn.Softplus(beta=2.0, threshold=1.0),
        _x,
        expect_ops=_SOFTPLUS,
    ),
    OpCase("softplus_functional", _FunctionalSoftplus, _x, expect_ops=_SOFTPLUS),
    OpCase("celu", lambda: nn.CELU(0.5), _x, expect_ops=frozenset({"Celu"})),
    OpCase("selu", nn.SELU, _x, expect_ops=frozenset({"Selu"})),
    OpCase(
        "threshold",
        lambda: nn.Threshold(0.1, 20.0),
        _x,
        expect_ops=frozenset({"LessOrEqual", "Where"}),
    ),
    OpCase("log_sigmoid", nn.LogSigmoid, _x, expect_ops=frozenset({"Neg", "Softplus"})),
    OpCase("softsign", nn.Softsign, _x, expect_ops=frozenset({"Abs", "Add", "Div"})),
    OpCase("tanhshrink", nn.Tanhshrink, _x, expect_ops=frozenset({"Tanh", "Sub"})),
    OpCase("hardshrink", nn.Hardshrink, _x, expect_ops=frozenset({"Abs", "LessOrEqual", "Where"})),
    OpCase("softshrink", lambda: nn.Softshrink(0.3), _x, expect_ops=frozenset({"Clip", "Sub"})),
    OpCase("shrink_functional", _FunctionalShrink, _x),
    OpCase("threshold_celu_selu_functional", _FunctionalThreshold, _x),
    OpCase("rrelu_eval", lambda: nn.RReLU(0.1, 0.3), _x, expect_ops=frozenset({"LeakyRelu"})),
    OpCase("rrelu_functional", _FunctionalRrelu, _x, expect_ops=frozenset({"LeakyRelu"})),
    OpCase("logit", _Logit, _unit, expect_ops=frozenset({"Sub", "Div", "Log"})),
    OpCase(
        "logit_eps", lambda: _Logit(0.2), _unit, expect_ops=frozenset({"Clip", "Sub", "Div", "Log"})
    ),
    OpCase("misc_functional", _FunctionalMisc, _x),
    OpCase("misc_functional_opset17", _FunctionalMisc, _x, opset=17),
    OpCase("relu_scripted", nn.ReLU, _x, mode="script", expect_ops=frozenset({"Relu"})),
    OpCase("gelu_scripted", nn.GELU, _x, mode="script"),
    OpCase("softmax_scripted", lambda: nn.Softmax(dim=-1), _x, mode="script"),
    OpCase("prelu_scripted", lambda: _prelu(6), _x4, mode="script"),
    OpCase("prelu_functional_scripted", _FunctionalPrelu, _x4, mode="script"),
    OpCase("glu_scripted", lambda: nn.GLU(dim=1), _x4, mode="script"),
    OpCase("glu_functional_scripted", _FunctionalGlu, _x4, mode="script"),
    OpCase("mish_scripted_opset17", nn.Mish, _x, mode="script", opset=17),
    OpCase("softplus_scripted", lambda: nn.Softplus(2.0, 1.0), _x, mode="script"),
    OpCase("softplus_functional_scripted", _FunctionalSoftplus, _x, mode="script"),
    OpCase("celu_scripted", lambda: nn.CELU(0.5), _x, mode="script"),
    OpCase("selu_scripted", nn.SELU, _x, mode="script"),
    OpCase("threshold_celu_selu_functional_scripted", _FunctionalThreshold, _x, mode="script"),
    OpCase("shrink_functional_scripted", _FunctionalShrink, _x, mode="script"),
    OpCase("rrelu_eval_scripted", lambda: nn.RReLU(0.1, 0.3), _x, mode="script"),
    OpCase("rrelu_functional_scripted", _FunctionalRrelu, _x, mode="script"),
    OpCase("logit_scripted", _Logit, _unit, mode="script"),
    OpCase("logit_eps_scripted", lambda: _Logit(1e-3), _unit, mode="script"),
    OpCase("misc_functional_scripted", _FunctionalMisc, _x, mode="script"),
    OpCase(
        "activations_scripted",
        lambda: nn.Sequential(
            nn.LogSigmoid(),
            nn.Softsign(),
            nn.Tanhshrink(),
            nn.Hardshrink(0.2),
            nn.Softshrink(0.1),
            nn.Threshold(0.05, -1.0),
            nn.Mish(),
        ),
        _x,
        mode="script",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_rrelu_in_training_mode_is_refused(tmp_path: Path) -> None:
    x = torch.randn(2, 5, 7)
    archive = save_archive(_FunctionalRreluTraining(), (x,), tmp_path / "rrelu.pt")
    options = ConvertOptions(allow_findings=frozenset({"training-mode"}))  # past the validator
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "rrelu.onnx", (x,), options=options)
    message = str(info.value)
    assert "aten::rrelu" in message
    assert "training mode" in message and ".eval()" in message
