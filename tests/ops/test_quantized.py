"""Parity of quantized archives: static (QDQ) and dynamic quantization, and the refusals.

Tolerance. A statically quantized model ends in ``dequantize`` of a quantized tensor, so every
output element sits on a grid of step ``scale`` (the output scale of the last quantized op).
TorchScript requantizes with its own kernels (fbgemm: an integer accumulator times a float
multiplier), ONNX Runtime with QuantizeLinear on float values; a value that lands at a rounding
tie may go to the neighbouring grid point. The static cases therefore allow exactly one step of
the output scale (``atol = scale``, ``rtol = 0``), the scale read from the quantized module.
A dynamically quantized linear returns floats computed from the same integer operands on both
sides (the graph chooses the input's scale and zero point as PyTorch does), so those cases keep
the default float tolerance.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import torch.ao.quantization as tq
from torch import nn
from torch.ao.nn.intrinsic import LinearReLU

from converter import Tolerance, VerifyOptions, convert, verify
from converter._jit import quiet_jit
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, onnx_op_types, quantized_engine, save_archive

_QDQ = {"QuantizeLinear", "DequantizeLinear"}


def _x4() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 8, 8),)


def _x3() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 5, 8),)


def _x5() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 2, 4, 5, 6),)


def _pair() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6))


def _quantize(
    factory: Callable[[], nn.Module],
    calib: Callable[[], tuple[torch.Tensor, ...]],
    qconfig: str = "fbgemm",
    fuse: tuple[list[str], ...] = (),
) -> nn.Module:
    """Eager-mode static quantization as mobile apps do it: fuse, prepare, calibrate, convert.

    Calibration sees inputs 1.5x wider than the test inputs: fbgemm's kernels saturate for
    activations above the calibrated range (see the README), so parity is checked inside it.
    """
    torch.manual_seed(0)
    model = factory().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fuse:
            tq.fuse_modules(model, [list(f) for f in fuse], inplace=True)
        model.qconfig = tq.get_default_qconfig(qconfig)
        tq.prepare(model, inplace=True)
        with torch.no_grad():
            for _ in range(8):
                model(*[x * 1.5 for x in calib()])
        tq.convert(model, inplace=True)
    return model


class _ConvNet(nn.Module):
    """conv+relu (fused), add, conv, max_pool, adaptive_avg_pool, flatten, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv, self.relu = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, groups=2)
        self.add = nn.quantized.FloatFunctional()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.conv(self.quant(x)))
        y = self.conv2(self.add.add(y, y))
        y = self.pool(nn.functional.max_pool2d(y, 2, ceil_mode=True)).flatten(1)
        return self.dequant(self.fc(y))


class _Mlp(nn.Module):
    """linear+relu (fused) and linear on a 3-d input."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.fc1, self.relu, self.fc2 = nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))


class _Functional(nn.Module):
    """add_relu, mul, cat of two quantized inputs; relu and reshape on the result."""

    def __init__(self) -> None:
        super().__init__()
        self.qa, self.qb, self.dequant = tq.QuantStub(), tq.QuantStub(), tq.DeQuantStub()
        self.add_relu = nn.quantized.FloatFunctional()
        self.mul = nn.quantized.FloatFunctional()
        self.cat = nn.quantized.FloatFunctional()
        self.relu = nn.ReLU()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = self.qa(a), self.qb(b)
        y = self.cat.cat([self.add_relu.add_relu(a, b), self.mul.mul(a, b)], dim=1)
        return self.dequant(self.relu(y).reshape(y.shape[0], -1))


class _ConvAvgPool(nn.Module):
    """avg_pool2d on a quantized tensor: torch rounds the means back to the input grid."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.avg_pool2d(self.conv(self.quant(x)), 2)
        return self.dequant(y)


class _Conv1dHardswish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv, self.act = nn.Conv1d(5, 6, 3, padding=1), nn.Hardswish()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.act(self.conv(self.quant(x))))


