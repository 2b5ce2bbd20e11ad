"""Parity of max/average/adaptive pooling and nearest/linear upsampling."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from converter import TranslationError, convert
from tests.harness import OpCase, assert_parity, save_archive
from tests.models import Fn


def _x1() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 10),)


def _x2() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 8, 8),)


def _x2_odd() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 7, 9),)


def _x3() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4, 6, 6),)


def _ramp() -> tuple[torch.Tensor, ...]:
    """Distinct, ordered values: upsampling errors show as wrong neighbours, not noise."""
    return (torch.arange(2 * 3 * 5 * 6, dtype=torch.float32).reshape(2, 3, 5, 6),)


class _MaxWithIndices(nn.Module):
    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        self.pool = pool

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, idx = self.pool(x)
        return y, idx


class _ScriptedUpsample(nn.Module):
    """The aten ops F.interpolate calls, without its scripted argument checks."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a = torch._C._nn.upsample_nearest2d(x, None, [2.0, 3.0])
        b = torch._C._nn.upsample_bilinear2d(x, [5, 11], True, None)
        # output_size with the scales that give it (the non-.vec overload's scales_h/scales_w)
        c = torch._C._nn.upsample_nearest2d(x, [12, 20], 1.5, 2.5)
        return a, b, c


def _unrelated_scales(t: torch.Tensor) -> torch.Tensor:
    return torch._C._nn.upsample_nearest2d(t, [16, 16], 3.0, 3.0)


def _interp(**kwargs: object) -> nn.Module:
    return Fn(lambda t: F.interpolate(t, **kwargs))  # type: ignore[arg-type]


def _dynamic_size(t: torch.Tensor) -> torch.Tensor:
    return F.interpolate(t, size=(t.shape[2] * 2, t.shape[3] + 1), mode="nearest")


_MAX = frozenset({"MaxPool"})
_AVG = frozenset({"AveragePool"})
_RESIZE = frozenset({"Resize"})
_RESIZE_SIZES = frozenset({"Shape", "Concat", "Resize"})
_HW = {0: (2, 3)}

