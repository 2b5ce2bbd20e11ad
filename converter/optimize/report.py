"""What the optimizer did: per pass run, node counts, operator types removed and added, time."""

from __future__ import annotations

import dataclasses
from collections import Counter

__all__ = ["OptimizeReport", "PassRecord"]


@dataclasses.dataclass(frozen=True)
class PassRecord:
    """One run of one pass: node counts before and after, operator-type changes, seconds."""

    name: str
    round: int
    nodes_before: int
    nodes_after: int
    removed: dict[str, int]
    added: dict[str, int]
    seconds: float
    modified: bool

    @classmethod
    def between(
        cls,
        name: str,
        round_: int,
        before: Counter[str],
        after: Counter[str],
        seconds: float,
        modified: bool,
    ) -> PassRecord:
        """A record from the operator histograms before and after the pass."""
        return cls(
            name=name,
            round=round_,
            nodes_before=sum(before.values()),
            nodes_after=sum(after.values()),
            removed=dict(sorted((before - after).items())),
            added=dict(sorted((after - before).items())),
            seconds=seconds,
            modified=modified,
        )

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["seconds"] = round(self.seconds, 4)
        return data


@dataclasses.dataclass(frozen=True)
class OptimizeReport:
    """Every pass run in order, with the level and opset the pipeline was chosen for."""

    level: int
    opset: int
    passes: tuple[PassRecord, ...]
    nodes_before: int
    nodes_after: int
    seconds: float
    checked: bool = False

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``optimize --json``)."""
        return {
            "level": self.level,
            "opset": self.opset,
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "seconds": round(self.seconds, 4),
            "checked_each_pass": self.checked,
            "passes": [p.to_dict() for p in self.passes],
        }

    def render(self) -> str:
        """A text table of the passes that changed something, then the totals."""
        lines = [
            f"optimized at level {self.level} (opset {self.opset}): "
            f"{self.nodes_before} -> {self.nodes_after} nodes in {self.seconds:.2f} s"
            + (" (ONNX Runtime parity checked after each pass)" if self.checked else "")
        ]
        for p in self.passes:
            if not p.modified:
                continue
            change = ", ".join(
                [f"-{n} {op}" for op, n in p.removed.items()]
                + [f"+{n} {op}" for op, n in p.added.items()]
            )
            when = f"round {p.round}" if p.round else "final"
            lines.append(
                f"  {p.name} ({when}): {p.nodes_before} -> {p.nodes_after} nodes, "
                f"{p.seconds * 1000:.1f} ms" + (f": {change}" if change else "")
            )
        return "\n".join(lines)