class _BatchNormLeaky(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.bn, self.act = nn.BatchNorm2d(3), nn.LeakyReLU(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.act(self.bn(self.quant(x))))


class _ConvTranspose(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        # transposed convolutions take per-tensor weights only
        self.up.qconfig = tq.QConfig(
            activation=tq.HistogramObserver.with_args(reduce_range=True),
            weight=tq.default_weight_observer,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.up(self.quant(x)))


class _LayerNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.norm = nn.LayerNorm([8])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.norm(self.quant(x)))


class _SigmoidTanh(nn.Module):
    """Float sigmoid and tanh on a quantized tensor: torch gives them fixed output grids."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.quant(x)
        return self.dequant(torch.sigmoid(y)), self.dequant(torch.tanh(y))


class _MatmulSoftmaxSigmoid(nn.Module):
    """FloatFunctional.matmul, then quantized::softmax and quantized::sigmoid on 1/256 grids."""

    def __init__(self) -> None:
        super().__init__()
        self.qa, self.qb, self.dequant = tq.QuantStub(), tq.QuantStub(), tq.DeQuantStub()
        self.matmul = nn.quantized.FloatFunctional()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.matmul.matmul(self.qa(a), self.qb(b))
        if not y.is_quantized:  # calibration runs the float model
            return y.softmax(-1), y.sigmoid()
        z = torch.ops.quantized.sigmoid(y, 1 / 256, 0)
        y = torch.ops.quantized.softmax(y, -1, 1 / 256, 0)
        return self.dequant(y), self.dequant(z)


class _Fused3d(nn.Module):
    """conv3d+relu and batch_norm3d; conv1d+relu; batch_norm2d+relu (all fused or standalone)."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.conv, self.relu, self.bn = nn.Conv3d(2, 3, 3, padding=1), nn.ReLU(), nn.BatchNorm3d(3)
        self.conv1, self.relu1 = nn.Conv1d(3, 4, 3), nn.ReLU()
        self.bn2, self.relu2 = nn.BatchNorm2d(4), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.relu(self.conv(self.quant(x))))  # (2, 3, 4, 5, 6)
        y = self.relu1(self.conv1(y.flatten(2)))  # (2, 4, 118)
        return self.dequant(self.relu2(self.bn2(y.reshape(2, 4, 2, 59))))


class _GridOps(nn.Module):
    """Float ops that keep the grid: cat of same-grid tensors, slicing, permute, upsampling."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quant(x)
        y = torch.cat([q, torch.relu(q)], 1)[:, 1:5].permute(0, 1, 3, 2)
        return self.dequant(nn.functional.interpolate(y, scale_factor=2.0, mode="nearest"))


class _QParamsOfTensor(nn.Module):
    """Scripted q_scale() and q_zero_point() of a quantized tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quant(x)
        if not q.is_quantized:  # calibration runs the float model
            return q
        return self.dequant(q) * q.q_scale() + q.q_zero_point()


