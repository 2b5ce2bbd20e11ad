"""End to end on the bundled fixtures: convert, compare with the stored outputs, verify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from converter import ConvertOptions, convert, run, verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Fixture -> extra symbolic dims (input: dims) beyond the default batch.
CONVERTIBLE: dict[str, dict[str | int, tuple[int, ...]]] = {
    "mlp": {},
    "convnet": {},
    "resnet_block": {},
    "transformer_block": {0: (1,)},
    "r_style": {},
    "script_function": {},
    "lstm": {0: (1,)},
    "gpt_decoder": {0: (1,)},
    "scripted_control": {0: (1,)},
    "unet": {},
    "mobilenet": {},
    "bert_encoder": {0: (1,)},
}


def _arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_fixture_converts_with_parity(name: str, tmp_path: Path) -> None:
    folder = FIXTURES / name
    out = tmp_path / f"{name}.onnx"
    options = ConvertOptions(dynamic_dims=CONVERTIBLE[name])
    result = convert(folder / "model.zip", out, folder / "inputs.npz", options=options)
    assert result.warnings == ()
    symbolic = {d for i in result.inputs for d in i.dims if isinstance(d, str)}
    assert len(symbolic) == 1 + sum(len(d) for d in CONVERTIBLE[name].values())
    outputs = run(out, folder / "inputs.npz")
    for actual, expected in zip(outputs.values(), _arrays(folder / "expected.npz"), strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)
    report = verify(folder / "model.zip", out, folder / "inputs.npz")
    assert report.ok, report.to_dict()
    labels = [c.label for c in report.cases]
    assert labels[0] == "example inputs" and labels[2].startswith("resized dims")
    traced, resized = report.cases[0].input_shapes[0], report.cases[2].input_shapes[0]
    assert resized[0] != traced[0]
    for dims in CONVERTIBLE[name].values():
        assert all(resized[d] != traced[d] for d in dims)


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
