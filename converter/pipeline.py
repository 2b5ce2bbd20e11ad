"""The stages composed: load -> validate -> translate -> optimize -> write -> verify.

``converter.api`` holds the public entry points and runs them in a worker process; this module
is what runs there. It imports torch, ONNX IR and ONNX Runtime, which ``converter.api`` (and the
command line) leave out until a call needs them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir

from converter import __version__
from converter._io import check_output, write_onnx
from converter.api import ConvertResult, InputInfo, InspectReport
from converter.errors import InputError, SourceLocation, TraceValidationError
from converter.frontend.findings import Finding, ValidationReport
from converter.frontend.load import TorchScriptModel, load
from converter.frontend.validate import validate
from converter.metadata import model_properties
from converter.optimize.api import optimize
from converter.optimize.report import OptimizeReport
from converter.options import ArchiveLimits, ConvertOptions, InputSpec, VerifyOptions
from converter.plan import Examples, bind_examples, check_reference, dim_groups, graph_inputs
from converter.runtime.session import Session
from converter.runtime.verify import VerifyReport, verify_session
from converter.testdata import check_target, write_test_data
from converter.translate.ops import default_registry
from converter.translate.registry import OpRegistry
from converter.translate.translator import exported_nodes, op_histogram, translate

__all__ = ["convert", "inspect", "verify"]

PathLike = str | os.PathLike[str]


def convert(
    model: PathLike,
    output: PathLike,
    example_inputs: Examples | None,
    *,
    input_specs: Sequence[InputSpec] | None,
    options: ConvertOptions | None,
    registry: OpRegistry | None,
    limits: ArchiveLimits | None,
    overwrite: bool,
    verification: VerifyOptions | None,
    emit_test_data: PathLike | None,
) -> ConvertResult:
    """Convert, write, and with ``verification`` check parity on the module already loaded."""
    start = time.perf_counter()
    opts = options or ConvertOptions()
    check_output(output, overwrite)
    if emit_test_data is not None:
        check_target(emit_test_data, overwrite)
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
    write_onnx(onnx_model, output, overwrite)
    seconds = time.perf_counter() - start
    checked = None
    if verification is not None or emit_test_data is not None:
        vopts = verification or VerifyOptions()
        checked = _verify_loaded(
            ts, arrays, output, vopts, report.findings, emit_test_data, overwrite
        )
    return ConvertResult(
        output=Path(output),
        opset=opts.opset,
        inputs=tuple(InputInfo(i.name, i.dtype.name.lower(), i.dims) for i in inputs),
        outputs=tuple(o.name or "" for o in onnx_model.graph.outputs),
        warnings=tuple(warnings),
        notes=ts.notes,
        findings=report,
        op_histogram=op_histogram(ts.graph),
        seconds=seconds,
        optimization=optimization,
        verification=checked,
    )


def verify(
    model: PathLike,
    onnx_model: PathLike,
    example_inputs: Examples | None,
    *,
    input_specs: Sequence[InputSpec] | None,
    options: VerifyOptions | None,
    emit_test_data: PathLike | None,
    force: bool,
    limits: ArchiveLimits | None,
) -> VerifyReport:
    """Load the archive and compare the ONNX model with it."""
    if emit_test_data is not None:
        check_target(emit_test_data, force)
    ts = load(model, limits)
    ts, arrays = bind_examples(ts, example_inputs, input_specs)
    findings = _recorded_findings(onnx_model)
    opts = options or VerifyOptions()
    return _verify_loaded(ts, arrays, onnx_model, opts, findings, emit_test_data, force)


def _verify_loaded(
    ts: TorchScriptModel,
    arrays: Sequence[np.ndarray],
    onnx_model: PathLike,
    opts: VerifyOptions,
    findings: Sequence[Finding] | None,
    emit_test_data: PathLike | None,
    force: bool,
) -> VerifyReport:
    session = Session(onnx_model, opts.provider, opts.device_id)
    if len(session.input_names) != len(arrays):
        raise InputError(
            f"{onnx_model}: the ONNX model takes {len(session.input_names)} input(s), "
            f"the archive {len(arrays)}"
        )
    if findings is None:  # not written by convert: check the archive as convert would
        findings = validate(ts, arrays, dim_groups(ts, arrays, ConvertOptions()))[0].findings
    report = verify_session(ts, session, arrays, opts, ts.notes, findings)
    if emit_test_data is not None and report.ok:
        names = (session.input_names, session.output_names)
        write_test_data(emit_test_data, onnx_model, report, *names, force=force)
    return report


def inspect(
    model: PathLike,
    example_inputs: Examples | None,
    *,
    input_specs: Sequence[InputSpec] | None,
    opset: int | None,
    limits: ArchiveLimits | None,
) -> InspectReport:
    """Load the archive and describe it; with examples, probe it too."""
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