CASES = [
    OpCase("max_pool2d", lambda: nn.MaxPool2d(2), _x2, expect_ops=_MAX),
    OpCase("max_pool2d_stride_pad", lambda: nn.MaxPool2d(3, stride=2, padding=1), _x2,
           expect_ops=_MAX),
    OpCase("max_pool2d_dilation", lambda: nn.MaxPool2d(2, stride=1, dilation=2), _x2),
    OpCase("max_pool2d_ceil", lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), _x2_odd),
    OpCase("max_pool2d_ceil_pad", lambda: nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
           _x2_odd),
    OpCase("max_pool2d_rect", lambda: nn.MaxPool2d((2, 3), stride=(1, 2)), _x2_odd),
    OpCase("max_pool2d_functional", lambda: Fn(lambda t: F.max_pool2d(t, 2, 1)), _x2),
    OpCase("max_pool2d_indices", lambda: _MaxWithIndices(nn.MaxPool2d(2, return_indices=True)),
           _x2, expect_ops=frozenset({"MaxPool", "Shape", "ReduceProd", "Mod"})),
    OpCase("max_pool2d_indices_pad_dynamic",
           lambda: _MaxWithIndices(nn.MaxPool2d(3, 2, padding=1, return_indices=True)), _x2,
           dynamic_dims=_HW),
    OpCase("max_pool2d_indices_opset17",  # ReduceProd: axes input from 18, none given here
           lambda: _MaxWithIndices(nn.MaxPool2d(2, return_indices=True)), _x2, opset=17,
           expect_ops=frozenset({"MaxPool", "Shape", "ReduceProd", "Mod"})),
    OpCase("max_pool1d", lambda: nn.MaxPool1d(3, stride=2), _x1, expect_ops=_MAX),
    OpCase("max_pool1d_ceil_pad", lambda: nn.MaxPool1d(2, 2, padding=1, ceil_mode=True),
           lambda: (torch.randn(2, 3, 5),)),
    OpCase("max_pool1d_indices", lambda: _MaxWithIndices(nn.MaxPool1d(2, return_indices=True)),
           _x1),
    OpCase("max_pool3d", lambda: nn.MaxPool3d(2), _x3, expect_ops=_MAX),
    OpCase("max_pool3d_indices",
           lambda: _MaxWithIndices(nn.MaxPool3d((1, 2, 2), padding=(0, 1, 1),
                                                return_indices=True)), _x3),
    OpCase("max_pool2d_unbatched", lambda: nn.MaxPool2d(2), lambda: (torch.randn(3, 8, 8),),
           dynamic_batch=False, expect_ops=frozenset({"Unsqueeze", "MaxPool", "Squeeze"})),
    OpCase("max_pool2d_dynamic_hw", lambda: nn.MaxPool2d(2), _x2, dynamic_dims=_HW),
    OpCase("max_pool2d_opset17", lambda: nn.MaxPool2d(3, 2, 1), _x2, opset=17),
    OpCase("avg_pool2d", lambda: nn.AvgPool2d(2), _x2, expect_ops=_AVG),
    OpCase("avg_pool2d_pad", lambda: nn.AvgPool2d(3, stride=2, padding=1), _x2),
    OpCase("avg_pool2d_pad_exclude", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), _x2),
    OpCase("avg_pool2d_ceil", lambda: nn.AvgPool2d(2, ceil_mode=True), _x2_odd),
    OpCase("avg_pool2d_ceil_pad", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), _x2_odd),
    OpCase("avg_pool2d_ceil_pad_exclude",
           lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), _x2_odd),
    # 8 -> 5 windows; the last one starts at 7 and overhangs the padding by one
    OpCase("avg_pool2d_ceil_overhang", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), _x2),
    OpCase("avg_pool2d_ceil_overhang_exclude",
           lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), _x2),
    OpCase("max_pool2d_ceil_overhang", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), _x2),
    OpCase("avg_pool1d", lambda: nn.AvgPool1d(3, stride=2, padding=1), _x1, expect_ops=_AVG),
    OpCase("avg_pool1d_ceil", lambda: nn.AvgPool1d(4, stride=3, ceil_mode=True), _x1),
    OpCase("avg_pool3d", lambda: nn.AvgPool3d((2, 3, 3), stride=(2, 3, 3)), _x3),
    OpCase("avg_pool2d_opset17", lambda: nn.AvgPool2d(2), _x2, opset=17),
    OpCase("adaptive_avg_pool2d_1", lambda: nn.AdaptiveAvgPool2d(1), _x2,
           expect_ops=frozenset({"GlobalAveragePool"})),
    OpCase("adaptive_avg_pool2d_1_dynamic_hw", lambda: nn.AdaptiveAvgPool2d((1, 1)), _x2,
           dynamic_dims=_HW, expect_ops=frozenset({"GlobalAveragePool"})),
    OpCase("adaptive_avg_pool2d_4", lambda: nn.AdaptiveAvgPool2d(4), _x2, expect_ops=_AVG),
    OpCase("adaptive_avg_pool2d_rect", lambda: nn.AdaptiveAvgPool2d((2, 4)), _x2),
    OpCase("adaptive_avg_pool2d_none", lambda: nn.AdaptiveAvgPool2d((None, 2)), _x2),
    OpCase("adaptive_avg_pool1d", lambda: nn.AdaptiveAvgPool1d(5), _x1, expect_ops=_AVG),
    OpCase("adaptive_avg_pool1d_1", lambda: nn.AdaptiveAvgPool1d(1), _x1),
    OpCase("adaptive_avg_pool3d", lambda: nn.AdaptiveAvgPool3d((2, 3, 1)), _x3),
    OpCase("adaptive_avg_pool3d_1", lambda: nn.AdaptiveAvgPool3d(1), _x3,
           expect_ops=frozenset({"GlobalAveragePool"})),
    OpCase("adaptive_max_pool2d_1", lambda: nn.AdaptiveMaxPool2d(1), _x2,
           expect_ops=frozenset({"GlobalMaxPool"})),
    OpCase("adaptive_max_pool2d_2", lambda: nn.AdaptiveMaxPool2d(2), _x2, expect_ops=_MAX),
    OpCase("adaptive_max_pool2d_indices",
           lambda: _MaxWithIndices(nn.AdaptiveMaxPool2d((4, 2), return_indices=True)), _x2),
    OpCase("adaptive_max_pool2d_1_indices",
           lambda: _MaxWithIndices(nn.AdaptiveMaxPool2d(1, return_indices=True)), _x2),
    OpCase("adaptive_max_pool1d", lambda: nn.AdaptiveMaxPool1d(2), _x1),
    OpCase("adaptive_avg_pool2d_opset17", lambda: nn.AdaptiveAvgPool2d(2), _x2, opset=17),
    # upsampling
    OpCase("upsample_nearest_scale", lambda: nn.Upsample(scale_factor=2), _x2,
           expect_ops=_RESIZE),
    OpCase("upsample_nearest_scale_rect", lambda: nn.Upsample(scale_factor=(2, 3)), _ramp),
    OpCase("upsample_nearest_fractional_scale", lambda: _interp(scale_factor=1.5), _ramp),
    OpCase("upsample_nearest_size", lambda: _interp(size=(5, 7)), _x2,
           expect_ops=_RESIZE_SIZES),
    OpCase("upsample_nearest_size_up", lambda: _interp(size=(9, 13)), _ramp),
    OpCase("upsample_nearest_dynamic_size", lambda: Fn(_dynamic_size), _x2, dynamic_dims=_HW),
    OpCase("upsample_nearest_dynamic_scale", lambda: nn.Upsample(scale_factor=2), _x2,
           dynamic_dims=_HW, expect_ops=_RESIZE),
    OpCase("upsample_bilinear_scale", lambda: _interp(scale_factor=2.0, mode="bilinear"), _x2,
           expect_ops=_RESIZE),
    OpCase("upsample_bilinear_scale_align",
           lambda: _interp(scale_factor=2.0, mode="bilinear", align_corners=True), _x2),
    OpCase("upsample_bilinear_size", lambda: _interp(size=(5, 11), mode="bilinear"), _ramp),
    OpCase("upsample_bilinear_size_align",
           lambda: _interp(size=(5, 11), mode="bilinear", align_corners=True), _ramp),
    OpCase("upsample_bilinear_size_one", lambda: _interp(size=(1, 4), mode="bilinear"), _ramp),
    OpCase("upsample_bilinear_size_one_align",
           lambda: _interp(size=(1, 4), mode="bilinear", align_corners=True), _ramp),
    OpCase("upsample_bilinear_module",
           lambda: nn.Upsample(scale_factor=3, mode="bilinear", align_corners=False), _x2),
    OpCase("upsample_bilinear_dynamic",
           lambda: _interp(scale_factor=2.0, mode="bilinear", align_corners=True), _x2,
           dynamic_dims=_HW),
    OpCase("upsample_nearest1d", lambda: _interp(scale_factor=3.0), _x1),
    OpCase("upsample_linear1d", lambda: _interp(size=7, mode="linear"), _x1),
    OpCase("upsample_nearest3d", lambda: _interp(scale_factor=(1.0, 2.0, 2.0)), _x3),
    OpCase("upsample_trilinear3d",
           lambda: _interp(scale_factor=2.0, mode="trilinear", align_corners=True), _x3),
    OpCase("upsample_nearest_opset17", lambda: nn.Upsample(scale_factor=2), _x2, opset=17),
    OpCase("upsample_bilinear_size_opset17", lambda: _interp(size=(5, 11), mode="bilinear"),
           _ramp, opset=17),
    # scripted: aten::max_pool*/avg_pool* directly, the upsample ops through torch._C._nn
    OpCase("max_pool2d_scripted", lambda: nn.MaxPool2d(3, 2, 1), _x2, mode="script",
           expect_ops=_MAX),
    OpCase("avg_pool2d_scripted", lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True), _x2_odd,
           mode="script", expect_ops=_AVG),
    OpCase("max_pool1d_scripted", lambda: nn.MaxPool1d(2), _x1, mode="script"),
    OpCase("avg_pool3d_scripted", lambda: nn.AvgPool3d(2), _x3, mode="script"),
    OpCase("max_pool2d_indices_scripted",
           lambda: _MaxWithIndices(nn.MaxPool2d(2, return_indices=True)), _x2, mode="script"),
    OpCase("upsample_scripted", _ScriptedUpsample, _x2, mode="script"),
    OpCase("upsample_traced", _ScriptedUpsample, _x2),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


