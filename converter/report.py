"""Plain-text renderings of conversion, parity and inspection results."""

from __future__ import annotations

from converter.api import ConvertResult, InspectReport
from converter.metadata import ModelDescription
from converter.runtime.verify import VerifyReport

__all__ = ["format_convert", "format_description", "format_inspect", "format_verify"]


def format_convert(result: ConvertResult) -> str:
    """One summary line, then warnings and notes."""
    ins = ", ".join(
        f"{i.name} {i.dtype}[{','.join(str(d) for d in i.dims)}]" for i in result.inputs
    )
    lines = [
        f"wrote {result.output} (opset {result.opset}; inputs: {ins}; "
        f"outputs: {', '.join(result.outputs)}; {result.seconds:.2f} s)"
    ]
    lines += [f"warning: {w}" for w in result.warnings]
    lines += [f"note: {n}" for n in result.notes]
    lines += [f.render() for f in result.findings.findings if f.severity == "note"]
    return "\n".join(lines)


def format_verify(report: VerifyReport) -> str:
    """A verdict line, then one line per output per case."""
    verdict = "parity OK" if report.ok else "parity FAILED"
    lines = [
        f"{verdict}: {report.onnx_model} vs {report.model} on {report.provider} "
        f"({len(report.cases)} cases)"
    ]
    for case in report.cases:
        shapes = " ".join("x".join(str(d) for d in s) or "scalar" for s in case.input_shapes)
        lines.append(f"  {case.label} [{shapes}]: {'ok' if case.ok else 'FAILED'}")
        if case.error:
            lines.append(f"    {case.error}")
        for out in case.outputs:
            status = "ok" if out.ok else "MISMATCH"
            if out.mismatched < 0:
                detail = (
                    f"expected {out.expected_dtype}{list(out.expected_shape)}, "
                    f"got {out.actual_dtype}{list(out.actual_shape)}"
                )
            else:
                detail = (
                    f"max abs {out.max_abs:.3g}, max rel {out.max_rel:.3g} "
                    f"(rtol {out.tolerance.rtol:g}, atol {out.tolerance.atol:g})"
                )
                if out.mismatched:
                    detail += f", {out.mismatched} element(s) out of tolerance"
            lines.append(f"    {out.name}: {detail}: {status}")
    lines += [f"note: {n}" for n in report.notes]
    lines += [f.render() for f in report.findings]
    return "\n".join(lines)


def format_inspect(report: InspectReport) -> str:
    """Inputs, operator histogram and unsupported operators."""
    lines = [f"{report.model}", f"  inputs: {', '.join(report.inputs) or '(none)'}", "  operators:"]
    for kind, count in report.op_histogram.items():
        mark = "  (unsupported)" if kind in report.unsupported else ""
        lines.append(f"    {kind} x{count}{mark}")
    if report.unsupported:
        lines.append(f"  unsupported: {', '.join(sorted(report.unsupported))}")
    else:
        lines.append("  unsupported: none")
    lines += [f"  note: {n}" for n in report.notes]
    findings = report.findings.findings
    lines.append(f"  findings: {len(findings) or 'none'}")
    lines += ["    " + f.render().replace("\n", "\n    ") for f in findings]
    return "\n".join(lines)


def format_description(desc: ModelDescription) -> str:
    """An ONNX file's inputs, outputs, tolerances and the metadata convert recorded."""
    lines = [f"{desc.path}", f"  opset: {desc.opset}"]
    if desc.version is not None:
        lines.append(f"  written by jit2onnx {desc.version}")
    if desc.source_sha256 is not None:
        lines.append(f"  source archive sha256: {desc.source_sha256}")
    if desc.precision is not None:
        lines.append(f"  precision: {desc.precision}")
    for title, infos in (("inputs", desc.inputs), ("outputs", desc.outputs)):
        lines.append(f"  {title}:")
        for info in infos:
            dims = ",".join("?" if d is None else str(d) for d in info.shape)
            tol = desc.tolerances.get(info.name) if title == "outputs" else None
            extra = f"  (rtol {tol.rtol:g}, atol {tol.atol:g})" if tol else ""
            lines.append(f"    {info.name} {info.dtype}[{dims}]{extra}")
    lines += [f"  note: {n}" for n in desc.notes]
    if desc.version is not None:
        lines.append(f"  findings: {len(desc.findings) or 'none'}")
        lines += ["    " + f.render().replace("\n", "\n    ") for f in desc.findings]
    return "\n".join(lines)
