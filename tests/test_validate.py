"""Trace validation: each failure mode of tracing is found, with its kind and file:line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from converter import ConvertOptions, TraceValidationError, convert, inspect, trace, verify
from tests import trace_models as tm
from tests.harness import save_archive

SOURCE = Path(tm.__file__)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def mark(name: str) -> int:
    """The line of ``# MARK:name`` in tests/trace_models.py."""
    for number, text in enumerate(SOURCE.read_text().splitlines(), start=1):
        if f"# MARK:{name}" in text:
            return number
    raise AssertionError(name)


def where(finding: object) -> tuple[str, int]:
    loc = finding.location  # type: ignore[attr-defined]
    return Path(loc.file).name, loc.line


def findings(module: torch.nn.Module, x: torch.Tensor, tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    archive = save_archive(module, [x], tmp_path / "m.pt")
    return inspect(archive, [x], **options).findings  # type: ignore[arg-type]


# ---- from an archive ------------------------------------------------------------------------


def test_archive_data_dependent_if(tmp_path: Path) -> None:
    report = findings(tm.DataIf(), torch.rand(2, 3), tmp_path)
    (found,) = report.of_kind("python-control-flow")
    assert found.severity == "warning" and where(found) == (SOURCE.name, mark("if"))


def test_archive_constant_output(tmp_path: Path) -> None:
    report = findings(tm.ConstantIf(), torch.rand(2, 3), tmp_path)
    (found,) = report.of_kind("constant-output")
    assert found.severity == "error" and where(found) == (SOURCE.name, mark("const"))
    report = findings(tm.ConstantOutput(), torch.rand(2, 3), tmp_path)
    (found,) = report.of_kind("constant-output")
    assert where(found) == (SOURCE.name, mark("ones"))


def test_archive_int_and_float_from_tensors(tmp_path: Path) -> None:
    report = findings(tm.IntSlice(), torch.rand(2, 8) * 5, tmp_path)
    (found,) = report.of_kind("python-value")
    assert where(found) == (SOURCE.name, mark("int")) and "int()" in found.message
    report = findings(tm.FloatMean(), torch.randn(2, 3), tmp_path)
    (found,) = report.of_kind("python-value")
    assert where(found) == (SOURCE.name, mark("float")) and "float()" in found.message


def test_archive_loop_over_size(tmp_path: Path) -> None:
    report = findings(tm.LoopOverSize(), torch.randn(3, 4), tmp_path)
    (loop,) = report.of_kind("unrolled-loop")
    assert where(loop) == (SOURCE.name, mark("for"))
    (shape,) = report.of_kind("shape-mismatch")
    assert "dim 'batch' (traced at 3): output 0 has shape [3, 4] at size 5" in shape.message


def test_archive_baked_batch_is_named_and_kept_static(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4)
    report = findings(tm.BakedView(), x, tmp_path)
    (found,) = report.of_kind("baked-shape")
    assert found.severity == "warning" and where(found) == (SOURCE.name, mark("view"))
    assert "aten::view uses the constant size 2, the traced size of dim 'batch'" in found.message
    archive = tmp_path / "m.pt"
    result = convert(archive, tmp_path / "m.onnx", [x])
    assert result.inputs[0].dims == (2, 3, 4)
    assert "dim 'batch' kept static at 2" in result.warnings
    assert verify(archive, tmp_path / "m.onnx", [x]).ok


def test_archive_baked_dim_asked_for_explicitly_is_refused(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4)
    archive = save_archive(tm.BakedView(), [x], tmp_path / "m.pt")
    options = ConvertOptions(dynamic_dims={0: (0,)})
    with pytest.raises(TraceValidationError) as info:
        convert(archive, tmp_path / "m.onnx", [x], options=options)
    assert [f.kind for f in info.value.findings] == ["baked-shape"]
    assert not (tmp_path / "m.onnx").exists()
    allowed = ConvertOptions(dynamic_dims={0: (0,)}, allow_findings=frozenset({"baked-shape"}))
    result = convert(archive, tmp_path / "m.onnx", [x], options=allowed)
    assert result.inputs[0].dims[0] == 2


def test_no_false_alarm_on_view_with_size(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4)
    report = findings(tm.DynamicView(), x, tmp_path)
    assert report.findings == ()
    result = convert(tmp_path / "m.pt", tmp_path / "m.onnx", [x])
    assert result.inputs[0].dims[0] == "batch" and result.warnings == ()


@pytest.mark.parametrize(
    ("make", "x", "kind"),
    [
        (tm.dropout_net, torch.randn(2, 4), "aten::dropout"),
        (tm.batchnorm_net, torch.randn(2, 3, 8, 8), "aten::batch_norm"),
    ],
)
def test_archive_training_mode(make, x, kind, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    module = make().train()
    with torch.no_grad():
        archive = save_archive(module, [x], tmp_path / "m.pt")
    report = inspect(archive).findings
    (found,) = report.of_kind("training-mode")
    assert found.severity == "error" and found.message.startswith(
        f"{kind} was recorded in training"
    )
    assert ".eval()" in found.hint
    with pytest.raises(TraceValidationError, match="training-mode"):
        convert(archive, tmp_path / "m.onnx", [x])


def test_posted_convnet_is_refused_naming_the_three_batchnorms(tmp_path: Path) -> None:
    folder = FIXTURES / "convnet_as_posted"
    with pytest.raises(TraceValidationError) as info:
        convert(folder / "model.zip", tmp_path / "c.onnx", folder / "inputs.npz")
    scopes = [f.scope for f in info.value.findings]
    assert scopes == [f"convnet(Sequential).{i}(BatchNorm2d)" for i in (1, 4, 7)]
    assert all("call .eval() before tracing" in f.hint for f in info.value.findings)
    assert "submodule traced on its own" in info.value.findings[0].hint


@pytest.mark.parametrize(
    "name", ["mlp", "convnet", "resnet_block", "transformer_block", "r_style", "script_function"]
)
def test_clean_fixtures_have_no_error_findings(name: str) -> None:
    folder = FIXTURES / name
    report = inspect(folder / "model.zip", folder / "inputs.npz").findings
    assert report.errors == ()


# ---- from Python: jit2onnx traces ---------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "x", "line"),
    [
        (tm.DataIf(), torch.rand(2, 3), "if"),
        (tm.IntSlice(), torch.rand(2, 8) * 5, "int"),
        (tm.FloatMean(), torch.randn(2, 3), "float"),
    ],
)
def test_trace_finds_lost_control_flow_at_the_warned_line(module, x, line) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TraceValidationError) as info:
        trace(module, [x])
    assert {f.kind for f in info.value.findings} == {"eager-divergence"}
    assert where(info.value.findings[0]) == (SOURCE.name, mark(line))
    result = trace(module, [x], strict=False)
    warned = result.report.of_kind("tracer-warning")
    assert warned and where(warned[0]) == (SOURCE.name, mark(line))


