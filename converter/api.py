"""The public pipeline: load -> validate -> translate -> check -> write; verify, run, inspect."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir

from converter import __version__
from converter._io import atomic_path, check_output, write_onnx
from converter.errors import InputError, SourceLocation, TraceValidationError
from converter.frontend.archive import scan_archive
from converter.frontend.findings import Finding, ValidationReport
from converter.frontend.load import TorchScriptModel, load
from converter.frontend.validate import validate
from converter.inputs import load_inputs
from converter.isolation import isolated
from converter.metadata import model_properties
from converter.optimize.api import optimize
from converter.optimize.report import OptimizeReport
from converter.options import (
    ArchiveLimits,
    ConvertOptions,
    InputSpec,
    Provider,
    VerifyOptions,
    WorkerOptions,
)
from converter.plan import Examples, bind_examples, check_reference, dim_groups, graph_inputs
from converter.runtime.model_file import check_onnx_file
from converter.runtime.session import Session
from converter.runtime.verify import VerifyReport, verify_session
from converter.testdata import check_target, write_test_data
from converter.translate.ops import default_registry
from converter.translate.registry import OpRegistry
from converter.translate.translator import GraphInput, exported_nodes, op_histogram, translate

__all__ = [
    "ConvertResult",
    "InspectReport",
    "convert",
    "inspect",
    "run",
    "save_outputs",
    "summarize_outputs",
    "verify",
]

PathLike = str | os.PathLike[str]


@dataclasses.dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` wrote: the file, its inputs and outputs, findings and timing."""

    output: Path
    opset: int
    inputs: tuple[GraphInput, ...]
    outputs: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    findings: ValidationReport
    op_histogram: dict[str, int]
    seconds: float
    optimization: OptimizeReport | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``convert --json``)."""
        return {
            "output": str(self.output),
            "opset": self.opset,
            "inputs": [
                {"name": i.name, "dtype": i.dtype.name.lower(), "shape": list(i.dims)}
                for i in self.inputs
            ],
            "outputs": list(self.outputs),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "findings": self.findings.to_dict(),
            "op_histogram": self.op_histogram,
            "seconds": round(self.seconds, 3),
            "optimization": self.optimization.to_dict() if self.optimization else None,
        }


@dataclasses.dataclass(frozen=True)
class InspectReport:
    """An archive's inputs, operator histogram, unsupported operators and findings."""

    model: Path
    inputs: tuple[str, ...]
    op_histogram: dict[str, int]
    unsupported: dict[str, list[SourceLocation | None]]
    notes: tuple[str, ...]
    findings: ValidationReport

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``inspect --json``)."""
        return {
            "model": str(self.model),
            "inputs": list(self.inputs),
            "op_histogram": self.op_histogram,
            "unsupported": {
                k: [str(loc) if loc else None for loc in v] for k, v in self.unsupported.items()
            },
            "notes": list(self.notes),
            "findings": self.findings.to_dict(),
        }


def _scan(model: PathLike, *args: object, limits: ArchiveLimits | None = None, **_: object) -> None:
    """The pre-scan of the archive, before any worker starts."""
    scan_archive(model, limits)


def _scan_both(
    model: PathLike,
    onnx_model: PathLike,
    *args: object,
    limits: ArchiveLimits | None = None,
    **_: object,
) -> None:
    """The pre-scan of the archive and the checks of the ONNX file, before any worker starts."""
    scan_archive(model, limits)
    check_onnx_file(onnx_model)


@isolated(precheck=_scan)
def convert(
    model: PathLike,
    output: PathLike,
    example_inputs: Examples | None = None,
    *,
    input_specs: Sequence[InputSpec] | None = None,
    options: ConvertOptions | None = None,
    registry: OpRegistry | None = None,
    limits: ArchiveLimits | None = None,
    overwrite: bool = False,
    worker: WorkerOptions | None = None,
) -> ConvertResult:
    """Convert a TorchScript archive to an ONNX file; returns what was written."""
    start = time.perf_counter()
    opts = options or ConvertOptions()
    check_output(output, overwrite)
    ts = load(model, limits)
    ts, arrays = bind_examples(ts, example_inputs, input_specs)
    check_reference(ts, arrays)
    groups = dim_groups(ts, arrays, opts)
    report, failing = validate(ts, arrays, groups)
    blocking = report.blocking(opts.allow_findings)
    if blocking:
        raise TraceValidationError(str(ts.path), blocking)
    kept = [g for g in groups if g.name not in failing]
    warnings = [f"dim {g.name!r} kept static at {g.size}" for g in groups if g.name in failing]
    warnings += [f.render().splitlines()[0] for f in report.findings if f.severity != "note"]
    inputs = graph_inputs(ts, arrays, kept)
    sizes = {g.name: g.size for g in kept}
    onnx_model = translate(ts, inputs, registry or default_registry(), opts.opset, sizes)
    optimization = _optimize(onnx_model, ts, arrays, opts)
    _add_metadata(onnx_model, ts, report, opts.opset)
    _write_checked(onnx_model, output, overwrite)
    return ConvertResult(
        output=Path(output),
        opset=opts.opset,
        inputs=tuple(inputs),
        outputs=tuple(o.name or "" for o in onnx_model.graph.outputs),
        warnings=tuple(warnings),
        notes=ts.notes,
        findings=report,
        op_histogram=op_histogram(ts.graph),
        seconds=time.perf_counter() - start,
        optimization=optimization,
    )


def _optimize(
    model: ir.Model, ts: TorchScriptModel, arrays: Sequence[np.ndarray], opts: ConvertOptions
) -> OptimizeReport | None:
    """Run the optimizer at the options' level; with check_each_pass, against TorchScript."""
    if opts.optimize_level == 0 and not opts.float16:
        return None
    reference = ts.run_arrays(arrays) if opts.check_each_pass else None
    _, report = optimize(
        model,
        opts.optimize_level,
        disabled_passes=opts.disabled_passes,
        check_each_pass=opts.check_each_pass,
        inputs=list(arrays),
        reference=reference,
        onnxruntime_contrib=opts.onnxruntime_contrib,
        float16=opts.float16,
    )
    return report


