"""Static trace-fidelity checks on a loaded graph. Heuristics: they point, they cannot prove."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from converter.frontend.findings import Finding, Severity, ValidationReport
from converter.frontend.load import TorchScriptModel
from converter.frontend.probes import DimGroup, probe
from converter.frontend.source_scan import scan_sources
from converter.frontend.ts_ir import TSNode, walk

__all__ = [
    "SIZE_OPS",
    "baked_candidates",
    "constant_outputs",
    "control_flow",
    "training_mode",
    "validate",
]

_DROPOUTS = (
    "aten::dropout",
    "aten::feature_dropout",
    "aten::alpha_dropout",
    "aten::feature_alpha_dropout",
)
_EVAL_HINT = (
    "call .eval() before tracing, on the module that is traced (also on a submodule traced on "
    "its own, as in `self.body = torch.jit.trace(body, x)`); .eval() after tracing cannot change "
    "a traced graph"
)
# Ops whose size argument (by schema name) fixes a shape.
SIZE_OPS = {
    "aten::view": "size",
    "aten::reshape": "shape",
    "aten::expand": "size",
    "aten::repeat": "repeats",
    "aten::zeros": "size",
    "aten::ones": "size",
    "aten::full": "size",
    "aten::new_zeros": "size",
    "aten::new_ones": "size",
    "aten::new_full": "size",
}


def constant(value: torch._C.Value) -> object:
    """The value of a prim::Constant (or a list of them); ``...`` if computed at run time."""
    node = value.node()
    if node.kind() == "prim::Constant":
        return value.toIValue()
    if node.kind() == "prim::ListConstruct":
        items = [constant(v) for v in node.inputs()]
        return ... if any(i is ... for i in items) else items
    return ...


def training_mode(graph: torch._C.Graph) -> Iterator[Finding]:
    """Dropout, batch norm, instance norm and rrelu recorded with training on."""
    for node in walk(graph):
        kind = node.kind.rstrip("_")
        if kind in _DROPOUTS and constant(node.input("train")) is True:
            what = "drops activations at random"
        elif (
            kind == "aten::batch_norm"
            and constant(node.input("training")) is True
            and constant(node.input("running_mean")) is not None
        ):
            what = "normalizes with the statistics of each batch, not the running ones"
        elif (
            kind == "aten::instance_norm"
            and constant(node.input("use_input_stats")) is True
            and constant(node.input("running_mean")) is not None
        ):
            what = "uses batch statistics though the module tracks running statistics"
        elif kind.startswith("aten::rrelu") and constant(node.input("training")) is True:
            what = "draws random slopes"
        else:
            continue
        yield _node_finding(
            node,
            "training-mode",
            "error",
            f"{node.kind} was recorded in training mode: it {what}",
            _EVAL_HINT,
        )


def control_flow(graph: torch._C.Graph) -> Iterator[Finding]:
    """Scripted prim::If / prim::Loop: control flow that was kept, which the export must carry."""
    for node in walk(graph):
        if node.kind in ("prim::If", "prim::Loop"):
            word, onnx_op = ("branch", "If") if node.kind == "prim::If" else ("loop", "Loop")
            yield _node_finding(
                node,
                "control-flow",
                "note",
                f"scripted {word} ({node.kind}) kept in the graph; exported as ONNX {onnx_op}",
                "",
            )


def constant_outputs(graph: torch._C.Graph, raw: torch._C.Graph) -> Iterator[Finding]:
    """Outputs that depend on no input: the same value for every input."""
    inputs = {v.unique() for v in graph.inputs() if not isinstance(v.type(), torch._C.ClassType)}
    memo: dict[int, bool] = {}
    leaves = _output_leaves(graph)
    raw_leaves = _output_leaves(raw)
    for i, value in enumerate(leaves):
        if _depends(value, inputs, memo):
            continue
        origin = _origin(raw_leaves[i]) if len(raw_leaves) == len(leaves) else None
        yield Finding(
            "constant-output",
            "error",
            f"output {i} does not depend on any input: it is the same for every input",
            origin.location if origin else None,
            origin.scope if origin else "",
            origin.render() if origin else "",
            "a Python branch or a Python value decided this output at trace time; "
            "script that function (torch.jit.script) instead of tracing it",
        )


def baked_candidates(
    graph: torch._C.Graph, traced_sizes: Sequence[int]
) -> Iterator[tuple[TSNode, int]]:
    """Size arguments holding a constant equal to the traced size of a dynamic dim."""
    wanted = {s for s in traced_sizes if s > 1}
    for node in walk(graph):
        arg = SIZE_OPS.get(node.kind)
        if arg and node.has_input(arg):
            sizes = constant(node.input(arg))
            if isinstance(sizes, list):
                for size in sizes:
                    if size in wanted:
                        yield node, int(size)
        elif node.kind == "aten::slice" and node.has_input("end"):
            end = constant(node.input("end"))
            if constant(node.input("start")) in (0, None) and end in wanted:
                yield node, int(end)


def _node_finding(node: TSNode, kind: str, severity: str, message: str, hint: str) -> Finding:
    return Finding(kind, severity, message, node.location, node.scope, node.render(), hint)  # type: ignore[arg-type]


def _output_leaves(graph: torch._C.Graph) -> list[torch._C.Value]:
    leaves: list[torch._C.Value] = []
    for value in graph.outputs():
        node = value.node()
        if node.kind() in ("prim::TupleConstruct", "prim::ListConstruct"):
            leaves.extend(node.inputs())
        else:
            leaves.append(value)
    return leaves


def _depends(value: torch._C.Value, inputs: set[int], memo: dict[int, bool]) -> bool:
    key = value.unique()
    if key in inputs:
        return True
    if key not in memo:
        memo[key] = False  # cycles cannot happen in SSA, but loops carry values
        node = value.node()
        sources = list(node.inputs())
        for block in node.blocks():
            sources += [v for n in block.nodes() for v in n.inputs()]
            sources += list(block.outputs())
        sources += _written_into(value)
        memo[key] = any(_depends(v, inputs, memo) for v in sources)
    return memo[key]


def _written_into(value: torch._C.Value) -> list[torch._C.Value]:
    """What ops that write a list (``append`` and the like) put into ``value``."""
    if not isinstance(value.type(), torch._C.ListType):
        return []
    sources: list[torch._C.Value] = []
    for use in value.uses():
        schema = use.user.schema()
        if schema == "(no schema)":
            continue
        args = torch._C.parse_schema(schema).arguments
        info = args[use.offset].alias_info if use.offset < len(args) else None
        if info is not None and info.is_write:
            sources += list(use.user.inputs())
    return sources


def _origin(value: torch._C.Value) -> TSNode | None:
    """The first node with a source location on the way back from an output."""
    node = value.node()
    for _ in range(16):
        ts = TSNode(node)
        if ts.location is not None or not ts.inputs:
            return ts if ts.location is not None else None
        node = ts.inputs[0].node()
    return None


_ORDER = {"error": 0, "warning": 1, "note": 2}


def validate(
    model: TorchScriptModel,
    examples: Sequence[np.ndarray] | None = None,
    groups: Sequence[DimGroup] = (),
) -> tuple[ValidationReport, set[str]]:
    """All checks; with examples also the probes. Returns the report and the dims that fail."""
    graph = model.graph
    findings = [*training_mode(graph), *constant_outputs(graph, model.raw_graph())]
    findings += control_flow(graph)
    failing: set[str] = set()
    if examples is not None:
        probed, failing = probe(model.run_arrays, examples, groups)
        findings += _explain_failing(graph, probed, groups, failing)
    locations = [
        n.location
        for n in walk(graph)
        if n.location and n.location.traced and not n.location.call_site
    ]
    findings += scan_sources(locations)
    if any(f.kind == "constant-output" for f in findings):
        findings = [f for f in findings if f.kind != "unchanging-output"]
    findings.sort(key=lambda f: _ORDER[f.severity])
    return ValidationReport(tuple(findings)), failing


def _explain_failing(
    graph: torch._C.Graph, probed: list[Finding], groups: Sequence[DimGroup], failing: set[str]
) -> list[Finding]:
    """Name the constant-size nodes behind each symbolic dim; they explain a failing probe."""
    candidates = list(baked_candidates(graph, [g.size for g in groups]))
    out = list(probed)
    for group in groups:
        matches = [node for node, size in candidates if size == group.size]
        if not matches:
            continue
        severity: Severity = "warning"
        if group.name in failing:
            mismatch = next(
                f for f in out if f.kind == "shape-mismatch" and f"{group.name!r}" in f.message
            )
            out.remove(mismatch)
            severity = mismatch.severity
        for node in matches:
            out.append(
                Finding(
                    "baked-shape",
                    severity,
                    f"{node.kind} uses the constant size {group.size}, the traced size of dim "
                    f"{group.name!r}"
                    + (", so that dim cannot change" if group.name in failing else ""),
                    node.location,
                    node.scope,
                    node.render(),
                    "compute the size from the input (x.view(x.size(0), -1)), or convert with "
                    "that dim static",
                )
            )
    return out
