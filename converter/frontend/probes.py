"""Behaviour probes: run the TorchScript module on perturbed inputs and watch its outputs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from converter import inputs as gen
from converter.frontend.findings import Finding

__all__ = ["DimGroup", "probe"]

Runner = Callable[[Sequence[np.ndarray]], list[np.ndarray]]
# Batches larger than this are cut to a few rows for the value probes.
_FEW_ROWS = 8


@dataclasses.dataclass(frozen=True)
class DimGroup:
    """One symbolic dim: its name, traced size and the (input, dim) pairs that share it."""

    name: str
    size: int
    members: tuple[tuple[int, int], ...]
    explicit: bool  # asked for with --dynamic (not just the default batch dim)


def probe(
    run: Runner, examples: Sequence[np.ndarray], groups: Sequence[DimGroup]
) -> tuple[list[Finding], set[str]]:
    """Findings from perturbed runs, and the dims the module cannot take at another size."""
    base = run(examples)
    findings: list[Finding] = []
    failing: set[str] = set()
    for group in groups:
        problem = _resize_problem(run, examples, base, group)
        if problem is not None:
            failing.add(group.name)
            findings.append(
                Finding(
                    "shape-mismatch",
                    "error" if group.explicit else "warning",
                    f"dim {group.name!r} (traced at {group.size}): {problem}",
                    hint="the trace baked this size in; trace at the size you deploy, "
                    "or compute sizes from x.size(...) inside the model",
                )
            )
    small = _fewer_rows(
        examples, [g for g in groups if g.name == "batch" and g.name not in failing]
    )
    if small is not None:
        try:
            findings[:0] = _unchanging(run, small, run(small))
            return findings, failing
        except Exception:  # the module needs its rows: probe at the traced size
            pass
    findings[:0] = _unchanging(run, examples, base)
    return findings, failing


def _fewer_rows(
    examples: Sequence[np.ndarray], batch: Sequence[DimGroup]
) -> list[np.ndarray] | None:
    """The examples cut to 2 or 3 rows (the batch size's parity) where the batch dim works at
    another size: the value probes then cost little on a large batch. None otherwise."""
    if not batch or batch[0].size <= _FEW_ROWS:
        return None
    rows = 2 + batch[0].size % 2
    members = {i for i, d in batch[0].members if d == 0}
    return [a[:rows] if i in members else a for i, a in enumerate(examples)]


def _unchanging(
    run: Runner, examples: Sequence[np.ndarray], base: list[np.ndarray]
) -> list[Finding]:
    variants = [
        gen.revalued(examples, seed=101),
        [_negated(a) for a in examples],
        gen.revalued(examples, seed=202),
    ]
    if all(np.array_equal(v, e) for vs in variants for v, e in zip(vs, examples, strict=True)):
        return []  # inputs that cannot change (e.g. all-zero integers): nothing to learn
    outputs = []
    for variant in variants:
        try:
            outputs.append(run(variant))
        except Exception:  # e.g. indices out of range: this probe says nothing
            continue
    findings: list[Finding] = []
    if len(outputs) < 2:
        return findings
    for i, first in enumerate(base):
        if all(o[i].shape == first.shape and np.array_equal(o[i], first) for o in outputs):
            findings.append(
                Finding(
                    "unchanging-output",
                    "warning",
                    f"output {i} stayed the same for {len(outputs) + 1} different inputs",
                    hint="if it should depend on the input, a Python branch or value "
                    "was frozen while tracing; script that part instead",
                )
            )
    return findings


def _negated(a: np.ndarray) -> np.ndarray:
    """Floats change sign; integers (often indices) and booleans are kept valid."""
    return -a if np.issubdtype(a.dtype, np.floating) else a


def _resize_problem(
    run: Runner, examples: Sequence[np.ndarray], base: list[np.ndarray], group: DimGroup
) -> str | None:
    dims: dict[int, list[int]] = {}
    for i, d in group.members:
        dims.setdefault(i, []).append(d)
    feeds = gen.resized(examples, dims, seed=303)
    new_size = feeds[group.members[0][0]].shape[group.members[0][1]]
    try:
        outputs = run(feeds)
    except Exception as e:
        return f"the module fails at size {new_size}: {_last_line(e)}"
    # sizes of the dims that keep their size: an output dim may come from one of those
    kept = {
        a.shape[d]
        for i, a in enumerate(examples)
        for d in range(a.ndim)
        if d not in dims.get(i, [])
    }
    if len(outputs) != len(base):  # e.g. a list with one tensor per row
        return (
            f"the module gives {len(outputs)} outputs at size {new_size} (it gave {len(base)} "
            f"at {group.size}): the number of outputs depends on the input"
        )
    for i, (before, after) in enumerate(zip(base, outputs, strict=True)):
        if not _follows(before.shape, after.shape, group.size, new_size, kept):
            return (
                f"output {i} has shape {list(after.shape)} at size {new_size} "
                f"(it was {list(before.shape)} at {group.size}): it does not follow the input"
            )
    return None


def _follows(
    before: tuple[int, ...], after: tuple[int, ...], size: int, new_size: int, kept: set[int]
) -> bool:
    """False if an output whose shape held the traced size kept that size where the resized
    dim should show (a baked-in size). A dim that keeps a size some unresized input dim also
    has may come from that dim, and is left alone."""
    places = [p for p, d in enumerate(before) if d == size]
    if not places:
        return True
    if len(before) != len(after):
        return False
    if any(after[p] == new_size for p in places):
        return True
    return size in kept and all(after[p] == size for p in places)


def _last_line(e: Exception) -> str:
    """TorchScript errors end with the actual reason; keep that line."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return lines[-1] if lines else type(e).__name__
