"""The command line: spellings, exit codes, messages, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

from cli import main
from tests.harness import save_archive
from tests.models import TwoInputs, Unsupported, tiny_mlp

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def mlp(tmp_path: Path) -> tuple[Path, Path]:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "mlp.pt")
    inputs = tmp_path / "in.npz"
    np.savez(inputs, np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32))
    return archive, inputs


def test_convert_then_verify_then_run(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, inputs = mlp
    out = tmp_path / "mlp.onnx"
    code, stdout, _ = _invoke("convert", archive, "-o", out, "--inputs", inputs)
    assert code == 0, stdout
    assert stdout.startswith(
        f"wrote {out} (opset 18; inputs: input float[batch,4]; outputs: output"
    )
    code, stdout, _ = _invoke("verify", archive, out, "--inputs", inputs)
    assert code == 0
    assert stdout.startswith(f"parity OK: {out} vs {archive} on cpu (3 cases)")
    npz = tmp_path / "outputs.npz"
    code, stdout, _ = _invoke("run", out, "--inputs", inputs, "-o", npz)
    assert code == 0
    assert stdout.splitlines()[0].startswith("output: float32[2, 2] min ")
    expected = tiny_mlp_outputs(archive, inputs)
    np.testing.assert_allclose(np.load(npz)["output"], expected, rtol=1e-5, atol=1e-6)


def tiny_mlp_outputs(archive: Path, inputs: Path) -> np.ndarray:
    from converter._jit import quiet_jit

    with quiet_jit():
        module = torch.jit.load(str(archive))
    with torch.no_grad():
        return module(torch.from_numpy(np.load(inputs)["arr_0"])).numpy()


def test_convert_with_shape_and_verify_flag_json(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, _ = mlp
    out = tmp_path / "mlp.onnx"
    code, stdout, _ = _invoke(
        "convert", archive, "-o", out, "--shape", "3x4", "--verify", "--json", "--opset", "17"
    )
    assert code == 0
    data = json.loads(stdout)
    assert data["convert"]["opset"] == 17
    assert data["convert"]["inputs"] == [{"name": "input", "dtype": "float", "shape": ["batch", 4]}]
    assert data["verify"]["ok"] is True
    assert len(data["verify"]["cases"]) == 3
    assert onnx.load(str(out)).opset_import[0].version == 17


def test_static_and_dynamic_flags(tmp_path: Path) -> None:
    x, k = torch.randn(2, 5, 3), torch.tensor([[[2]]])
    archive = save_archive(TwoInputs(), [x, k], tmp_path / "two.pt")
    out = tmp_path / "two.onnx"
    code, stdout, _ = _invoke(
        "convert", archive, "-o", out, "--shape", "2x5x3", "--shape", "1x1x1:int64",
        "--static", "--dynamic", "x:1", "--json",
    )  # fmt: skip
    assert code == 0, stdout
    inputs = json.loads(stdout)["convert"]["inputs"]
    assert inputs == [
        {"name": "x", "dtype": "float", "shape": [2, "x_dim1", 3]},
        {"name": "k", "dtype": "int64", "shape": [1, 1, 1]},
    ]


def test_verify_json_reports_per_output_errors(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, inputs = mlp
    out = tmp_path / "mlp.onnx"
    assert _invoke("convert", archive, "-o", out, "--inputs", inputs)[0] == 0
    code, stdout, _ = _invoke("verify", archive, out, "--inputs", inputs, "--json")
    report = json.loads(stdout)
    assert code == 0 and report["ok"] is True
    first = report["cases"][0]["outputs"][0]
    assert set(first) >= {"name", "max_abs", "max_rel", "tolerance", "ok", "expected_shape"}
    assert report["cases"][2]["input_shapes"] == [[4, 4]]


def test_parity_failure_exits_3(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, inputs = mlp
    other = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "other.pt")
    out = tmp_path / "other.onnx"
    assert _invoke("convert", other, "-o", out, "--inputs", inputs)[0] == 0
    code, stdout, stderr = _invoke("verify", archive, out, "--inputs", inputs)
    assert code == 3
    assert stdout.startswith("parity FAILED")
    assert stderr.strip().splitlines() == [
        f"jit2onnx: error: {out}: parity failed for example inputs, random values (seed 1), "
        "resized dims input:[0]"
    ]


def test_unsupported_ops_exit_1_without_traceback(tmp_path: Path) -> None:
    archive = save_archive(Unsupported(), [torch.randn(3, 3)], tmp_path / "bad.pt")
    code, _, stderr = _invoke("convert", archive, "-o", tmp_path / "bad.onnx", "--shape", "3x3")
    assert code == 1
    assert stderr.startswith(f"jit2onnx: error: {archive}: 3 node(s) of 2 unsupported")
    assert "Traceback" not in stderr
    code, _, stderr = _invoke(
        "convert", archive, "-o", tmp_path / "bad.onnx", "--shape", "3x3", "--debug"
    )
    assert code == 1 and "Traceback" in stderr


def test_not_an_archive_exits_5(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    code, _, stderr = _invoke("convert", bad, "-o", tmp_path / "x.onnx", "--shape", "2x4")
    assert code == 5
    assert stderr == f"jit2onnx: error: {bad}: not a zip file, not a TorchScript archive\n"


def test_missing_inputs_is_a_usage_error(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, _ = mlp
    code, _, stderr = _invoke("convert", archive, "-o", tmp_path / "x.onnx")
    assert code == 2
    assert "example inputs are needed: pass --inputs FILE.npz or --shape" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shape", "2by4"], "'2by4' is not a shape like 1x3x28x28"),
        (["--shape", "2x4:floaty"], "'floaty' is not a numpy dtype name"),
        (["--shape", "2x4", "--dynamic", "x"], "'x' is not INPUT:DIM[,DIM...]"),
        (["--shape", "2x4", "--opset", "12"], "12 is not in the range 17<=x<=23"),
    ],
)
def test_bad_options_exit_2(
    mlp: tuple[Path, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    archive, _ = mlp
    code, _, stderr = _invoke("convert", archive, "-o", tmp_path / "x.onnx", *args)
    assert code == 2
    assert message in stderr


def test_dynamic_naming_unknown_input_exits_5(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    archive, inputs = mlp
    code, _, stderr = _invoke(
        "convert", archive, "-o", tmp_path / "x.onnx", "--inputs", inputs, "--dynamic", "tokens:1"
    )
    assert code == 5
    assert stderr == (
        f"jit2onnx: error: {archive}: --dynamic names input 'tokens'; inputs are input\n"
    )


def test_cuda_without_provider_exits_4(mlp: tuple[Path, Path], tmp_path: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA: the missing-provider error cannot occur")
    archive, inputs = mlp
    out = tmp_path / "mlp.onnx"
    assert _invoke("convert", archive, "-o", out, "--inputs", inputs)[0] == 0
    code, _, stderr = _invoke("run", out, "--inputs", inputs, "--provider", "cuda")
    assert code == 4
    assert "provider 'cuda' needs CUDAExecutionProvider" in stderr
    assert "available: " in stderr and "CPUExecutionProvider" in stderr


def test_inspect_text_and_json() -> None:
    model = FIXTURES / "mlp" / "model.zip"
    code, stdout, _ = _invoke("inspect", model)
    assert code == 0
    assert "aten::linear x3" in stdout and "unsupported: none" in stdout
    code, stdout, _ = _invoke("inspect", model, "--json")
    data = json.loads(stdout)
    assert data["inputs"] == ["input"] and data["unsupported"] == {}


def test_output_is_not_left_half_written(tmp_path: Path) -> None:
    archive = save_archive(Unsupported(), [torch.randn(3, 3)], tmp_path / "bad.pt")
    out = tmp_path / "keep.onnx"
    out.write_bytes(b"previous")
    code, _, _ = _invoke("convert", archive, "-o", out, "--shape", "3x3", "--force")
    assert code == 1
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt", "keep.onnx"]


def test_existing_output_is_replaced_only_with_force(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    out = tmp_path / "m.onnx"
    out.write_bytes(b"previous")
    code, _, stderr = _invoke("convert", archive, "-o", out, "--shape", "2x4")
    assert code == 2
    assert stderr.strip() == f"jit2onnx: error: {out}: already exists; pass --force to replace it"
    assert out.read_bytes() == b"previous"
    code, _, _ = _invoke("convert", archive, "-o", out, "--shape", "2x4", "--force")
    assert code == 0
    assert out.read_bytes() != b"previous"


def test_help_documents_exit_codes() -> None:
    code, stdout, _ = _invoke("--help")
    text = " ".join(stdout.split())
    assert code == 0
    assert "3 parity failed" in text and "6 trace validation" in text
    assert "70 internal error" in text
