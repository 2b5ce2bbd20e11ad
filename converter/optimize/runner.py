"""Run passes in order, in rounds until nothing changes; time and record each; never swallow."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

import onnx_ir as ir

from converter.errors import OptimizationError
from converter.optimize.report import PassRecord

__all__ = ["Checker", "NamedPass", "histogram", "run_passes"]

logger = logging.getLogger(__name__)

NamedPass = tuple[str, ir.passes.PassBase]
# Called after every pass that changed the model; raises to stop (e.g. ParityError).
Checker = Callable[[str, ir.Model], None]
# Passes whose "modified" only means refreshed annotations, not a rewrite.
_ANNOTATING = frozenset({"infer-shapes"})


def histogram(model: ir.Model) -> Counter[str]:
    """Operator types of every node, subgraphs included (``domain::type`` outside ONNX's own)."""
    return Counter(
        node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        for node in ir.traversal.RecursiveGraphIterator(model.graph)
    )


def _run_one(
    name: str,
    p: ir.passes.PassBase,
    model: ir.Model,
    round_: int,
    check: Checker | None,
    before: Counter[str],
) -> tuple[PassRecord, Counter[str]]:
    """Run one pass on ``model``, whose histogram is ``before``: its record, the new histogram."""
    start = time.perf_counter()
    try:
        result = p(model)
        # What the pass left dead counts as its own work, not the next pass's.
        cleaned = result.modified and ir.passes.common.RemoveUnusedNodesPass()(model).modified
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise OptimizationError(
            f"optimization pass {name!r} failed: {type(e).__name__}: {first}"
        ) from e
    if result.model is not model:
        raise OptimizationError(f"optimization pass {name!r} did not work in place")
    seconds = time.perf_counter() - start
    after = histogram(model)
    modified = (result.modified and name not in _ANNOTATING) or cleaned or before != after
    logger.debug("%s: %d -> %d nodes", name, sum(before.values()), sum(after.values()))
    if modified and check is not None:
        check(name, model)
    return PassRecord.between(name, round_, before, after, seconds, modified), after


def run_passes(
    model: ir.Model,
    repeated: Sequence[NamedPass],
    final: Sequence[NamedPass],
    *,
    rounds: int = 3,
    check: Checker | None = None,
) -> list[PassRecord]:
    """Run ``repeated`` in rounds (at most ``rounds``), then ``final`` once; one record per run.

    The rounds stop as soon as every repeated pass has run once on the current model without
    changing it: a fixed point, even in the middle of a round.
    """
    records: list[PassRecord] = []
    histo = histogram(model)
    unchanged = 0  # passes run in a row that changed nothing
    for round_ in range(1, rounds + 1):
        for name, p in repeated:
            if unchanged >= len(repeated):
                break
            record, histo = _run_one(name, p, model, round_, check, histo)
            records.append(record)
            unchanged = 0 if record.modified else unchanged + 1
    for name, p in final:
        record, histo = _run_one(name, p, model, 0, check, histo)
        records.append(record)
    return records