@isolated(precheck=_scan_both)
def verify(
    model: PathLike,
    onnx_model: PathLike,
    example_inputs: Examples | None = None,
    *,
    input_specs: Sequence[InputSpec] | None = None,
    options: VerifyOptions | None = None,
    emit_test_data: PathLike | None = None,
    force: bool = False,
    limits: ArchiveLimits | None = None,
    worker: WorkerOptions | None = None,
) -> VerifyReport:
    """Compare an ONNX model with its TorchScript original on several feeds; returns a report.

    With ``emit_test_data=DIR`` and parity, also writes the cases as an ONNX test-case directory
    (``force`` replaces a non-empty DIR).
    """
    opts = options or VerifyOptions()
    if emit_test_data is not None:
        check_target(emit_test_data, force)
    ts = load(model, limits)
    ts, arrays = bind_examples(ts, example_inputs, input_specs)
    session = Session(onnx_model, opts.provider, opts.device_id)
    if len(session.input_names) != len(arrays):
        raise InputError(
            f"{onnx_model}: the ONNX model takes {len(session.input_names)} input(s), "
            f"the archive {len(arrays)}"
        )
    findings = _recorded_findings(onnx_model)
    if findings is None:  # not written by convert: check the archive as convert would
        findings = validate(ts, arrays, dim_groups(ts, arrays, ConvertOptions()))[0].findings
    report = verify_session(ts, session, arrays, opts, ts.notes, findings)
    if emit_test_data is not None and report.ok:
        names = (session.input_names, session.output_names)
        write_test_data(emit_test_data, onnx_model, report, *names, force=force)
    return report


