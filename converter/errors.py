"""Exception hierarchy and source locations shared by every stage."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from converter.frontend.findings import Finding

__all__ = [
    "ConversionError",
    "ConversionWarning",
    "InputError",
    "InternalError",
    "ModelLoadError",
    "OptimizationError",
    "OutputExistsError",
    "ParityError",
    "RuntimeSessionError",
    "SourceLocation",
    "TraceValidationError",
    "TranslationError",
    "UnsafeModelError",
    "UnsupportedOpsError",
    "WorkerError",
    "error_line",
]


@dataclasses.dataclass(frozen=True)
class SourceLocation:
    """Where a TorchScript node came from: a file, a line and the line's text when known."""

    file: str
    line: int
    text: str = ""
    # True when the line is where torch.jit.trace was called, not the traced code itself
    # (built-in modules such as nn.Linear have no user code of their own).
    call_site: bool = False
    # True when the tracer recorded it; scripted code keeps its control flow in the graph.
    traced: bool = False

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    @classmethod
    def from_source_range(cls, source_range: str) -> SourceLocation | None:
        """Parse TorchScript's ``node.sourceRange()`` text; prefer the user's own frame."""
        frames = [
            (m.group(1), int(m.group(2)))
            for m in re.finditer(r"^(\S.*?)\((\d+)\): \S+$", source_range, re.MULTILINE)
        ]
        # Frames from the tracer inward are the traced code; outward is the trace call site.
        cut = next((i for i, f in enumerate(frames) if f[0].endswith("torch/jit/_trace.py")), None)
        inner = frames[:cut]
        user = [f for f in inner if not _is_library_file(f[0])]
        if user:
            return cls(user[0][0], user[0][1], traced=True)
        outer = [f for f in frames[len(inner) :] if not _is_library_file(f[0])]
        if outer:
            return cls(outer[0][0], outer[0][1], call_site=True, traced=True)
        match = re.search(r'File "([^"]+)", line (\d+)\n(.*)', source_range)
        if match:
            return cls(match.group(1), int(match.group(2)), match.group(3).strip())
        if frames:
            return cls(frames[0][0], frames[0][1], traced=True)
        return None


def _is_library_file(path: str) -> bool:
    normalized = path.replace("\\", "/")
    return "/site-packages/torch/" in normalized or "/dist-packages/torch/" in normalized


def error_line(error: BaseException) -> str:
    """The one line of a library's exception worth showing (TorchScript's last line)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].startswith("The following operation failed in the TorchScript interpreter"):
        return lines[-1]
    return lines[0]


class ConversionError(RuntimeError):
    """Base of every error jit2onnx raises on purpose; the library never prints or exits."""

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross from the worker process by pickle, whatever their __init__ takes.
        return (_rebuild_error, (type(self), self.args, dict(self.__dict__)))


def _rebuild_error(
    cls: type[ConversionError], args: tuple[object, ...], state: dict[str, object]
) -> ConversionError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ModelLoadError(ConversionError):
    """The model file is missing, unreadable, not a TorchScript archive or refused as unsafe."""


class OutputExistsError(ConversionError):
    """The output file exists and replacing it was not asked for."""


class UnsafeModelError(ModelLoadError):
    """The model file could read or write files, load native code or exhaust memory: refused."""


class WorkerError(ModelLoadError):
    """The worker running the archive's code crashed, timed out or ran out of memory."""


class InputError(ConversionError):
    """Example inputs or an input file do not fit the model (count, dtype, rank, format)."""


class TraceValidationError(ConversionError):
    """The trace-fidelity checks found errors: the traced graph lost what the model computes."""

    def __init__(self, model: str, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        lines = [f"{model}: refused: {len(findings)} error finding(s) in the traced graph"]
        lines += ["  " + f.render().replace("\n", "\n  ") for f in findings]
        kinds = ",".join(sorted({f.kind for f in findings}))
        lines.append(f"  Hint: fix the model as hinted, or pass --allow-findings {kinds}")
        super().__init__("\n".join(lines))


class UnsupportedOpsError(ConversionError):
    """The graph uses operators that have no handler; all of them are listed at once."""

    def __init__(self, model: str, ops: dict[str, list[SourceLocation | None]], hint: str) -> None:
        self.ops = ops
        total = sum(len(v) for v in ops.values())
        lines = [f"{model}: {total} node(s) of {len(ops)} unsupported operator kind(s)"]
        for kind, locations in sorted(ops.items()):
            where = ", ".join(sorted({str(loc) for loc in locations if loc is not None}))
            lines.append(f"  {kind} x{len(locations)}" + (f" at {where}" if where else ""))
        lines.append(f"  Hint: {hint}")
        super().__init__("\n".join(lines))


class TranslationError(ConversionError):
    """A handler failed on one node; the message names the node and where it came from."""

    def __init__(self, message: str, *, kind: str, location: SourceLocation | None) -> None:
        self.kind = kind
        self.location = location
        super().__init__(message)


class OptimizationError(ConversionError):
    """An optimization pass failed; the message names the pass."""


class RuntimeSessionError(ConversionError):
    """ONNX Runtime could not create a session or run the model on the requested provider."""


class ParityError(ConversionError):
    """ONNX Runtime outputs differ from the TorchScript reference beyond tolerance."""

    def __init__(self, message: str, report: object = None) -> None:
        self.report = report
        super().__init__(message)


class InternalError(Exception):
    """An invariant of jit2onnx itself broke: a bug to report."""


class ConversionWarning(UserWarning):
    """A non-fatal finding made during conversion."""
