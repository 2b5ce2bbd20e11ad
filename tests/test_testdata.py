"""Self-describing models and test-case directories: metadata, inspect, --emit-test-data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner

import converter
from cli import main
from converter import (
    ConvertOptions,
    InputError,
    Tolerance,
    VerifyOptions,
    WorkerOptions,
    convert,
    describe,
    verify,
)
from converter._jit import quiet_jit
from tests.harness import save_archive
from tests.models import TwoInputs, tiny_mlp


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path, list[torch.Tensor]]:
    examples = [torch.randn(2, 3), torch.tensor([[2], [3]])]
    archive = save_archive(TwoInputs(), examples, tmp_path / "two.pt")
    out = tmp_path / "two.onnx"
    convert(archive, out, examples)
    return archive, out, examples


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _read(path: Path) -> tuple[str, np.ndarray]:
    proto = onnx.TensorProto()
    proto.ParseFromString(path.read_bytes())
    assert proto.HasField("raw_data")
    return proto.name, onnx.numpy_helper.to_array(proto)


def test_model_metadata_describes_inputs_outputs_and_tolerances(two: tuple) -> None:  # type: ignore[type-arg]
    archive, out, _ = two
    props = _props(out)
    assert json.loads(props["jit2onnx.inputs"]) == [
        {"name": "x", "dtype": "float32", "shape": ["batch", 3]},
        {"name": "k", "dtype": "int64", "shape": ["batch", 1]},
    ]
    assert json.loads(props["jit2onnx.outputs"]) == [
        {"name": "output", "dtype": "float32", "shape": ["batch", 3]}
    ]
    assert json.loads(props["jit2onnx.tolerances"]) == {"output": {"rtol": 1e-4, "atol": 1e-4}}
    assert props["jit2onnx.opset"] == "18"
    assert props["jit2onnx.version"] == converter.__version__
    assert json.loads(props["jit2onnx.findings"]) == []
    assert props["jit2onnx.source_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    desc = describe(out)
    assert desc.opset == 18 and desc.version == converter.__version__
    assert [i.shape for i in desc.inputs] == [("batch", 3), ("batch", 1)]
    assert desc.tolerances == {"output": Tolerance(rtol=1e-4, atol=1e-4)}


def test_inspect_reads_an_onnx_file(two: tuple) -> None:  # type: ignore[type-arg]
    _, out, _ = two
    result = CliRunner().invoke(main, ["inspect", str(out)])
    assert result.exit_code == 0, result.output
    assert "    x float32[batch,3]\n    k int64[batch,1]\n" in result.stdout
    assert "    output float32[batch,3]  (rtol 0.0001, atol 0.0001)\n" in result.stdout
    result = CliRunner().invoke(main, ["inspect", str(out), "--json"])
    data = json.loads(result.stdout)
    assert data["inputs"][1] == {"name": "k", "dtype": "int64", "shape": ["batch", 1]}
    assert data["source_sha256"] == _props(out)["jit2onnx.source_sha256"]


def test_inspect_shows_the_float16_precision_only_when_recorded(two: tuple) -> None:  # type: ignore[type-arg]
    archive, out, examples = two
    half = out.with_name("two.fp16.onnx")
    convert(archive, half, examples, options=ConvertOptions(float16=True))
    assert _props(half)["jit2onnx.precision"] == "float16"
    assert describe(half).precision == "float16" and describe(out).precision is None
    text = CliRunner().invoke(main, ["inspect", str(half)]).stdout
    assert "\n  precision: float16\n" in text
    assert "precision" not in CliRunner().invoke(main, ["inspect", str(out)]).stdout
    for path, expected in ((half, "float16"), (out, None)):
        result = CliRunner().invoke(main, ["inspect", str(path), "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["precision"] == expected
    assert list(data) == [  # the earlier keys are unchanged; precision comes last
        "model",
        "jit2onnx_version",
        "opset",
        "source_sha256",
        "inputs",
        "outputs",
        "tolerances",
        "findings",
        "notes",
        "precision",
    ]


def test_inspect_detects_onnx_by_content(two: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    _, out, _ = two
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(out.read_bytes())
    result = CliRunner().invoke(main, ["inspect", str(renamed)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{renamed}\n  opset: 18\n  written by jit2onnx ")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = CliRunner().invoke(main, ["inspect", str(text)])
    assert result.exit_code == 5
    assert result.stderr == f"jit2onnx: error: {text}: not a zip file, not a TorchScript archive\n"


def test_inspect_refuses_a_file_that_is_neither(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xff not a model")
    result = CliRunner().invoke(main, ["inspect", str(bad)])
    assert result.exit_code == 5
    assert result.stderr.startswith(
        f"jit2onnx: error: {bad}: not an ONNX model (malformed protobuf: "
    )


def test_emitted_cases_run_in_onnx_runtime(two: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    archive, out, examples = two
    target = tmp_path / "cases"
    options = VerifyOptions(tolerance=Tolerance(rtol=1e-3, atol=1e-5))
    report = verify(archive, out, examples, options=options, emit_test_data=target)
    assert report.ok
    model = onnx.load(str(target / "model.onnx"))
    assert json.loads(_props(target / "model.onnx")["jit2onnx.tolerances"]) == {
        "output": {"rtol": 1e-3, "atol": 1e-5}
    }
    session = ort.InferenceSession(str(target / "model.onnx"))
    sets = sorted(target.glob("test_data_set_*"))
    assert [s.name for s in sets] == [f"test_data_set_{n}" for n in range(3)]
    for folder, case in zip(sets, report.cases, strict=True):
        feeds = dict(_read(folder / f"input_{k}.pb") for k in range(2))
        assert list(feeds) == [i.name for i in model.graph.input]
        name, expected = _read(folder / "output_0.pb")
        assert name == "output"
        (actual,) = session.run(None, feeds)
        np.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-5)
        with quiet_jit(), torch.no_grad():
            module = torch.jit.load(str(archive))
            reference = module(*(torch.tensor(feeds[n]) for n in ("x", "k"))).numpy()
        np.testing.assert_array_equal(expected, reference)
        assert tuple(feeds["x"].shape) == case.input_shapes[0]
    assert _read(sets[2] / "input_0.pb")[1].shape[0] != 2  # the resized case


def test_cli_refuses_a_non_empty_directory_unless_forced(two: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    archive, out, examples = two
    inputs = tmp_path / "in.npz"
    np.savez(inputs, *(e.numpy() for e in examples))
    target = tmp_path / "cases"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    args = ["verify", str(archive), str(out), "--inputs", str(inputs), "--emit-test-data"]
    result = CliRunner().invoke(main, [*args, str(target)])
    assert result.exit_code == 5
    assert result.stderr == (
        f"jit2onnx: error: {target}: directory is not empty; pass --force to replace it\n"
    )
    assert (target / "keep.txt").read_text() == "mine"
    result = CliRunner().invoke(main, [*args, str(target), "--force"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"wrote {target} (3 test data sets)\n")
    assert sorted(p.name for p in target.iterdir())[0] == "model.onnx"
    assert not (target / "keep.txt").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_convert_emits_test_data_into_an_empty_directory(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "mlp.pt")
    target = tmp_path / "cases"
    target.mkdir()
    args = ["convert", str(archive), "-o", str(tmp_path / "m.onnx"), "--shape", "2x4"]
    result = CliRunner().invoke(main, [*args, "--emit-test-data", str(target)])
    assert result.exit_code == 0, result.output
    assert "parity OK" in result.stdout
    assert (target / "test_data_set_2" / "output_0.pb").is_file()


def test_parity_failure_or_error_writes_nothing(
    two: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, out, examples = two
    other = save_archive(_Negated(), examples, tmp_path / "neg.pt")
    target = tmp_path / "cases"
    report = verify(other, out, examples, emit_test_data=target)
    assert not report.ok and not target.exists()

    def broken(*args: object) -> None:
        raise InputError("disk full")

    monkeypatch.setattr("converter.testdata._write_tensors", broken)
    with pytest.raises(InputError, match="disk full"):  # the patch lives in this process only
        verify(two[0], out, examples, emit_test_data=target, worker=WorkerOptions(isolate=False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["neg.pt", "two.onnx", "two.pt"]


class _Negated(torch.nn.Module):
    def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return -torch.relu(x) * k


def test_describe_falls_back_to_the_graph_of_a_foreign_model(tmp_path: Path) -> None:
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 2])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 2])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    path = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    desc = describe(path)
    assert (desc.opset, desc.version, desc.tolerances) == (17, None, {})
    assert [(i.name, i.dtype, i.shape) for i in desc.inputs] == [("x", "float32", ("n", 2))]
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert (
        result.stdout
        == f"{path}\n  opset: 17\n  inputs:\n    x float32[n,2]\n  outputs:\n    y float32[n,2]\n"
    )


def test_convert_refuses_a_full_directory_before_converting(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "mlp.pt")
    target = tmp_path / "cases"
    target.mkdir()
    (target / "x").write_text("")
    out = tmp_path / "m.onnx"
    args = ["convert", str(archive), "-o", str(out), "--shape", "2x4", "--emit-test-data"]
    result = CliRunner().invoke(main, [*args, str(target)])
    assert result.exit_code == 5
    assert not out.exists()
