"""The public entry points: convert, verify, inspect (each in a worker process), run.

This module stays light: torch, ONNX IR and ONNX Runtime are imported by ``converter.pipeline``
in the worker (or here, on first in-process use), so callers that only read results or refuse a
file on sight never pay for them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from converter._io import atomic_path
from converter.errors import InputError, SourceLocation
from converter.frontend.archive import scan_archive
from converter.frontend.findings import ValidationReport
from converter.inputs import load_inputs
from converter.isolation import isolated
from converter.options import (
    ArchiveLimits,
    ConvertOptions,
    InputSpec,
    Provider,
    VerifyOptions,
    WorkerOptions,
)
from converter.runtime.model_file import check_onnx_file

if TYPE_CHECKING:
    from converter.optimize.report import OptimizeReport
    from converter.plan import Examples
    from converter.runtime.verify import VerifyReport
    from converter.translate.registry import OpRegistry

__all__ = [
    "ConvertResult",
    "InputInfo",
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
class InputInfo:
    """One input of the written ONNX graph: name, ONNX dtype name (``float``, ``int64``), dims."""

    name: str
    dtype: str
    dims: tuple[int | str, ...]


@dataclasses.dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` wrote: the file, its inputs and outputs, findings and timing."""

    output: Path
    opset: int
    inputs: tuple[InputInfo, ...]
    outputs: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    findings: ValidationReport
    op_histogram: dict[str, int]
    seconds: float
    optimization: OptimizeReport | None = None
    verification: VerifyReport | None = None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``convert --json``)."""
        return {
            "output": str(self.output),
            "opset": self.opset,
            "inputs": [
                {"name": i.name, "dtype": i.dtype, "shape": list(i.dims)} for i in self.inputs
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
    verification: VerifyOptions | None = None,
    emit_test_data: PathLike | None = None,
    worker: WorkerOptions | None = None,
) -> ConvertResult:
    """Convert a TorchScript archive to an ONNX file; returns what was written.

    With ``verification`` (or ``emit_test_data=DIR``, which implies it) the written file is
    also checked for parity against the module already loaded, as ``verify`` would, and the
    result carries the report; ``overwrite`` then also replaces a non-empty DIR.
    """
    from converter import pipeline

    return pipeline.convert(
        model,
        output,
        example_inputs,
        input_specs=input_specs,
        options=options,
        registry=registry,
        limits=limits,
        overwrite=overwrite,
        verification=verification,
        emit_test_data=emit_test_data,
    )


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
    from converter import pipeline

    return pipeline.verify(
        model,
        onnx_model,
        example_inputs,
        input_specs=input_specs,
        options=options,
        emit_test_data=emit_test_data,
        force=force,
        limits=limits,
    )


def run(
    onnx_model: PathLike,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray] | PathLike,
    *,
    provider: Provider = "cpu",
    device_id: int = 0,
) -> dict[str, np.ndarray]:
    """Run an ONNX model in ONNX Runtime; returns outputs by name."""
    from converter.runtime.session import Session

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
    from converter import pipeline

    return pipeline.inspect(
        model, example_inputs, input_specs=input_specs, opset=opset, limits=limits
    )


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
