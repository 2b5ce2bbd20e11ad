"""The Python API contract: results, metadata, provenance, atomic output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import converter
from converter import ConvertOptions, InputSpec, convert, verify
from tests.harness import save_archive
from tests.models import TwoInputs, tiny_mlp


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "mlp.pt")


def test_convert_returns_what_it_wrote(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    result = convert(archive, out, (torch.randn(2, 4),))
    assert result.output == out and out.is_file()
    assert result.opset == 18
    assert [(i.name, i.dims) for i in result.inputs] == [("input", ("batch", 4))]
    assert result.outputs == ("output",)
    assert result.op_histogram == {"aten::linear": 2, "aten::relu": 1}
    assert result.seconds > 0
    assert set(result.to_dict()) >= {"output", "opset", "inputs", "outputs", "warnings"}


def test_nodes_carry_source_line_and_scope(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    convert(archive, out, (torch.randn(2, 4),))
    model = onnx.load(str(out))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    meta = {p.key: p.value for p in relu.metadata_props}
    assert meta["jit2onnx.node"] == "aten::relu"
    assert meta["jit2onnx.source"].split("/")[-1].startswith("harness.py:")  # the trace call
    assert meta["jit2onnx.scope"] == "1(ReLU)"
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    assert {p.key for p in gemm.metadata_props} >= {"jit2onnx.source", "jit2onnx.node"}
    props = {p.key: p.value for p in model.metadata_props}
    assert props["jit2onnx.version"] == converter.__version__
    assert len(props["jit2onnx.source_sha256"]) == 64


def test_input_specs_build_random_inputs_of_each_dtype(tmp_path: Path) -> None:
    x, k = torch.randn(2, 3), torch.tensor([[2]])
    archive = save_archive(TwoInputs(), [x, k], tmp_path / "two.pt")
    out = tmp_path / "two.onnx"
    specs = [InputSpec((2, 3)), InputSpec((1, 1), "int64")]
    result = convert(archive, out, input_specs=specs)
    assert [i.dtype for i in result.inputs] == ["float", "int64"]
    report = verify(archive, out, input_specs=specs)
    assert report.ok, report.to_dict()


def test_static_option_keeps_batch_fixed(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    result = convert(
        archive, out, [np.zeros((2, 4), np.float32)], options=ConvertOptions(dynamic_batch=False)
    )
    assert result.inputs[0].dims == (2, 4)
    report = verify(archive, out, [np.zeros((2, 4), np.float32)])
    assert [c.label for c in report.cases] == [
        "example inputs",
        "random values (seed 1)",
        "random values (seed 2)",
    ]


def test_rank_one_inputs_have_no_batch_dim(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(4)], tmp_path / "v.pt")
    result = convert(archive, tmp_path / "v.onnx", [torch.randn(4)])
    assert result.inputs[0].dims == (4,)


def test_verify_reports_failure_as_data(archive: Path, tmp_path: Path) -> None:
    other = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "other.pt")
    out = tmp_path / "other.onnx"
    convert(other, out, [torch.randn(2, 4)])
    report = verify(archive, out, [torch.randn(2, 4)])
    assert not report.ok
    assert all(not o.ok for c in report.cases for o in c.outputs)
    with pytest.raises(converter.ParityError) as info:
        report.raise_for_failure()
    assert info.value.report is report


def test_unsupported_opset_is_refused() -> None:
    with pytest.raises(ValueError, match="opset 16 is outside the supported 17-23"):
        ConvertOptions(opset=16)
