"""Validation findings: what tracing may have lost, where, and what to do about it."""

from __future__ import annotations

import dataclasses
from typing import Literal

from converter.errors import SourceLocation

__all__ = ["KINDS", "Finding", "Severity", "ValidationReport"]

Severity = Literal["error", "warning", "note"]

# Every kind a finding can have, with what it means (shown by `jit2onnx inspect --help`).
KINDS: dict[str, str] = {
    "constant-output": "an output does not depend on any input",
    "unchanging-output": "an output stayed the same for every probe input",
    "training-mode": "dropout or batch statistics recorded in training mode",
    "baked-shape": "a constant size equals the traced size of a dim that should be dynamic",
    "shape-mismatch": "the module fails, or its outputs keep their shape, at another input size",
    "python-control-flow": "a Python if/while on tensor values ran once, at trace time",
    "python-value": "a tensor became a Python number at trace time (int(), float(), .item())",
    "unrolled-loop": "a Python loop over a tensor size was unrolled at its traced length",
    "tracer-warning": "the tracer warned that the trace might not generalize",
    "eager-divergence": "the traced graph and the eager module disagree on a probe input",
    "control-flow": "scripted control flow (prim::If/prim::Loop) the export must carry",
}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing the checks noticed: kind, severity, plain message, where, and a hint."""

    kind: str
    severity: Severity
    message: str
    location: SourceLocation | None = None
    scope: str = ""
    node: str = ""
    hint: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")

    def render(self) -> str:
        """One line, plus an indented hint line when there is one."""
        where = f" {self.location}:" if self.location else ""
        scope = f" [{self.scope}]" if self.scope else ""
        text = f"{self.severity}[{self.kind}]{where} {self.message}{scope}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Finding:
        """Inverse of ``to_dict``."""
        file, line = data.get("file"), data.get("line")
        location = SourceLocation(str(file), int(line)) if file and line else None  # type: ignore[call-overload]
        return cls(
            str(data["kind"]),
            data["severity"],  # type: ignore[arg-type]
            str(data["message"]),
            location,
            str(data.get("scope", "")),
            str(data.get("node", "")),
            str(data.get("hint", "")),
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "scope": self.scope,
            "node": self.node,
            "hint": self.hint,
        }


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """All findings for one archive, errors first."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The error-level findings."""
        return tuple(f for f in self.findings if f.severity == "error")

    def blocking(self, allowed: frozenset[str] = frozenset()) -> tuple[Finding, ...]:
        """Errors whose kind is not in ``allowed``."""
        return tuple(f for f in self.errors if f.kind not in allowed)

    def of_kind(self, kind: str) -> tuple[Finding, ...]:
        """The findings of one kind."""
        return tuple(f for f in self.findings if f.kind == kind)

    def to_dict(self) -> list[dict[str, object]]:
        """A JSON-ready list."""
        return [f.to_dict() for f in self.findings]