def test_trace_finds_the_unrolled_loop_by_resizing() -> None:
    with pytest.raises(TraceValidationError) as info:
        trace(tm.LoopOverSize(), [torch.randn(3, 4)])
    (found,) = info.value.findings
    assert found.kind == "eager-divergence"
    assert "output 0 has shape [3, 4], the eager module gives [5, 4]" in found.message


def test_trace_of_a_clean_module_saves_the_archive(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4)
    result = trace(tm.DynamicView(), [x], save_to=tmp_path / "ok.pt")
    assert result.report.errors == ()
    assert result.saved_to == tmp_path / "ok.pt"
    out = tmp_path / "ok.onnx"
    convert(result.saved_to, out, [x])
    assert verify(result.saved_to, out, [np.asarray(x)]).ok


def test_trace_refuses_training_mode() -> None:
    with pytest.raises(TraceValidationError, match="training-mode"):
        trace(tm.dropout_net().train(), [torch.randn(2, 4)])


def test_warnings_are_kept_in_the_onnx_metadata(tmp_path: Path) -> None:
    import json

    import onnx

    x = torch.randn(2, 3, 4)
    archive = save_archive(tm.BakedView(), [x], tmp_path / "m.pt")
    convert(archive, tmp_path / "m.onnx", [x])
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    kinds = [f["kind"] for f in json.loads(props["jit2onnx.findings"])]
    assert kinds == ["baked-shape"]


def test_verify_report_includes_findings(tmp_path: Path) -> None:
    x = torch.randn(2, 3, 4)
    archive = save_archive(tm.BakedView(), [x], tmp_path / "m.pt")
    convert(archive, tmp_path / "m.onnx", [x])
    report = verify(archive, tmp_path / "m.onnx", [x])
    assert report.ok
    assert [f.kind for f in report.findings] == ["baked-shape"]
    assert report.to_dict()["findings"][0]["line"] == mark("view")
