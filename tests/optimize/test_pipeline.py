"""The optimizer as a whole: levels, the report, errors naming the pass, per-pass parity."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import onnx_ir as ir
import pytest

from converter import ConvertOptions, OptimizationError, ParityError, convert, optimize, verify
from tests.optimize.helpers import ops, outputs

# The passes of each level (``converter.optimize`` is also the public function's name).
optimize_package = importlib.import_module("converter.optimize.levels")
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RNG = np.random.default_rng(0)
W = ", ".join(f"{v:.5f}" for v in RNG.uniform(-1, 1, 36))
BN = "float[4] s = {1, 2, 3, 4}, float[4] b = {0, 1, 0, 1}, float[4] m = {0, 0, 1, 1}"
TEXT = f"""
    <ir_version: 10, opset_import: ["" : 18]>
    g (float[N, 1, 5, 5] x) => (float[N, 4, 3, 3] y, float[N, 4, 3, 3] z)
    <float[4, 1, 3, 3] w = {{{W}}}, float[4, 1, 3, 3] w2 = {{{W}}}, {BN},
     float[4] v = {{1, 1, 2, 2}}> {{
      one = Constant <value = float {{1.0}}> ()
      c = Conv(x, w)
      n = BatchNormalization(c, s, b, m, v)
      r = Relu(n)
      y = Mul(r, one)
      c2 = Conv(x, w2)
      z = Relu(c2)
    }}
"""
FEEDS = {"x": RNG.standard_normal((2, 1, 5, 5)).astype(np.float32)}


def _model() -> ir.Model:
    return ir.from_onnx_text(TEXT)


def test_level_2_folds_fuses_and_reports_each_pass() -> None:
    model = _model()
    expected = outputs(model, FEEDS)
    optimized, report = optimize(model, 2)
    assert optimized is model
    assert ops(model) == {"Conv": 2, "Relu": 2}
    assert len(model.graph.initializers) == 3  # w, w2 merged; fused weight and bias
    for a, e in zip(outputs(model, FEEDS), expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5)
    assert (report.nodes_before, report.nodes_after) == (7, 4)
    fused = next(p for p in report.passes if p.name == "fuse-conv-batchnorm" and p.modified)
    assert fused.removed == {"BatchNormalization": 1} and fused.added == {}
    assert fused.nodes_before - fused.nodes_after == 1 and fused.seconds >= 0
    assert "fuse-conv-batchnorm (round 1): " in report.render()
    assert report.to_dict()["passes"][0]["name"] == "infer-shapes"


def test_level_1_does_not_fuse_and_level_0_changes_nothing() -> None:
    model = _model()
    optimize(model, 1)
    assert ops(model) == {"Conv": 2, "BatchNormalization": 1, "Relu": 2}
    untouched = _model()
    _, report = optimize(untouched, 0)
    assert report.passes == () and len(list(untouched.graph)) == 7


def test_unknown_disabled_pass_is_refused() -> None:
    with pytest.raises(OptimizationError, match=r"unknown pass name\(s\): fuse-everything"):
        optimize(_model(), 2, disabled_passes={"fuse-everything"})


class _Explodes(ir.passes.InPlacePass):
    def call(self, model: ir.Model) -> ir.passes.PassResult:
        raise ValueError("boom")


class _Breaks(ir.passes.InPlacePass):
    """Turns the first Relu into a Sigmoid: still valid, numerically wrong."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        node = next(n for n in model.graph if n.op_type == "Relu")
        sigmoid = ir.node("Sigmoid", [node.inputs[0]])
        model.graph.insert_before(node, sigmoid)
        node.replace_input_with(0, sigmoid.outputs[0])
        return ir.passes.PassResult(model, modified=True)


def _with(monkeypatch: pytest.MonkeyPatch, name: str, p: ir.passes.PassBase) -> None:
    original = optimize_package.pipeline

    def patched(
        level: int, contrib: bool = False, float16: bool = False
    ) -> tuple[list[object], list[object]]:
        repeated, final = original(level, contrib, float16)
        return [*repeated[:3], (name, p), *repeated[3:]], final

    monkeypatch.setattr(optimize_package, "pipeline", patched)
    monkeypatch.setattr(optimize_package, "pass_names", lambda *_: [name])


def test_a_failing_pass_raises_naming_the_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, "explode", _Explodes())
    with pytest.raises(OptimizationError, match=r"^optimization pass 'explode' failed: Value"):
        optimize(_model(), 2)


def test_check_each_pass_names_the_first_pass_that_breaks_parity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with(monkeypatch, "break-relu", _Breaks())
    optimize(_model(), 2)  # without the check nothing notices
    with pytest.raises(ParityError, match=r"^pass 'break-relu' broke parity: output 'y' max abs"):
        optimize(_model(), 2, check_each_pass=True, inputs=FEEDS)
    with pytest.raises(ParityError, match=r"^pass 'break-relu' broke parity"):
        optimize(_model(), 2, check_each_pass=True)  # inputs generated from the input types


def test_tied_output_head_stays_one_initializer_and_the_file_does_not_grow(
    tmp_path: Path,
) -> None:
    folder = FIXTURES / "gpt_decoder"
    sizes = {}
    for level in (0, 2):
        out = tmp_path / f"gpt{level}.onnx"
        options = ConvertOptions(dynamic_dims={0: (1,)}, optimize_level=level)
        result = convert(folder / "model.zip", out, folder / "inputs.npz", options=options)
        assert (result.optimization is None) == (level == 0)
        sizes[level] = out.stat().st_size
    assert sizes[2] <= sizes[0]
    model = ir.load(tmp_path / "gpt2.onnx")
    shapes = [tuple(v.const_value.shape) for v in model.graph.initializers.values()]
    assert sorted(s for s in shapes if 50 in s) == [(50, 32)]  # the embedding, once


def test_onnxruntime_contrib_ops_only_when_asked(tmp_path: Path) -> None:
    folder = FIXTURES / "bert_encoder"
    domains = {}
    for contrib in (False, True):
        out = tmp_path / f"bert{contrib}.onnx"
        options = ConvertOptions(dynamic_dims={0: (1,)}, onnxruntime_contrib=contrib)
        result = convert(folder / "model.zip", out, folder / "inputs.npz", options=options)
        assert verify(folder / "model.zip", out, folder / "inputs.npz").ok
        domains[contrib] = {n.domain for n in ir.load(out).graph}
        assert result.optimization is not None
        added = {op for p in result.optimization.passes for op in p.added}
        assert ("com.microsoft::SkipLayerNormalization" in added) == contrib
    assert domains[False] == {""}
    assert "com.microsoft" in domains[True]
