"""The pass runner: rounds end at the fixed point, records per run, rule sets built once."""

from __future__ import annotations

import onnx_ir as ir

from converter.optimize._rules import RulesPass
from converter.optimize.fuse_gemm import FuseMatMulAddPass
from converter.optimize.runner import run_passes

TEXT = """
    <ir_version: 10, opset_import: ["" : 18]>
    g (float[2, 3] x) => (float[2, 3] y) {
      a = Identity(x)
      y = Relu(a)
    }
"""


class _Counting(ir.passes.InPlacePass):
    """Reports a change on its first ``changes`` calls; counts its calls."""

    def __init__(self, changes: int = 0) -> None:
        super().__init__()
        self.changes = changes
        self.calls = 0

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        self.calls += 1
        return ir.passes.PassResult(model, modified=self.calls <= self.changes)


def test_rounds_stop_once_every_pass_saw_the_graph_unchanged() -> None:
    first, second, third = _Counting(changes=1), _Counting(), _Counting()
    repeated = [("first", first), ("second", second), ("third", third)]
    records = run_passes(ir.from_onnx_text(TEXT), repeated, [], rounds=3)
    # first changed the graph in round 1; second and third saw the result, and first's second
    # run closes a full cycle without a change: the rest of round 2 and round 3 are skipped.
    assert [(r.name, r.round, r.modified) for r in records] == [
        ("first", 1, True),
        ("second", 1, False),
        ("third", 1, False),
        ("first", 2, False),
    ]
    assert (first.calls, second.calls, third.calls) == (2, 1, 1)


def test_a_change_late_in_a_round_reruns_the_passes_before_it() -> None:
    first, last = _Counting(), _Counting(changes=1)
    records = run_passes(ir.from_onnx_text(TEXT), [("first", first), ("last", last)], [])
    assert [(r.name, r.round) for r in records] == [
        ("first", 1),
        ("last", 1),
        ("first", 2),
        ("last", 2),
    ]


def test_the_round_limit_still_holds() -> None:
    busy = _Counting(changes=10)
    records = run_passes(ir.from_onnx_text(TEXT), [("busy", busy)], [], rounds=3)
    assert [r.round for r in records] == [1, 2, 3]


def test_final_passes_run_once_after_the_rounds() -> None:
    once, final = _Counting(), _Counting()
    records = run_passes(ir.from_onnx_text(TEXT), [("once", once)], [("final", final)])
    assert [(r.name, r.round) for r in records] == [("once", 1), ("final", 0)]


def test_a_rules_pass_builds_its_rule_set_once() -> None:
    built: list[int] = []

    class Counted(FuseMatMulAddPass):
        def rules(self):  # type: ignore[no-untyped-def]
            built.append(1)
            return super().rules()

    p: RulesPass = Counted()
    model = ir.from_onnx_text(TEXT)
    for _ in range(3):
        p(model)
    assert len(built) == 1