class _SignedGrid(nn.Module):
    """qint8 with a negative odd zero point, through grid-keeping ops, without any module."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.quantize_per_tensor(x, 0.05, -3, torch.qint8)
        return torch.dequantize(nn.functional.max_pool2d(torch.relu(q), 2))


class _Qint32(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.dequantize(torch.quantize_per_tensor(x, 0.05, 0, torch.qint32))


class _HardSigmoid(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(nn.functional.hardsigmoid(self.quant(x)))


def _dynamic(fuse: bool = False) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fuse:  # Linear+ReLU becomes quantized::linear_relu_dynamic
            model = tq.fuse_modules(model, [["0", "1"]])
            return tq.quantize_dynamic(model, {nn.Linear, LinearReLU}, dtype=torch.qint8)
        return tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


@dataclasses.dataclass(frozen=True)
class _Static:
    """A static case: the quantized module factory and where its output scale lives."""

    make: Callable[[], nn.Module]
    out_scale: Callable[[nn.Module], float]


_STATIC = {
    "conv_net_per_channel": _Static(
        lambda: _quantize(_ConvNet, _x4, fuse=(["conv", "relu"],)), lambda m: m.fc.scale
    ),
    "conv_net_per_tensor": _Static(
        lambda: _quantize(_ConvNet, _x4, "qnnpack", fuse=(["conv", "relu"],)),
        lambda m: m.fc.scale,
    ),
    "linear_relu_3d": _Static(
        lambda: _quantize(_Mlp, _x3, fuse=(["fc1", "relu"],)), lambda m: m.fc2.scale
    ),
    "add_relu_mul_cat": _Static(lambda: _quantize(_Functional, _pair), lambda m: m.cat.scale),
    "avg_pool": _Static(lambda: _quantize(_ConvAvgPool, _x4), lambda m: m.conv.scale),
    "conv1d_hardswish": _Static(lambda: _quantize(_Conv1dHardswish, _x3), lambda m: m.act.scale),
    "batch_norm_leaky_relu": _Static(
        lambda: _quantize(_BatchNormLeaky, _x4), lambda m: m.act.scale
    ),
    "conv_transpose2d": _Static(lambda: _quantize(_ConvTranspose, _x4), lambda m: m.up.scale),
    "layer_norm": _Static(lambda: _quantize(_LayerNorm, _x4), lambda m: m.norm.scale),
    # the sigmoid and tanh outputs have fixed grids of step 1/256 and 2/256
    "sigmoid_tanh": _Static(lambda: _quantize(_SigmoidTanh, _x4), lambda m: 2 / 256),
    "hardsigmoid": _Static(lambda: _quantize(_HardSigmoid, _x4), lambda m: 1 / 256),
    "fused_3d_1d_bn_relu": _Static(
        lambda: _quantize(
            _Fused3d, _x5, fuse=(["conv", "relu"], ["conv1", "relu1"], ["bn2", "relu2"])
        ),
        lambda m: m.bn2.scale,
    ),
    "grid_ops": _Static(lambda: _quantize(_GridOps, _x4), lambda m: m.quant.scale),
    "matmul_softmax_sigmoid": _Static(
        lambda: _quantize(_MatmulSoftmaxSigmoid, _pair), lambda m: 1 / 256
    ),
}
_INPUTS = {
    "conv_net_per_channel": _x4,
    "conv_net_per_tensor": _x4,
    "linear_relu_3d": _x3,
    "add_relu_mul_cat": _pair,
    "avg_pool": _x4,
    "conv1d_hardswish": _x3,
    "batch_norm_leaky_relu": _x4,
    "conv_transpose2d": _x4,
    "layer_norm": _x4,
    "sigmoid_tanh": _x4,
    "hardsigmoid": _x4,
    "matmul_softmax_sigmoid": _pair,
    "grid_ops": _x4,
    "fused_3d_1d_bn_relu": _x5,
}


@functools.cache
def _built(case_id: str) -> nn.Module:
    return _STATIC[case_id].make()


CASES = [
    OpCase(case_id, functools.partial(_built, case_id), _INPUTS[case_id])
    for case_id in _STATIC
] + [
    OpCase("linear_dynamic", _dynamic, lambda: (torch.randn(3, 8),),
           expect_ops=_QDQ | {"MatMul", "Add", "Relu", "ReduceMin", "ReduceMax", "Min", "Max",
                              "Sub", "Div", "Cast", "Equal", "Reciprocal", "IsInf", "Or",
                              "Where", "Less", "Mul", "And", "Not", "Neg", "Abs", "Clip",
                              "Round"}),
    # a range under 6.1e-5 * 127 takes PyTorch's small-scale branch
    OpCase("linear_dynamic_tiny_range", _dynamic, lambda: (torch.randn(3, 8) * 1e-4,)),
    OpCase("linear_dynamic_negative", _dynamic, lambda: (-torch.rand(3, 8),)),
    OpCase("linear_dynamic_3d", _dynamic, _x3),
    OpCase("linear_dynamic_zeros", _dynamic, lambda: (torch.zeros(3, 8),)),
    OpCase("qint8_grid", _SignedGrid, _x4, tolerance=Tolerance(rtol=0.0, atol=0.05 * (1 + 1e-5)),
           expect_ops=_QDQ | {"Relu", "MaxPool", "Identity"}),
    OpCase("q_scale_zero_point", lambda: _quantize(_QParamsOfTensor, _x4), _x4, mode="script"),
    OpCase("linear_relu_dynamic", functools.partial(_dynamic, fuse=True), _x3),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    if case.id in _STATIC:
        scale = float(_STATIC[case.id].out_scale(_built(case.id)))
        case = dataclasses.replace(case, tolerance=Tolerance(rtol=0.0, atol=scale * (1 + 1e-5)))
    result, _ = assert_parity(case, tmp_path)
    assert result is not None


@pytest.fixture
def qnnpack() -> Iterator[None]:
    with quantized_engine("qnnpack"):
        yield


def test_dynamic_on_qnnpack_uses_the_full_range(qnnpack: None, tmp_path: Path) -> None:
    """qnnpack ignores reduce_range; the export follows the engine that runs TorchScript."""
    assert_parity(
        OpCase("linear_dynamic_qnnpack", _dynamic, lambda: (torch.randn(3, 8),)), tmp_path
    )


def test_quantized_lite_interpreter_archive(tmp_path: Path) -> None:
    """A qnnpack-quantized model traced and saved for the lite interpreter, as mobile apps ship."""
    model = _quantize(_ConvNet, _x4, "qnnpack", fuse=(["conv", "relu"],))
    x = _x4()[0]
    with quiet_jit(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (x,))
        traced._save_for_lite_interpreter(str(tmp_path / "q.ptl"))
    convert(tmp_path / "q.ptl", tmp_path / "q.onnx", (x,))
    tolerance = Tolerance(rtol=0.0, atol=float(model.fc.scale) * (1 + 1e-5))
    options = VerifyOptions(tolerance=tolerance)
    report = verify(tmp_path / "q.ptl", tmp_path / "q.onnx", (x,), options=options)
    assert report.ok, report.to_dict()


class _Branch(nn.Module):
    """A scripted data-dependent branch over quantized tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
        self.a, self.b = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quant(x)
        y = self.a(q)
        if bool(x.sum() > 0):
            z = torch.relu(y)
        else:
            z = nn.functional.max_pool2d(y, 1)
        return self.dequant(z)


