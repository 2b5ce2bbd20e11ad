"""Parity of quantized elementwise ops, norms, averaging, embeddings and fp16 dynamic linears.

Each static case is an eager-mode quantized module (prepare, calibrate, convert), traced or
scripted, saved and loaded. The tolerance is one step of the output grid (see
tests/ops/test_quantized.py): ``_Body.steps`` runs the converted module on the test inputs and
reads the scale of each quantized output, so the step is torch's own, not a number written here.
Ops that eager mode reaches only through ``torch.ops.quantized`` (scalar add/mul with ReLU, the
generic batch norms, clamp, celu) are called that way, as the modules of ``torch.ao`` do.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.ao.quantization as tq
from torch import nn
from torch.ao.nn import intrinsic as nni

from converter import ConvertOptions, Tolerance, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, case_engine, save_archive

Tensors = tuple[torch.Tensor, ...]


def _x4() -> Tensors:
    return (torch.randn(2, 4, 6, 8),)


def _x3() -> Tensors:
    return (torch.randn(2, 4, 9),)


def _x5() -> Tensors:
    return (torch.randn(2, 4, 3, 4, 5),)


class _Body(nn.Module):
    """QuantStub -> ``body`` on quantized tensors -> DeQuantStub on each output."""

    def __init__(self) -> None:
        super().__init__()
        self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.dequant(y) for y in self.body(self.quant(x))]

    def step(self, x: torch.Tensor) -> float:
        """The largest output scale: one step of the coarsest output grid."""
        with torch.no_grad():
            return max(float(y.q_scale()) for y in self.body(self.quant(x)))


def _quantize(
    factory: Callable[[], _Body],
    calib: Callable[[], Tensors],
    qconfig: str | tq.QConfig = "x86",
    fuse: tuple[list[str], ...] = (),
) -> _Body:
    """Fuse, prepare, calibrate on 1.5x wider inputs, convert (see tests/ops/test_quantized.py)."""
    torch.manual_seed(0)
    model = factory().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fuse:
            tq.fuse_modules(model, [list(f) for f in fuse], inplace=True)
        model.qconfig = tq.get_default_qconfig(qconfig) if isinstance(qconfig, str) else qconfig
        tq.prepare(model, inplace=True)
        with torch.no_grad():
            for _ in range(8):
                model(*[x * 1.5 for x in calib()])
        tq.convert(model, inplace=True)
    return model


class _Scalar(_Body):
    """FloatFunctional.add_scalar and mul_scalar; their ReLU forms through torch.ops."""

    def __init__(self) -> None:
        super().__init__()
        self.add, self.mul = nn.quantized.FloatFunctional(), nn.quantized.FloatFunctional()
        self.add2, self.mul2 = nn.quantized.FloatFunctional(), nn.quantized.FloatFunctional()

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        a, b = self.add.add_scalar(q, 0.33), self.mul.mul_scalar(q, -1.7)
        c, d = self.add2.add_scalar(q, -0.8), self.mul2.mul_scalar(q, 0.45)
        if not q.is_quantized:  # calibration runs the float model
            return [a, b, c, d]
        ops = torch.ops.quantized
        return [a, b, c, d, ops.add_scalar_relu(q, -0.27), ops.mul_scalar_relu(q, 2.5)]


class _Clamps(_Body):
    """relu6 (module and functional), hardtanh, clamp with both or one bound, quantized::clamp."""

    def __init__(self) -> None:
        super().__init__()
        self.relu6, self.hardtanh = nn.ReLU6(), nn.Hardtanh(-0.43, 0.61)

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        ys = [self.relu6(q), self.hardtanh(q), nn.functional.relu6(q)]
        ys += [torch.clamp(q, -0.77, 1.23), torch.clamp(q, min=0.21), torch.clamp(q, max=-0.1)]
        if q.is_quantized:
            ys.append(torch.ops.quantized.clamp(q, -0.5, None))
        return ys


class _Elu(_Body):
    def __init__(self) -> None:
        super().__init__()
        self.elu = nn.ELU(alpha=0.7)

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        y = self.elu(q)
        if not q.is_quantized:
            return [y]
        ops = torch.ops.quantized
        return [y, ops.celu(q, 0.02, 100, 1.3), ops.elu(q, 0.03, 90, 0.5, 1.2, 0.8)]


class _Activations(_Body):
    """hardswish, leaky_relu, sigmoid and tanh modules (qnnpack variant of the same ops)."""

    def __init__(self) -> None:
        super().__init__()
        self.hs, self.leaky, self.sig = nn.Hardswish(), nn.LeakyReLU(0.2), nn.Sigmoid()

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        return [self.hs(q), self.leaky(q), self.sig(q), torch.tanh(q)]


class _Norms(_Body):
    """GroupNorm, InstanceNorm2d (affine and not) and BatchNorm2d."""

    def __init__(self) -> None:
        super().__init__()
        self.gn, self.inorm = nn.GroupNorm(2, 4), nn.InstanceNorm2d(4, affine=True)
        self.inorm_plain, self.bn = nn.InstanceNorm2d(4), nn.BatchNorm2d(4)
        for p in [*self.gn.parameters(), *self.inorm.parameters()]:
            nn.init.uniform_(p, 0.5, 1.5)

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        return [self.gn(q), self.inorm(q), self.inorm_plain(q), self.bn(q)]


class _Norms1d3d(_Body):
    """InstanceNorm1d, GroupNorm and the generic and 1-d batch norms of torch.ops.quantized."""

    def __init__(self) -> None:
        super().__init__()
        self.inorm, self.gn = nn.InstanceNorm1d(4, affine=True), nn.GroupNorm(4, 4)
        self.register_buffer("mean", torch.randn(4) * 0.1)
        self.register_buffer("var", torch.rand(4) + 0.5)
        self.register_buffer("weight", torch.rand(4) + 0.5)
        self.register_buffer("bias", torch.randn(4) * 0.1)

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        ys = [self.inorm(q), self.gn(q)]
        if q.is_quantized:
            ops, args = torch.ops.quantized, (self.weight, self.bias, self.mean, self.var, 1e-5)
            ys += [ops.batch_norm1d(q, *args, 0.03, 120), ops.batch_norm1d_relu(q, *args, 0.02, 0)]
            ys += [ops.batch_norm(q, *args, 0.03, 120), ops.batch_norm_relu(q, *args, 0.02, 0)]
        return ys


class _BnRelu3d(_Body):
    def __init__(self) -> None:
        super().__init__()
        self.bn, self.relu = nn.BatchNorm3d(4), nn.ReLU()

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        return [self.relu(self.bn(q))]


class _Averages(_Body):
    """mean over inner and outer dims, bilinear upsampling, adaptive average pooling."""

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        interpolate = nn.functional.interpolate
        return [
            q.mean([2, 3], keepdim=True),
            q.mean(1),
            interpolate(q, scale_factor=2.0, mode="bilinear"),
            interpolate(q, size=(9, 11), mode="bilinear", align_corners=True),
            nn.functional.adaptive_avg_pool2d(q, (3, 2)),
        ]


class _Convs(_Body):
    """conv3d without ReLU, conv_transpose1d and conv_transpose3d (per-tensor weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(4, 3, 3, padding=1)
        self.up1 = nn.ConvTranspose1d(12, 5, 3, stride=2)
        self.up3 = nn.ConvTranspose3d(3, 2, 2, stride=2)
        per_tensor = tq.QConfig(
            activation=tq.HistogramObserver.with_args(reduce_range=True),
            weight=tq.default_weight_observer,
        )
        self.up1.qconfig = self.up3.qconfig = per_tensor

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        y = self.conv(q)
        return [y, self.up1(y.reshape(2, 12, 15)), self.up3(y)]


class _MulRelu(_Body):
    def __init__(self) -> None:
        super().__init__()
        self.mul = nn.quantized.FloatFunctional()

    def body(self, q: torch.Tensor) -> list[torch.Tensor]:
        y = self.mul.mul(q, q)
        if not q.is_quantized:
            return [y]
        return [y, torch.ops.quantized.mul_relu(q, y, 0.05, 10)]


_STATIC: dict[str, tuple[Callable[[], _Body], Callable[[], Tensors]]] = {
    "scalar_add_mul": (lambda: _quantize(_Scalar, _x4), _x4),
    "scalar_add_mul_qnnpack": (lambda: _quantize(_Scalar, _x4, "qnnpack"), _x4),
    "clamps": (lambda: _quantize(_Clamps, _x4), _x4),
    "clamps_qnnpack": (lambda: _quantize(_Clamps, _x4, "qnnpack"), _x4),
    "elu_celu": (lambda: _quantize(_Elu, _x4), _x4),
    "activations_qnnpack": (lambda: _quantize(_Activations, _x4, "qnnpack"), _x4),
    "norms_2d": (lambda: _quantize(_Norms, _x4), _x4),
    "norms_1d": (lambda: _quantize(_Norms1d3d, _x3), _x3),
    "bn_relu_3d": (lambda: _quantize(_BnRelu3d, _x5, fuse=(["bn", "relu"],)), _x5),
    "averages": (lambda: _quantize(_Averages, _x4), _x4),
    "averages_qnnpack": (lambda: _quantize(_Averages, _x4, "qnnpack"), _x4),
    "conv3d_conv_transpose_1d_3d": (lambda: _quantize(_Convs, _x5), _x5),
    "mul_relu": (lambda: _quantize(_MulRelu, _x4), _x4),
}


@functools.cache
def _built(case_id: str) -> _Body:
    return _STATIC[case_id][0]()


CASES = [
    OpCase(case_id, functools.partial(_built, case_id), inputs)
    for case_id, (_, inputs) in _STATIC.items()
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    torch.manual_seed(0)
    step = _built(case.id).step(*case.inputs())
    tolerance = Tolerance(rtol=0.0, atol=step * (1 + 1e-5))
    result, _ = assert_parity(
        OpCase(case.id, case.make, case.inputs, tolerance=tolerance), tmp_path
    )
    assert result is not None


def _float_mlp() -> nn.Sequential:
    """The float model of the fp16 cases, with weights that float16 rounds visibly."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    with torch.no_grad():
        model[0].weight.mul_(3.7)
    return model


def _dynamic_fp16(fuse: bool = False) -> nn.Module:
    """quantize_dynamic with float16 weights (float16_dynamic_qconfig), optionally Linear+ReLU."""
    model = _float_mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fuse:
            model = tq.fuse_modules(model, [["0", "1"]])
            qconfig = tq.float16_dynamic_qconfig
            return tq.quantize_dynamic(model, {nn.Linear: qconfig, nni.LinearReLU: qconfig})
        return tq.quantize_dynamic(model, {nn.Linear}, dtype=torch.float16)


FP16_CASES = [
    OpCase("linear_dynamic_fp16", _dynamic_fp16, lambda: (torch.randn(3, 8),),
           expect_ops=frozenset({"Cast", "MatMul", "Add", "Relu"})),
    OpCase("linear_relu_dynamic_fp16", functools.partial(_dynamic_fp16, fuse=True),
           lambda: (torch.randn(3, 8),),
           mode="script"),
]  # fmt: skip


@pytest.mark.parametrize("case", FP16_CASES, ids=[c.id for c in FP16_CASES])
def test_fp16_dynamic_parity(case: OpCase, tmp_path: Path) -> None:
    """Float outputs: the default float tolerance, the weights rounded exactly as fbgemm does."""
    assert_parity(case, tmp_path)


def test_fp16_rounding_exceeds_the_tolerance() -> None:
    """The fp16 cases can fail: unrounded float32 weights miss TorchScript by more than the
    default float tolerance the cases use."""
    x = torch.randn(3, 8)
    with torch.no_grad():
        expected = _dynamic_fp16()(x).numpy()
        unrounded = _float_mlp()(x).numpy()
    tolerance = Tolerance.for_dtype(expected.dtype)
    assert (abs(unrounded - expected) > tolerance.atol + tolerance.rtol * abs(expected)).any()


class _ConvAdd(nn.Module):
    """ConvAdd2d and ConvAddReLU2d fused modules: conv(x) + y, quantized as one op."""

    def __init__(self) -> None:
        super().__init__()
        self.qx, self.qy, self.dequant = tq.QuantStub(), tq.QuantStub(), tq.DeQuantStub()
        self.add = nni.ConvAdd2d(nn.Conv2d(4, 4, 3, padding=1), torch.add)
        self.add_relu = nni.ConvAddReLU2d(nn.Conv2d(4, 4, 3, padding=1), torch.add, nn.ReLU())

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.qx(x), self.qy(y)
        return self.dequant(self.add(x, y)), self.dequant(self.add_relu(x, y))


def _pair() -> Tensors:
    return (torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6))


@functools.cache
def _conv_add() -> _ConvAdd:
    """Activations calibrated to 0..127 (reduce_range): like fbgemm, onednn saturates 16-bit
    intermediate sums of larger uint8 activations on CPUs without VNNI (see the README).
    Built on the onednn engine (the cases' ``engine``): its packed weights need it."""
    qconfig = tq.QConfig(
        activation=tq.HistogramObserver.with_args(reduce_range=True),
        weight=tq.default_per_channel_weight_observer,
    )
    return _quantize(_ConvAdd, _pair, qconfig)  # type: ignore[arg-type,return-value]


# torch runs conv2d_add only on the onednn engine (fbgemm, x86 and qnnpack refuse it).
ONEDNN_CASES = [
    OpCase(f"conv2d_add_{mode}", _conv_add, _pair, mode=mode, engine="onednn")  # type: ignore[arg-type]
    for mode in ("trace", "script")
]


@pytest.mark.parametrize("case", ONEDNN_CASES, ids=[c.id for c in ONEDNN_CASES])
def test_conv2d_add_parity(case: OpCase, tmp_path: Path) -> None:
    """One step of the coarser output grid, read from the converted module."""
    with case_engine(case):
        model = _conv_add()
    step = max(float(model.add.scale), float(model.add_relu.scale))
    tolerance = Tolerance(rtol=0.0, atol=step * (1 + 1e-5))
    assert_parity(dataclasses.replace(case, tolerance=tolerance), tmp_path)


class _Embeddings(nn.Module):
    """Embedding and EmbeddingBag (sum, mean, include_last_offset, per-sample weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(30, 6)
        self.bag_sum = nn.EmbeddingBag(30, 6, mode="sum")
        self.bag_mean = nn.EmbeddingBag(30, 6, mode="mean", include_last_offset=True)
        for module in (self.emb, self.bag_sum, self.bag_mean):
            module.qconfig = tq.float_qparams_weight_only_qconfig

    def forward(
        self, i: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        i, o = i.abs() % 30, torch.tensor([0, 2, 2, 5])  # the checker also feeds random indices
        weights = torch.linspace(0.5, 2.0, i.shape[0])
        return (
            self.emb(i),
            self.emb(i.reshape(2, -1)),
            self.bag_sum(i, o),
            self.bag_sum(i, o, per_sample_weights=weights),
            self.bag_mean(i, torch.cat([o, i.shape[0] + torch.zeros_like(o[:1])])),
            self.bag_sum(i.reshape(2, -1)),
        )


def _embedding_model() -> nn.Module:
    torch.manual_seed(0)
    model = _Embeddings().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tq.prepare(model, inplace=True)
        tq.convert(model, inplace=True)
    return model


class _BytePacked(nn.Module):
    """A byte-packed table (embedding_bag_byte_prepack) read by ..._rowwise_offsets."""

    def __init__(self, mode: int = 0) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.register_buffer(
            "packed", torch.ops.quantized.embedding_bag_byte_prepack(torch.randn(30, 6))
        )
        self.mode = mode

    def forward(self, i: torch.Tensor) -> torch.Tensor:
        i, o = i.abs() % 30, torch.tensor([0, 2, 2, 5])
        return torch.ops.quantized.embedding_bag_byte_rowwise_offsets(
            self.packed, i, o, False, self.mode, False, None, None, False
        )


def _bags() -> Tensors:
    return (torch.tensor([3, 0, 29, 7, 7, 12, 1, 5]),)


EMBEDDING_CASES = [
    OpCase("embedding_byte_bags", _embedding_model, _bags, dynamic_batch=False),
    OpCase("embedding_byte_bags_scripted", _embedding_model, _bags, mode="script",
           dynamic_batch=False),
    OpCase("embedding_bag_byte_rowwise_offsets", _BytePacked, _bags, dynamic_batch=False),
]  # fmt: skip


@pytest.mark.parametrize("case", EMBEDDING_CASES, ids=[c.id for c in EMBEDDING_CASES])
def test_embedding_parity(case: OpCase, tmp_path: Path) -> None:
    """Float outputs of uint8 tables: the default float tolerance."""
    assert_parity(case, tmp_path)


def test_byte_rowwise_offsets_mean_is_refused(tmp_path: Path) -> None:
    """torch's kernel returns the sums for mode=1; the export refuses rather than pick a side."""
    module, x = _BytePacked(mode=1), _bags()
    with torch.no_grad():
        sums = _BytePacked(mode=0)(*x)
    assert torch.equal(module(*x), sums)  # the behaviour the refusal names
    archive = save_archive(module, x, tmp_path / "bag.pt")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "bag.onnx", x)
    assert (
        str(info.value)
        .splitlines()[0]
        .endswith(
            ": torch 2.13's embedding_bag_byte_rowwise_offsets kernel sums the bags it is asked to "
            "average (mode=1); use quantized::embedding_bag_byte or mode=0"
        )
    )


class _Recurrent(nn.Module):
    """An LSTM or GRU returning its output and final states."""

    def __init__(self, cell: type[nn.LSTM] | type[nn.GRU], **kwargs: object) -> None:
        super().__init__()
        self.rnn = cell(4, 6, **kwargs)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, state = self.rnn(x)
        return y, state[0] if isinstance(state, tuple) else state


def _dynamic_rnn(
    cell: type[nn.LSTM] | type[nn.GRU], dtype: torch.dtype, **kwargs: object
) -> nn.Module:
    """quantize_dynamic on an LSTM or GRU: int8 (activations quantized at run time) or float16."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tq.quantize_dynamic(_Recurrent(cell, **kwargs).eval(), {cell}, dtype=dtype)


def _seq() -> Tensors:
    return (torch.randn(5, 2, 4) * 2,)


def _seq_batch_first() -> Tensors:
    return (torch.randn(2, 5, 4) * 2,)


_LSTM = functools.partial(_dynamic_rnn, nn.LSTM)
_GRU = functools.partial(_dynamic_rnn, nn.GRU)
RNN_CASES = [
    OpCase("lstm_dynamic_int8", functools.partial(_LSTM, torch.qint8, batch_first=True),
           _seq_batch_first),
    OpCase("lstm_dynamic_int8_2_layers_bidirectional",
           functools.partial(_LSTM, torch.qint8, num_layers=2, bidirectional=True), _seq,
           dynamic_batch=False),
    OpCase("gru_dynamic_int8_bidirectional",
           functools.partial(_GRU, torch.qint8, bidirectional=True), _seq, dynamic_batch=False),
    OpCase("gru_dynamic_int8_2_layers_scripted",
           functools.partial(_GRU, torch.qint8, num_layers=2), _seq, mode="script",
           dynamic_batch=False),
    OpCase("lstm_dynamic_fp16_bidirectional",
           functools.partial(_LSTM, torch.float16, bidirectional=True), _seq,
           dynamic_batch=False),
    OpCase("gru_dynamic_fp16", functools.partial(_GRU, torch.float16, batch_first=True),
           _seq_batch_first),
]  # fmt: skip


@pytest.mark.parametrize("case", RNN_CASES, ids=[c.id for c in RNN_CASES])
def test_dynamic_rnn_parity(case: OpCase, tmp_path: Path) -> None:
    """Float outputs computed from the same integer operands: the default float tolerance."""
    assert_parity(case, tmp_path)


def test_dynamic_rnn_with_a_dynamic_sequence_length_is_refused(tmp_path: Path) -> None:
    """Unrolling needs the step count: a sequence-first input with a dynamic dim 0 is refused."""
    x = _seq()
    archive = save_archive(_LSTM(torch.qint8), x, tmp_path / "lstm.pt")
    with pytest.raises(TranslationError) as info:
        convert(archive, tmp_path / "lstm.onnx", x, options=ConvertOptions(dynamic_batch=True))
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{archive}: cannot translate aten::quantized_lstm.input at ")
    assert first.endswith(": a dynamically quantized LSTM/GRU needs a static sequence length")