def run(
    onnx_model: PathLike,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray] | PathLike,
    *,
    provider: Provider = "cpu",
    device_id: int = 0,
) -> dict[str, np.ndarray]:
    """Run an ONNX model in ONNX Runtime; returns outputs by name."""
    session = Session(onnx_model, provider, device_id)
    if isinstance(inputs, str | os.PathLike):
        inputs = load_inputs(inputs, session.input_names)
    if isinstance(inputs, Mapping):
        feeds = dict(inputs)
    else:
        if len(inputs) != len(session.input_names):
            raise InputError(
                f"{onnx_model}: the model takes {len(session.input_names)} input(s) "
                f"({', '.join(session.input_names)}) but {len(inputs)} were given"
            )
        feeds = dict(zip(session.input_names, inputs, strict=True))
    return dict(zip(session.output_names, session.run(feeds), strict=True))


@isolated(precheck=_scan)
def inspect(
    model: PathLike,
    example_inputs: Examples | None = None,
    *,
    input_specs: Sequence[InputSpec] | None = None,
    opset: int | None = None,
    limits: ArchiveLimits | None = None,
    worker: WorkerOptions | None = None,
) -> InspectReport:
    """Describe an archive: inputs, operators, unsupported operators and trace findings."""
    ts = load(model, limits)
    target = opset or ConvertOptions().opset
    reg = default_registry()
    unsupported: dict[str, list[SourceLocation | None]] = {}
    for node in exported_nodes(ts.graph):
        if reg.lookup(node.kind, node.overload, target) is None:
            unsupported.setdefault(node.qualified_kind, []).append(node.location)
    if example_inputs is None and input_specs is None:
        findings, _ = validate(ts)
    else:
        ts, arrays = bind_examples(ts, example_inputs, input_specs)
        check_reference(ts, arrays)
        findings, _ = validate(ts, arrays, dim_groups(ts, arrays, ConvertOptions()))
    histogram = op_histogram(ts.graph)
    return InspectReport(ts.path, ts.input_names, histogram, unsupported, ts.notes, findings)


def save_outputs(
    path: PathLike, outputs: Mapping[str, np.ndarray], *, overwrite: bool = False
) -> None:
    """Write outputs by name to an .npz file, atomically."""
    with atomic_path(path, overwrite) as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **dict(outputs))  # type: ignore[arg-type]


def summarize_outputs(outputs: Mapping[str, np.ndarray]) -> list[dict[str, object]]:
    """Name, dtype, shape and value range of each output."""
    summary: list[dict[str, object]] = []
    for name, array in outputs.items():
        values = array.astype(np.float64) if array.size else np.zeros(1)
        finite = bool(np.isfinite(values).any())
        summary.append(
            {
                "name": name,
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "min": float(np.nanmin(values)) if finite else float("nan"),
                "max": float(np.nanmax(values)) if finite else float("nan"),
                "mean": float(np.nanmean(values)) if finite else float("nan"),
            }
        )
    return summary


def _recorded_findings(onnx_model: PathLike) -> tuple[Finding, ...] | None:
    """The findings convert stored in the model's metadata, if any."""
    try:
        proto = onnx.load(str(onnx_model), load_external_data=False)
    except Exception:  # ONNX Runtime already loaded it; unreadable metadata is not fatal
        return None
    props = {p.key: p.value for p in proto.metadata_props}
    if "jit2onnx.version" not in props:
        return None
    return tuple(Finding.from_dict(d) for d in json.loads(props.get("jit2onnx.findings", "[]")))


def _add_metadata(
    model: ir.Model, ts: TorchScriptModel, report: ValidationReport, opset: int
) -> None:
    digest = hashlib.sha256(ts.path.read_bytes()).hexdigest()
    props = model_properties(
        model,
        version=__version__,
        opset=opset,
        source_sha256=digest,
        findings=report.findings,
        notes=ts.notes,
    )
    model.metadata_props.update(props)


def _write_checked(model: ir.Model, output: PathLike, overwrite: bool) -> None:
    write_onnx(model, output, overwrite)
