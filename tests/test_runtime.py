"""ONNX Runtime sessions, provider selection, IO binding, and output comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx_ir as ir
import pytest

from converter import ModelLoadError, RuntimeSessionError, Tolerance
from converter.runtime.compare import compare
from converter.runtime.session import Session, resolve_providers


def _add_one_model(path: Path) -> Path:
    x = ir.Value(name="x", shape=ir.Shape(["batch", 3]), type=ir.TensorType(ir.DataType.FLOAT))
    one = ir.Value(name="one", shape=ir.Shape([]), type=ir.TensorType(ir.DataType.FLOAT))
    one.const_value = ir.tensor(np.array(1.0, np.float32), name="one")
    node = ir.Node("", "Add", [x, one], num_outputs=1)
    node.outputs[0].name = "y"
    graph = ir.Graph([x], node.outputs, nodes=[node], initializers=[one], opset_imports={"": 18})
    ir.save(ir.Model(graph, ir_version=8), path)
    return path


def test_cpu_resolves_to_cpu_provider() -> None:
    assert resolve_providers("CPU", 0, ["CPUExecutionProvider"]) == [("CPUExecutionProvider", {})]


def test_cuda_resolves_with_device_id_and_cpu_for_unassigned_nodes() -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert resolve_providers("cuda", 1, available) == [
        ("CUDAExecutionProvider", {"device_id": "1"}),
        ("CPUExecutionProvider", {}),
    ]


def test_missing_cuda_is_an_error_listing_available_providers() -> None:
    with pytest.raises(RuntimeSessionError) as info:
        resolve_providers("cuda", 0, ["CPUExecutionProvider", "AzureExecutionProvider"])
    assert str(info.value) == (
        "provider 'cuda' needs CUDAExecutionProvider, which this onnxruntime does not have; "
        "available: CPUExecutionProvider, AzureExecutionProvider "
        "(install jit2onnx[gpu], which brings onnxruntime-gpu)"
    )


def test_unknown_provider() -> None:
    with pytest.raises(
        RuntimeSessionError, match="unknown provider 'tpu': choose one of cpu, cuda"
    ):
        resolve_providers("tpu", 0, ["CPUExecutionProvider"])


def test_session_runs_plain_and_with_io_binding(tmp_path: Path) -> None:
    model = _add_one_model(tmp_path / "add.onnx")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    plain = Session(model)
    assert plain.input_names == ("x",) and plain.output_names == ("y",)
    assert plain.symbolic_dims() == {0: (0,)}
    np.testing.assert_array_equal(plain.run({"x": x})[0], x + 1)
    bound = Session(model, io_binding=True)
    run = bound.bind({"x": x})
    first, second = run.run()[0], run.run()[0]
    np.testing.assert_array_equal(first, x + 1)
    np.testing.assert_array_equal(second, x + 1)


def test_session_on_a_corrupt_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelLoadError, match=rf"^{bad}: not an ONNX model \(malformed protobuf: "):
        Session(bad)


@pytest.mark.cuda
def test_cuda_session_with_io_binding(tmp_path: Path) -> None:
    model = _add_one_model(tmp_path / "add.onnx")
    x = np.ones((4, 3), np.float32)
    session = Session(model, "cuda", 0)
    assert session.io_binding
    np.testing.assert_array_equal(session.run({"x": x})[0], x + 1)


def test_compare_within_and_beyond_tolerance() -> None:
    expected = np.array([1.0, 2.0, 100.0], np.float32)
    ok = compare("y", expected, expected + np.float32(1e-5))
    assert ok.ok and ok.mismatched == 0
    assert ok.max_abs == pytest.approx(1e-5, rel=1e-2)
    bad = compare("y", expected, expected + np.array([0, 0, 1], np.float32))
    assert not bad.ok and bad.mismatched == 1 and bad.max_abs == 1.0
    assert bad.max_rel == pytest.approx(0.01)


def test_compare_shape_dtype_and_nan() -> None:
    a = np.zeros((2, 3), np.float32)
    assert not compare("y", a, a.reshape(3, 2)).ok
    assert not compare("y", a, a.astype(np.float64)).ok
    nan = np.array([np.nan, 1.0], np.float32)
    assert compare("y", nan, nan.copy()).ok
    assert not compare("y", nan, np.array([0.0, 1.0], np.float32)).ok


def test_integer_outputs_must_match_exactly() -> None:
    a = np.array([1, 2, 3])
    assert Tolerance.for_dtype(a.dtype) == Tolerance(0.0, 0.0)
    assert not compare("i", a, a + np.array([0, 0, 1])).ok
