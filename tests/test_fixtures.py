"""End to end on the bundled fixtures: convert, compare with the stored outputs, verify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter import convert, run, verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CONVERTIBLE = ["mlp", "convnet", "resnet_block", "transformer_block", "r_style", "script_function"]


def _arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_fixture_converts_with_parity(name: str, tmp_path: Path) -> None:
    folder = FIXTURES / name
    out = tmp_path / f"{name}.onnx"
    result = convert(folder / "model.zip", out, folder / "inputs.npz")
    assert result.warnings == ()
    outputs = run(out, folder / "inputs.npz")
    for actual, expected in zip(outputs.values(), _arrays(folder / "expected.npz"), strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)
    report = verify(folder / "model.zip", out, folder / "inputs.npz")
    assert report.ok, report.to_dict()
    labels = [c.label for c in report.cases]
    assert labels[0] == "example inputs" and labels[2].startswith("resized dims")
    traced_batch = report.cases[0].input_shapes[0][0]
    assert report.cases[2].input_shapes[0][0] != traced_batch


def test_mlp_gives_the_posts_answer(tmp_path: Path) -> None:
    out = tmp_path / "mlp.onnx"
    convert(FIXTURES / "mlp" / "model.zip", out, FIXTURES / "mlp" / "inputs.npz")
    y = run(out, [np.ones((1, 3), np.float32)])["output"]
    assert y.shape == (1, 1)
    assert abs(float(y[0, 0]) - -1.6) < 0.15


def test_r_style_archive_exports_the_eval_branch(tmp_path: Path) -> None:
    folder = FIXTURES / "r_style"
    result = convert(folder / "model.zip", tmp_path / "r.onnx", folder / "inputs.npz")
    assert result.notes == (
        "R torch archive: exported the eval branch (evalforward); "
        "the archive was saved with training=True",
    )
    assert "aten::dropout" not in result.op_histogram


def test_script_function_has_two_named_inputs(tmp_path: Path) -> None:
    folder = FIXTURES / "script_function"
    result = convert(folder / "model.zip", tmp_path / "f.onnx", folder / "inputs.npz")
    assert [i.name for i in result.inputs] == ["x", "y"]
