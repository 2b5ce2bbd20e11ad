"""`jit2onnx optimize`, `convert --optimize-level` and `--check-each-pass`: codes, messages."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir
import pytest
from click.testing import CliRunner

from cli import main
from tests.optimize.test_pipeline import TEXT, _Breaks, _with

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "in.onnx"
    ir.save(ir.from_onnx_text(TEXT), path)
    return path


def test_optimize_writes_the_file_and_reports(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.onnx"
    code, stdout, _ = _invoke("optimize", model_file, "-o", out, "--report")
    assert code == 0, stdout
    lines = stdout.splitlines()
    assert lines[0].startswith(f"wrote {out} (7 -> 4 nodes, ")
    assert lines[1].startswith("optimized at level 2 (opset 18): 7 -> 4 nodes in ")
    assert any(line.startswith("  fuse-conv-batchnorm (round 1): ") for line in lines)
    assert [n.op_type for n in onnx.load(out).graph.node] == ["Conv", "Relu", "Conv", "Relu"]


def test_optimize_json_and_level_1(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.onnx"
    code, stdout, _ = _invoke("optimize", model_file, "-o", out, "--level", "1", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert (data["level"], data["nodes_before"], data["nodes_after"]) == (1, 7, 5)
    assert data["output"] == str(out) and data["passes"][0]["name"] == "infer-shapes"


def test_check_each_pass_names_the_pass_and_exits_3(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with(monkeypatch, "break-relu", _Breaks())
    out = tmp_path / "out.onnx"
    code, _, stderr = _invoke("optimize", model_file, "-o", out, "--check-each-pass")
    assert code == 3
    assert stderr.startswith("jit2onnx: error: pass 'break-relu' broke parity: output 'y' ")
    assert not out.exists()


def test_check_each_pass_with_an_inputs_file(model_file: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "x.npz"
    np.savez(inputs, x=np.ones((3, 1, 5, 5), np.float32))
    out = tmp_path / "out.onnx"
    code, stdout, _ = _invoke(
        "optimize", model_file, "-o", out, "--check-each-pass", "--inputs", inputs, "--report"
    )
    assert code == 0
    assert "(ONNX Runtime parity checked after each pass)" in stdout


def test_not_an_onnx_file_exits_5(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    code, _, stderr = _invoke("optimize", bad, "-o", tmp_path / "o.onnx")
    assert code == 5
    assert stderr.startswith(f"jit2onnx: error: {bad}: not an ONNX model (malformed protobuf: ")


def test_unknown_pass_name_exits_1(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.onnx"
    code, _, stderr = _invoke("optimize", model_file, "-o", out, "--disable-pass", "fuse-all")
    assert code == 1
    assert stderr == "jit2onnx: error: unknown pass name(s): fuse-all\n"


def test_convert_optimize_level_and_check_each_pass(tmp_path: Path) -> None:
    folder = FIXTURES / "convnet"
    counts = {}
    for level in ("0", "2"):
        out = tmp_path / f"c{level}.onnx"
        args = ["convert", folder / "model.zip", "-o", out, "--inputs", folder / "inputs.npz"]
        code, stdout, _ = _invoke(*args, "--optimize-level", level, "--check-each-pass", "--report")
        assert code == 0, stdout
        counts[level] = len(onnx.load(out).graph.node)
        checked = "(ONNX Runtime parity checked after each pass)" in stdout
        assert checked == (level == "2")
    assert counts["2"] < counts["0"]


def test_convert_check_each_pass_blames_the_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with(monkeypatch, "break-relu", _Breaks())
    folder = FIXTURES / "convnet"
    args = ["convert", folder / "model.zip", "-o", tmp_path / "c.onnx"]
    # --in-process: the patched pass lives in this process only
    more = ["--inputs", folder / "inputs.npz", "--check-each-pass", "--in-process"]
    code, _, stderr = _invoke(*args, *more)
    assert code == 3
    assert stderr.startswith("jit2onnx: error: pass 'break-relu' broke parity: output 'output'")


def test_optimize_is_the_public_function() -> None:
    import converter

    assert callable(converter.optimize)
    assert importlib.import_module("converter.optimize").DEFAULT_LEVEL == 2
