"""ONNX files given to run/verify/inspect: malformed protobuf, external data that escapes the
model's directory, custom-domain operators. Each is refused before ONNX Runtime opens it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from cli import main


def _model(tmp_path: Path, domain: str = "") -> Path:
    """y = x @ W with W (4x4) stored as external data in weights.bin beside the model."""
    weight = numpy_helper.from_array(np.eye(4, dtype=np.float32) * 2, "W")
    node = helper.make_node("MatMul", ["x", "W"], ["y"], domain=domain)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 18)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    path = tmp_path / "model.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    return path


def _relocate(path: Path, location: str) -> None:
    model = onnx.load_model(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = location
    path.write_bytes(model.SerializeToString())


def _inputs(tmp_path: Path) -> Path:
    path = tmp_path / "x.npz"
    np.savez(path, np.ones((2, 4), np.float32))
    return path


def _run(model: Path, tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["run", str(model), "--inputs", str(_inputs(tmp_path))])
    return result.exit_code, result.output


def test_external_data_inside_the_directory_runs(tmp_path: Path) -> None:
    code, output = _run(_model(tmp_path), tmp_path)
    assert code == 0, output
    assert output.startswith("y: float32[2, 4] min 2 max 2 mean 2")  # ones @ 2I


def _outside(tmp_path: Path) -> Path:
    secret = tmp_path.parent / f"{tmp_path.name}-secret.bin"
    secret.write_bytes(bytes(64))
    return secret


def _symlink(tmp_path: Path) -> str:
    os.symlink(_outside(tmp_path), tmp_path / "link.bin")
    return "link.bin"


def _hardlink(tmp_path: Path) -> str:
    os.link(_outside(tmp_path), tmp_path / "hard.bin")
    return "hard.bin"


def _short(tmp_path: Path) -> str:
    (tmp_path / "short.bin").write_bytes(bytes(8))
    return "short.bin"


@pytest.mark.parametrize(
    ("make_location", "problem"),
    [
        (lambda t: "../secret.bin", "outside the model's directory"),
        (lambda t: "/etc/hostname", "outside the model's directory"),
        (lambda t: "/proc/self/mem", "outside the model's directory"),
        (lambda t: "*/_ORT_MEM_ADDR_/*", "not a file name"),
        (_symlink, "is a symbolic link"),
        (_hardlink, "is a hard link"),
        (_short, "claims bytes beyond the end of the file"),
        (lambda t: "missing.bin", "no such file"),
    ],
)
def test_escaping_external_data_is_refused(
    tmp_path: Path, make_location: Callable[[Path], str], problem: str
) -> None:
    model = _model(tmp_path)
    location = make_location(tmp_path)
    _relocate(model, location)
    code, output = _run(model, tmp_path)
    assert code == 5, output
    expected = f"jit2onnx: error: {model}: initializer 'W' external data {location!r}: {problem}"
    assert output.strip() == expected


def test_malformed_protobuf_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "bad.onnx"
    model.write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    code, output = _run(model, tmp_path)
    assert code == 5, output
    assert output.startswith(f"jit2onnx: error: {model}: not an ONNX model (malformed protobuf")
    assert len(output.strip().splitlines()) == 1


def test_custom_domain_operator_is_named(tmp_path: Path) -> None:
    model = _model(tmp_path, domain="com.example.ops")
    code, output = _run(model, tmp_path)
    assert code == 4, output
    assert output.strip() == (
        f"jit2onnx: error: {model}: operator com.example.ops::MatMul needs a custom-op library "
        "that ONNX Runtime does not have"
    )


@pytest.mark.parametrize(
    ("array", "problem"),
    [
        (np.ones((2, 4), np.float64), "input 'x' must be float32, got float64"),
        (np.ones((2, 4, 1), np.float32), "input 'x' must have rank 2 [2, 4], got shape [2, 4, 1]"),
        (np.ones((2, 5), np.float32), "input 'x' dim 1 must be 4, got shape [2, 5]"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(
    tmp_path: Path, array: np.ndarray, problem: str
) -> None:
    model = _model(tmp_path)
    inputs = tmp_path / "bad.npz"
    np.savez(inputs, array)
    result = CliRunner().invoke(main, ["run", str(model), "--inputs", str(inputs)])
    assert result.exit_code == 5, result.output
    assert result.output.strip() == f"jit2onnx: error: {model}: {problem}"


def test_big_endian_inputs_are_read_as_their_values(tmp_path: Path) -> None:
    model = _model(tmp_path)
    inputs = tmp_path / "be.npz"
    np.savez(inputs, np.arange(8, dtype=">f4").reshape(2, 4))
    out = tmp_path / "out.npz"
    args = ["run", str(model), "--inputs", str(inputs), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    expected = np.arange(8, dtype=np.float32).reshape(2, 4) * 2  # x @ 2I
    np.testing.assert_array_equal(np.load(out)["y"], expected)
