"""Parity: run TorchScript and ONNX Runtime on the same feeds and compare every output."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from converter import inputs as gen
from converter.errors import ParityError, error_line
from converter.frontend.findings import Finding
from converter.metadata import recorded_tolerances
from converter.options import VerifyOptions
from converter.runtime.compare import OutputDiff, compare

if TYPE_CHECKING:
    from converter.frontend.load import TorchScriptModel
    from converter.runtime.session import Session

__all__ = ["CaseReport", "VerifyReport", "verify_session"]


@dataclasses.dataclass(frozen=True)
class CaseReport:
    """One feed: its input shapes and the comparison of every output (or why it could not run)."""

    label: str
    input_shapes: tuple[tuple[int, ...], ...]
    outputs: tuple[OutputDiff, ...]
    error: str | None = None
    # The feeds and TorchScript's outputs on them (not part of to_dict), for test-data files.
    feeds: tuple[np.ndarray, ...] = dataclasses.field(default=(), repr=False, compare=False)
    expected: tuple[np.ndarray, ...] = dataclasses.field(default=(), repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True if the case ran and every output matched."""
        return self.error is None and all(o.ok for o in self.outputs)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "label": self.label,
            "input_shapes": [list(s) for s in self.input_shapes],
            "ok": self.ok,
            "error": self.error,
            "outputs": [o.to_dict() for o in self.outputs],
        }


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """Parity of an ONNX model with its TorchScript original over several feeds."""

    model: str
    onnx_model: str
    provider: str
    cases: tuple[CaseReport, ...]
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """True if every case passed."""
        return bool(self.cases) and all(c.ok for c in self.cases)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``verify --json``)."""
        return {
            "model": self.model,
            "onnx_model": self.onnx_model,
            "provider": self.provider,
            "ok": self.ok,
            "notes": list(self.notes),
            "findings": [f.to_dict() for f in self.findings],
            "cases": [c.to_dict() for c in self.cases],
        }

    def raise_for_failure(self) -> None:
        """Raise ParityError if any case failed."""
        if not self.ok:
            failed = [c.label for c in self.cases if not c.ok]
            raise ParityError(f"{self.onnx_model}: parity failed for {', '.join(failed)}", self)


def verify_session(
    ts: TorchScriptModel,
    session: Session,
    examples: Sequence[np.ndarray],
    options: VerifyOptions,
    notes: Sequence[str] = (),
    findings: Sequence[Finding] = (),
) -> VerifyReport:
    """Compare TorchScript and the session on the examples plus generated feeds."""
    options = _with_recorded(session, options)
    cases = [_case(ts, session, "example inputs", examples, options)]
    dynamic = session.symbolic_dims()
    for k in range(options.extra_inputs):
        seed = options.seed + k + 1
        if k % 2 == 1 and dynamic:
            sizes = ", ".join(f"{session.input_names[i]}:{list(d)}" for i, d in dynamic.items())
            feeds = gen.resized(examples, dynamic, seed)
            cases.append(_case(ts, session, f"resized dims {sizes}", feeds, options))
        else:
            cases.append(
                _case(
                    ts,
                    session,
                    f"random values (seed {seed})",
                    gen.revalued(examples, seed),
                    options,
                )
            )
    return VerifyReport(
        str(ts.path), session.label, session.provider, tuple(cases), tuple(notes), tuple(findings)
    )


def _with_recorded(session: Session, options: VerifyOptions) -> VerifyOptions:
    """Without a tolerance given, the per-output tolerances the file records (if readable)."""
    if options.tolerance is not None or options.per_output:
        return options
    try:
        recorded = recorded_tolerances(session.metadata)
    except (ValueError, KeyError, TypeError):  # malformed metadata: the defaults by dtype
        return options
    return dataclasses.replace(options, per_output=recorded)


def _case(
    ts: TorchScriptModel,
    session: Session,
    label: str,
    feeds: Sequence[np.ndarray],
    options: VerifyOptions,
) -> CaseReport:
    shapes = tuple(tuple(a.shape) for a in feeds)
    try:
        expected = ts.run_arrays(feeds)
    except Exception as e:
        first = error_line(e)
        return CaseReport(label, shapes, (), f"TorchScript fails on these inputs: {first}")
    actual = session.run(dict(zip(session.input_names, feeds, strict=True)))
    if len(actual) != len(expected):
        error = f"ONNX gives {len(actual)} outputs, TorchScript {len(expected)}"
        return CaseReport(label, shapes, (), error)
    diffs = tuple(
        compare(name, e, a, options.tolerance or options.per_output.get(name))
        for name, e, a in zip(session.output_names, expected, actual, strict=True)
    )
    return CaseReport(label, shapes, diffs, feeds=tuple(feeds), expected=tuple(expected))