class _BranchGrids(_Branch):
    """The branches give different grids: fine to dequantize, not to compute on."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quant(x)
        z = self.a(q) if bool(x.sum() > 0) else self.b(q)
        return self.dequant(z)


class _BranchGridsRelu(_Branch):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self.quant(x)
        z = self.a(q) if bool(x.sum() > 0) else self.b(q)
        return self.dequant(torch.relu(z))


def test_branch_keeping_the_grid_converts(tmp_path: Path) -> None:
    model = _quantize(_Branch, _x4)
    case = OpCase("branch", lambda: model, _x4, mode="script")
    scale = float(model.a.scale)
    assert_parity(dataclasses.replace(case, tolerance=Tolerance(0.0, scale * (1 + 1e-5))), tmp_path)
    assert "If" in onnx_op_types(tmp_path / "branch.onnx")


def test_branches_on_different_grids_dequantize(tmp_path: Path) -> None:
    model = _quantize(_BranchGrids, _x4)
    case = OpCase("grids", lambda: model, _x4, mode="script")
    scale = max(float(model.a.scale), float(model.b.scale))
    assert_parity(dataclasses.replace(case, tolerance=Tolerance(0.0, scale * (1 + 1e-5))), tmp_path)


# ---- refusals ----------------------------------------------------------------------------------
class _QuantizedOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.conv = tq.QuantStub(), nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.quant(x))


class _QuantizedGelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(nn.functional.gelu(self.quant(x)))


class _FullRangeDynamic(nn.Module):
    """quantized::linear_dynamic called with reduce_range=False."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _dynamic()[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        packed = self.inner._packed_params._packed_params
        return torch.ops.quantized.linear_dynamic(x, packed, False)


def _refusal(module: nn.Module, x: torch.Tensor, tmp_path: Path) -> str:
    archive = save_archive(module, (x,), tmp_path / "q.pt")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "q.onnx", (x,))
    assert not (tmp_path / "q.onnx").exists()
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{archive}: ")
    return first[len(f"{archive}: ") :]


def test_quantized_output_is_refused(tmp_path: Path) -> None:
    model = _quantize(_QuantizedOutput, _x4)
    assert _refusal(model, _x4()[0], tmp_path) == (
        "output 0 is a quantized tensor; quantized models are exported with float outputs "
        "only: end forward with a DeQuantStub (torch.dequantize)"
    )


def test_float_op_on_quantized_tensor_is_refused(tmp_path: Path) -> None:
    model = _quantize(_QuantizedGelu, _x4)
    message = _refusal(model, _x4()[0], tmp_path)
    assert re.fullmatch(
        r"cannot translate aten::gelu at .*test_quantized\.py:\d+: a float op on a quantized "
        r"tensor has no exact QDQ translation \(torch runs a quantized kernel with its own "
        r"rounding\); dequantize before it in the model",
        message,
    ), message


def test_computing_on_a_grid_chosen_by_a_branch_is_refused(tmp_path: Path) -> None:
    model = _quantize(_BranchGridsRelu, _x4)
    x = _x4()[0]
    archive = save_archive(model, (x,), tmp_path / "q.pt", mode="script")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "q.onnx", (x,))
    first = str(info.value).splitlines()[0]
    assert re.fullmatch(
        rf"{re.escape(str(archive))}: cannot translate aten::relu at .*test_quantized\.py:\d+: "
        r"an input is a quantized tensor whose grid depends on a branch",
        first,
    ), first


def test_qint32_is_refused(tmp_path: Path) -> None:
    message = _refusal(_Qint32(), torch.randn(2, 3), tmp_path)
    assert re.fullmatch(
        r"cannot translate aten::quantize_per_tensor at .*test_quantized\.py:\d+: quantized "
        r"dtype code 14 \(qint32 or a sub-byte type\) has no ONNX QuantizeLinear output type; "
        r"only quint8 and qint8 are supported",
        message,
    ), message


def test_dynamic_without_reduce_range_on_fbgemm_is_refused(tmp_path: Path) -> None:
    engine = torch.backends.quantized.engine
    assert engine in ("x86", "fbgemm"), f"this test needs an x86 build of torch, not {engine}"
    message = _refusal(_FullRangeDynamic(), torch.randn(3, 8), tmp_path)
    assert re.fullmatch(
        rf"cannot translate quantized::linear_dynamic at .*test_quantized\.py:\d+: the {engine} "
        r"engine without reduce_range can saturate its 16-bit intermediate sums, which ONNX "
        r"cannot reproduce; quantize with reduce_range=True \(the default\)",
        message,
    ), message
