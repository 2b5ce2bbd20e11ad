"""Parity of batch, layer, group and instance normalization (eval mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from converter import ConvertOptions, TranslationError, convert, verify
from tests.harness import OpCase, assert_parity, onnx_op_types, save_archive


def _x1() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 6, 10),)


def _x2() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 6, 8, 8),)


def _x3() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 6, 4, 5, 6),)


def _flat() -> tuple[torch.Tensor, ...]:
    return (torch.randn(4, 6),)


def _offset() -> tuple[torch.Tensor, ...]:
    """Values with a large common offset: a one-pass variance would lose precision."""
    return (torch.randn(2, 6, 8, 8) * 0.1 + 50.0,)


def _with_stats(bn: nn.modules.batchnorm._NormBase) -> nn.Module:
    """Random running statistics and affine parameters, so eval differs from batch stats."""
    with torch.no_grad():
        if bn.running_mean is not None and bn.running_var is not None:
            bn.running_mean.uniform_(-1.0, 1.0)
            bn.running_var.uniform_(0.5, 2.0)
        if bn.weight is not None and bn.bias is not None:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    return bn


def _affine(norm: nn.Module) -> nn.Module:
    """Non-trivial weight and bias for a layer or group norm."""
    with torch.no_grad():
        for p in norm.parameters():
            p.uniform_(-1.5, 1.5)
    return norm


class _FunctionalBatchNorm(nn.Module):
    """F.batch_norm on buffers of its own (scripts without control flow)."""

    def __init__(self, training: bool = False) -> None:
        super().__init__()
        self.training_flag = training
        bn = _with_stats(nn.BatchNorm2d(6))
        self.register_buffer("mean", bn.running_mean.clone())
        self.register_buffer("var", bn.running_var.clone())
        self.register_buffer("weight", bn.weight.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            x, self.mean, self.var, self.weight, None, self.training_flag, 0.1, 1e-3
        )


class _FunctionalInstanceNorm(nn.Module):
    """torch.instance_norm with input statistics and an affine weight."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", torch.linspace(0.5, 1.5, 6))
        self.register_buffer("bias", torch.linspace(-1.0, 1.0, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.instance_norm(x, self.weight, self.bias, None, None, True, 0.1, 1e-5, False)


class _FunctionalRmsNorm(nn.Module):
    """F.rms_norm over the last two dims with a weight buffer and eps=None (finfo eps)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("weight", torch.linspace(0.5, 1.5, 64).reshape(8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, [8, 8], self.weight)


class _FunctionalLocalResponseNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(x, 4, alpha=1e-2, beta=0.6, k=2.0)


class _FunctionalGroupNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.group_norm(x, 2, None, None, 1e-3, False)


def _bn_after_relu() -> nn.Module:
    return nn.Sequential(nn.ReLU(), _with_stats(nn.BatchNorm2d(6)))


def _conv_bn_relu() -> nn.Module:
    return nn.Sequential(nn.Conv2d(6, 4, 3), _with_stats(nn.BatchNorm2d(4)), nn.ReLU())


_BN = frozenset({"BatchNormalization"})
_LN = frozenset({"LayerNormalization"})
_IN = frozenset({"InstanceNormalization"})
_BATCH_STATS = frozenset({"ReduceMean", "Sub", "Mul", "Add", "Sqrt", "Div", "Reshape"})
_GROUP = _BATCH_STATS | {"Shape"}
_RMS = frozenset({"Mul", "ReduceMean", "Add", "Sqrt", "Reciprocal"})
_RMS23 = frozenset({"RMSNormalization"})

CASES = [
    OpCase("batch_norm2d_after_relu", _bn_after_relu, _x2,
           expect_ops=frozenset({"Relu", "BatchNormalization"})),
    OpCase("batch_norm2d", lambda: _with_stats(nn.BatchNorm2d(6)), _x2, expect_ops=_BN),
    OpCase("batch_norm2d_no_affine", lambda: _with_stats(nn.BatchNorm2d(6, affine=False)), _x2,
           expect_ops=_BN),
    OpCase("batch_norm2d_eps", lambda: _with_stats(nn.BatchNorm2d(6, eps=0.1)), _x2),
    OpCase("batch_norm1d_2d_input", lambda: _with_stats(nn.BatchNorm1d(6)), _flat,
           expect_ops=_BN),
    OpCase("batch_norm1d_3d_input", lambda: _with_stats(nn.BatchNorm1d(6)), _x1, expect_ops=_BN),
    OpCase("batch_norm3d", lambda: _with_stats(nn.BatchNorm3d(6)), _x3, expect_ops=_BN),
    OpCase("conv_batch_norm", _conv_bn_relu, _x2,
           expect_ops=frozenset({"Conv", "BatchNormalization", "Relu"})),
    OpCase("batch_norm_opset17", lambda: _with_stats(nn.BatchNorm2d(6)), _x2, opset=17),
    OpCase("layer_norm", lambda: _affine(nn.LayerNorm(8)), _x2, expect_ops=_LN),
    OpCase("layer_norm_2d_shape", lambda: _affine(nn.LayerNorm((8, 8))), _x2, expect_ops=_LN),
    OpCase("layer_norm_no_affine", lambda: nn.LayerNorm(10, elementwise_affine=False), _x1,
           expect_ops=_LN),
    OpCase("layer_norm_no_bias", lambda: _affine(nn.LayerNorm(10, bias=False)), _x1,
           expect_ops=_LN),
    OpCase("layer_norm_eps_opset17", lambda: _affine(nn.LayerNorm(6, eps=1e-2)), _flat, opset=17),
    OpCase("group_norm", lambda: _affine(nn.GroupNorm(3, 6)), _x2, expect_ops=_GROUP),
    OpCase("group_norm_one_group", lambda: _affine(nn.GroupNorm(1, 6)), _x2),
    OpCase("group_norm_per_channel", lambda: _affine(nn.GroupNorm(6, 6)), _x1),
    OpCase("group_norm_no_affine", lambda: nn.GroupNorm(2, 6, affine=False), _x3),
    OpCase("group_norm_2d_input", lambda: _affine(nn.GroupNorm(2, 6)), _flat),
    OpCase("group_norm_offset", lambda: _affine(nn.GroupNorm(3, 6)), _offset),
    OpCase("group_norm_opset17", lambda: _affine(nn.GroupNorm(3, 6)), _x2, opset=17),
    OpCase("group_norm_dynamic_hw", lambda: _affine(nn.GroupNorm(3, 6)), _x2,
           dynamic_dims={0: (2, 3)}),
    OpCase("instance_norm2d", lambda: nn.InstanceNorm2d(6), _x2, expect_ops=_IN),
    OpCase("instance_norm2d_affine", lambda: _with_stats(nn.InstanceNorm2d(6, affine=True)), _x2,
           expect_ops=_IN),
    OpCase("instance_norm1d", lambda: nn.InstanceNorm1d(6), _x1, expect_ops=_IN),
    OpCase("instance_norm3d", lambda: nn.InstanceNorm3d(6, affine=True), _x3),
    OpCase("instance_norm_running_stats",
           lambda: _with_stats(nn.InstanceNorm2d(6, affine=True, track_running_stats=True)), _x2,
           expect_ops=_BN),
    OpCase("instance_norm_running_stats_no_affine",
           lambda: _with_stats(nn.InstanceNorm1d(6, track_running_stats=True)), _x1,
           expect_ops=_BN),
    OpCase("instance_norm_dynamic_channels", lambda: nn.InstanceNorm2d(6), _x2,
           dynamic_dims={0: (1,)}, expect_ops=_BATCH_STATS - {"Reshape"}),
    OpCase("instance_norm_dynamic_channels_opset17", lambda: nn.InstanceNorm1d(6), _x1, opset=17,
           dynamic_dims={0: (1,)}),
    OpCase("rms_norm", lambda: _affine(nn.RMSNorm(10)), _x1, expect_ops=_RMS),
    OpCase("rms_norm_2d_shape", lambda: _affine(nn.RMSNorm((8, 8), eps=1e-3)), _x2,
           expect_ops=_RMS),
    OpCase("rms_norm_no_affine", lambda: nn.RMSNorm(8, elementwise_affine=False), _x2,
           expect_ops=_RMS),
    OpCase("rms_norm_small_values_default_eps",
           lambda: _affine(nn.RMSNorm(10)), lambda: (torch.randn(2, 6, 10) * 1e-3,)),
    OpCase("rms_norm_opset17", lambda: _affine(nn.RMSNorm(10, eps=1e-2)), _x1, opset=17,
           expect_ops=_RMS),
    OpCase("rms_norm_opset23", lambda: _affine(nn.RMSNorm(10)), _x1, opset=23,
           expect_ops=_RMS23),
    OpCase("rms_norm_2d_shape_opset23", lambda: _affine(nn.RMSNorm((8, 8), eps=1e-3)), _x2,
           opset=23, expect_ops=_RMS23),
    OpCase("rms_norm_no_affine_opset23", lambda: nn.RMSNorm(8, elementwise_affine=False), _x2,
           opset=23, expect_ops=_RMS23),
    OpCase("rms_norm_small_values_default_eps_opset23",
           lambda: _affine(nn.RMSNorm(10)), lambda: (torch.randn(2, 6, 10) * 1e-3,), opset=23),
    OpCase("rms_norm_functional", _FunctionalRmsNorm, _x2, expect_ops=_RMS),
    OpCase("local_response_norm", lambda: nn.LocalResponseNorm(3), _x2),
    OpCase("local_response_norm_3d_input", lambda: nn.LocalResponseNorm(2, k=0.5), _x1),
    OpCase("local_response_norm_5d_input", lambda: nn.LocalResponseNorm(5, beta=0.5), _x3),
    OpCase("local_response_norm_functional_opset17", _FunctionalLocalResponseNorm, _x2,
           opset=17),
    # scripted: nn.LayerNorm scripts to a bare layer_norm; the others call the functions
    OpCase("layer_norm_scripted", lambda: _affine(nn.LayerNorm(8)), _x2, mode="script",
           expect_ops=_LN),
    OpCase("batch_norm_functional_scripted", _FunctionalBatchNorm, _x2, mode="script",
           expect_ops=_BN),
    OpCase("batch_norm_functional_traced", _FunctionalBatchNorm, _x2, expect_ops=_BN),
    OpCase("instance_norm_functional_scripted", _FunctionalInstanceNorm, _x2, mode="script",
           expect_ops=_IN),
    OpCase("group_norm_functional_scripted", _FunctionalGroupNorm, _x1, mode="script",
           expect_ops=_GROUP),
    OpCase("rms_norm_scripted", lambda: _affine(nn.RMSNorm(10)), _x1, mode="script",
           expect_ops=_RMS),
    OpCase("rms_norm_scripted_opset23", lambda: _affine(nn.RMSNorm(10)), _x1, mode="script",
           opset=23, expect_ops=_RMS23),
    OpCase("rms_norm_functional_scripted", _FunctionalRmsNorm, _x2, mode="script",
           expect_ops=_RMS),
    OpCase("rms_norm_functional_scripted_opset23", _FunctionalRmsNorm, _x2, mode="script",
           opset=23, expect_ops=_RMS23),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


# BatchNorm without running stats (track_running_stats=False) records training=True even in
# eval mode; the trace validator flags every training=True batch_norm, so allow that finding.
_ALLOW_TRAINING = frozenset({"training-mode"})
BATCH_STATS_CASES = [
    OpCase("batch_norm_batch_stats",
           lambda: _with_stats(nn.BatchNorm2d(6, track_running_stats=False)), _x2,
           expect_ops=_BATCH_STATS),
    OpCase("batch_norm_batch_stats_opset17",
           lambda: _with_stats(nn.BatchNorm1d(6, track_running_stats=False)), _flat, opset=17,
           expect_ops=_BATCH_STATS),
]  # fmt: skip


@pytest.mark.parametrize("case", BATCH_STATS_CASES, ids=[c.id for c in BATCH_STATS_CASES])
def test_batch_statistics_parity(case: OpCase, tmp_path: Path) -> None:
    x = case.inputs()
    archive = save_archive(case.make().eval(), x, tmp_path / f"{case.id}.pt")
    out = tmp_path / f"{case.id}.onnx"
    # The translation's own ops are checked: the optimizer is off.
    options = ConvertOptions(opset=case.opset, allow_findings=_ALLOW_TRAINING, optimize_level=0)
    convert(archive, out, x, options=options)
    report = verify(archive, out, x)
    assert report.ok, report.to_dict()
    assert onnx_op_types(out) == case.expect_ops


def test_batch_norm_traced_in_training_mode_is_refused(tmp_path: Path) -> None:
    # F.batch_norm(training=True) on buffers: nn.BatchNorm2d.train() would also record
    # num_batches_tracked += 1, which keeps module attributes in the frozen graph.
    module = _FunctionalBatchNorm(training=True)
    x = torch.randn(2, 6, 8, 8)
    archive = save_archive(module, (x,), tmp_path / "train.pt")
    options = ConvertOptions(allow_findings=_ALLOW_TRAINING)  # get past the trace validator
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "train.onnx", (x,), options=options)
    message = str(info.value)
    assert "aten::batch_norm" in message
    assert "training mode" in message and ".eval()" in message