REFUSED = [
    ("avg_pool2d_divisor_override", lambda: nn.AvgPool2d(2, divisor_override=3), _x2,
     "divisor_override"),
    ("upsample_unrelated_scales", lambda: Fn(_unrelated_scales), _x2, "unrelated scales"),
    ("adaptive_avg_pool_uneven", lambda: nn.AdaptiveAvgPool2d(3), _x2, "not a multiple"),
    ("adaptive_max_pool_uneven", lambda: nn.AdaptiveMaxPool2d((3, 5)), _x2_odd, "not a multiple"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "make", "inputs", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(name: str, make: object, inputs: object, reason: str, tmp_path: Path) -> None:
    x = inputs()  # type: ignore[operator]
    archive = save_archive(make().eval(), x, tmp_path / f"{name}.pt")  # type: ignore[operator]
    out = tmp_path / f"{name}.onnx"
    with pytest.raises(TranslationError, match=reason):
        convert(archive, out, x)
    assert not out.exists()


@pytest.mark.parametrize("opset", [17, 18, 21, 22])
def test_ceil_mode_declares_torchs_output_size(opset: int, tmp_path: Path) -> None:
    # kernel 2, stride 2, padding 1: the ONNX shape formula before opset 22 counts a last
    # window that starts in the right padding (5 -> 4, 3 -> 3); PyTorch and ONNX Runtime
    # drop it (5 -> 3, 3 -> 2)
    pool = {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}
    module = nn.Sequential(nn.MaxPool1d(**pool), nn.AvgPool1d(**pool))
    case = OpCase(f"ceil_{opset}", lambda: module, lambda: (torch.randn(2, 3, 5),), opset=opset)
    result, _ = assert_parity(case, tmp_path)
    dims = onnx.load(str(result.output)).graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims][1:] == [3, 2]
