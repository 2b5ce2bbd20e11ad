"""Trace a Python module with checks: tracer warnings, then eager-vs-traced probes."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.jit._trace import TracerWarning

from converter import inputs as gen
from converter._io import atomic_path
from converter._jit import quiet_jit
from converter.errors import SourceLocation, TraceValidationError
from converter.frontend.findings import Finding, ValidationReport
from converter.frontend.load import flatten_outputs, load
from converter.frontend.validate import validate

__all__ = ["TraceResult", "trace"]


@dataclasses.dataclass(frozen=True)
class TraceResult:
    """The traced module and what the checks found."""

    module: torch.jit.ScriptModule
    report: ValidationReport
    saved_to: Path | None


def trace(
    module: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor],
    probe_inputs: Sequence[Sequence[torch.Tensor]] | None = None,
    *,
    dynamic_dims: Mapping[int, Sequence[int]] | None = None,
    strict: bool = True,
    save_to: str | os.PathLike[str] | None = None,
) -> TraceResult:
    """Trace ``module``; refuse (unless ``strict=False``) if the trace lost control flow."""
    examples = tuple(example_inputs)
    with warnings.catch_warnings(record=True) as caught, quiet_jit(), torch.no_grad():
        warnings.simplefilter("always", TracerWarning)
        traced = torch.jit.trace(module, examples, check_trace=False)  # type: ignore[no-untyped-call]
    warned = _tracer_findings(caught)
    dims = dynamic_dims if dynamic_dims is not None else _default_dims(examples)
    probes = [tuple(p) for p in probe_inputs] if probe_inputs else _probes(examples, dims)
    diverged = _divergences(module, traced, probes, warned)
    static = _static_findings(traced)
    findings = sorted(
        {*warned, *diverged, *static}, key=lambda f: {"error": 0, "warning": 1}.get(f.severity, 2)
    )
    report = ValidationReport(tuple(findings))
    if strict and report.errors:
        raise TraceValidationError(type(module).__name__, report.errors)
    saved = None
    if save_to is not None:
        with atomic_path(save_to) as tmp, quiet_jit():
            torch.jit.save(traced, str(tmp))
        saved = Path(save_to)
    return TraceResult(traced, report, saved)


def _tracer_findings(caught: list[warnings.WarningMessage]) -> list[Finding]:
    findings = []
    for w in caught:
        if issubclass(w.category, TracerWarning):
            text = str(w.message).split(". ")[0].rstrip(".")
            findings.append(
                Finding(
                    "tracer-warning",
                    "warning",
                    text,
                    SourceLocation(w.filename, w.lineno),
                    hint="this value is fixed in the trace; script this code or keep it a tensor",
                )
            )
    return findings


def _default_dims(examples: Sequence[torch.Tensor]) -> dict[int, list[int]]:
    return {i: [0] for i, x in enumerate(examples) if x.dim() >= 2}


def _probes(
    examples: Sequence[torch.Tensor], dims: Mapping[int, Sequence[int]]
) -> list[tuple[torch.Tensor, ...]]:
    arrays = [x.detach().cpu().numpy() for x in examples]
    negated = [-a if np.issubdtype(a.dtype, np.floating) else a for a in arrays]
    variants = [gen.revalued(arrays, seed=11), negated]
    if dims:
        variants.append(gen.resized(arrays, {i: list(d) for i, d in dims.items()}, seed=12))
    return [tuple(torch.from_numpy(np.array(a)) for a in v) for v in variants]


def _divergences(
    module: torch.nn.Module,
    traced: torch.jit.ScriptModule,
    probes: Sequence[tuple[torch.Tensor, ...]],
    warned: Sequence[Finding],
) -> list[Finding]:
    where = warned[0].location if warned else None
    findings = []
    for k, probe in enumerate(probes):
        shapes = ", ".join(str(list(x.shape)) for x in probe)
        with torch.no_grad(), quiet_jit():
            try:
                eager = flatten_outputs(module(*probe))
            except Exception:
                continue  # the module itself does not take this probe: nothing to compare
            try:
                got = flatten_outputs(traced(*probe))
            except Exception as e:
                lines = [x for x in str(e).splitlines() if x.strip()]
                problem: str | None = f"the traced graph fails: {lines[-1].strip() if lines else e}"
            else:
                problem = _difference(eager, got)
        if problem:
            findings.append(
                Finding(
                    "eager-divergence",
                    "error",
                    f"probe {k + 1} (inputs {shapes}): {problem}: control flow was lost",
                    where,
                    hint="script the code at the warned line (torch.jit.script) instead of tracing",
                )
            )
    return findings


def _difference(eager: list[np.ndarray], got: list[np.ndarray]) -> str | None:
    if len(eager) != len(got):
        return f"the eager module gives {len(eager)} outputs, the trace {len(got)}"
    for i, (e, g) in enumerate(zip(eager, got, strict=True)):
        if e.shape != g.shape:
            return f"output {i} has shape {list(g.shape)}, the eager module gives {list(e.shape)}"
        if not np.allclose(g, e, rtol=1e-4, atol=1e-5, equal_nan=True):
            diff = float(np.max(np.abs(g.astype(np.float64) - e.astype(np.float64))))
            return f"output {i} differs from the eager module by up to {diff:.3g}"
    return None


def _static_findings(traced: torch.jit.ScriptModule) -> list[Finding]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traced.pt"
        with quiet_jit():
            torch.jit.save(traced, str(path))
        report, _ = validate(load(path))
    return [f for f in report.findings if f.kind != "control-flow"]
