"""Walk a flat TorchScript graph: pre-scan for unsupported ops, dispatch, wrap failures."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator, Sequence

import onnx_ir as ir
import torch
from onnx_ir.passes.common import RemoveUnusedNodesPass

from converter.errors import InternalError, SourceLocation, TranslationError, UnsupportedOpsError
from converter.frontend.load import TorchScriptModel
from converter.frontend.ts_ir import TSNode, walk
from converter.translate import quant
from converter.translate.context import Entry, RuntimeList, TranslationContext, Unsupported
from converter.translate.graph_input import GraphInput
from converter.translate.ops.mutation import is_in_place, write_back
from converter.translate.registry import OpRegistry

__all__ = [
    "GraphInput",
    "exported_nodes",
    "op_histogram",
    "prescan",
    "translate",
]

_IR_VERSION = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}


def op_histogram(graph: torch._C.Graph) -> dict[str, int]:
    """Count nodes by qualified kind, sub-blocks included (constants left out)."""
    counts = collections.Counter(
        n.qualified_kind for n in walk(graph) if n.kind != "prim::Constant"
    )
    return dict(sorted(counts.items()))


def prescan(model: TorchScriptModel, registry: OpRegistry, opset: int) -> None:
    """Raise one UnsupportedOpsError naming every node kind that has no handler at ``opset``."""
    missing: dict[str, list[SourceLocation | None]] = collections.defaultdict(list)
    newer: dict[str, int] = {}
    for node in exported_nodes(model.graph):
        if registry.lookup(node.kind, node.overload, opset) is None:
            missing[node.qualified_kind].append(node.location)
            needed = registry.min_opset(node.kind, node.overload)
            if needed is not None:
                newer[node.qualified_kind] = needed
    if not missing:
        return
    if newer:
        hint = "; ".join(f"{k} needs --opset {v}" for k, v in sorted(newer.items()))
    else:
        hint = "these operators have no ONNX translation yet; please report them"
    raise UnsupportedOpsError(str(model.path), dict(missing), hint)


def exported_nodes(block: torch._C.Block | torch._C.Graph) -> Iterator[TSNode]:
    """Nodes that can reach the ONNX graph: argument checks that raise are left out."""
    skip = argument_checks(block)
    for raw in block.nodes():
        if _key(raw) in skip:
            continue
        yield TSNode(raw)
        for sub in raw.blocks():
            if not _raises(sub):
                yield from exported_nodes(sub)


def _checks_in(node: TSNode) -> set[tuple[int, ...]]:
    return {k for block in node.blocks for k in argument_checks(block)}


def argument_checks(block: torch._C.Block | torch._C.Graph) -> set[tuple[int, ...]]:
    """Nodes whose results only decide whether a check raises (``if x.dim() != 4: raise``).

    The ONNX graph keeps the path that does not raise, so these are not translated.
    """
    checks: set[tuple[int, ...]] = set()
    for raw in reversed(list(block.nodes())):
        outputs = list(raw.outputs())
        if outputs and all(_only_checks(v, checks) for v in outputs):
            checks.add(_key(raw))
    return checks


def _only_checks(value: torch._C.Value, checks: set[tuple[int, ...]]) -> bool:
    uses = value.uses()
    for use in uses:
        user = use.user
        if user.kind() == "prim::If" and use.offset == 0:
            then_block, else_block = user.blocks()
            if _raises(then_block) != _raises(else_block):
                continue
        if _key(user) not in checks:
            return False
    return bool(uses)


def _raises(block: torch._C.Block) -> bool:
    return any(n.kind() == "prim::RaiseException" for n in block.nodes())


def _key(node: torch._C.Node) -> tuple[int, ...]:
    return tuple(v.unique() for v in node.outputs()) or (id(node),)


def translate(
    model: TorchScriptModel,
    inputs: Sequence[GraphInput],
    registry: OpRegistry,
    opset: int,
    symbolic_sizes: dict[str, int],
) -> ir.Model:
    """Translate the flat forward graph of ``model`` to an ONNX model."""
    prescan(model, registry, opset)
    ctx = TranslationContext(opset, symbolic_sizes)
    ctx.translate_node = lambda node: translate_node(ctx, node, registry, str(model.path))
    ctx.skip = {k for node in walk(model.graph) for k in _checks_in(node)} | argument_checks(
        model.graph
    )
    graph_inputs = [
        ir.Value(name=spec.name, shape=ir.Shape(spec.dims), type=ir.TensorType(spec.dtype))
        for spec in inputs
    ]
    _bind_inputs(ctx, model, graph_inputs)
    for raw in model.graph.nodes():
        translate_node(ctx, TSNode(raw), registry, str(model.path))
    outputs = _graph_outputs(ctx, list(model.graph.outputs()), str(model.path))
    graph = ir.Graph(
        graph_inputs,
        outputs,
        nodes=ctx.nodes,
        initializers=list(ctx.initializers.values()),
        opset_imports={"": opset},
        name=model.path.stem or "model",
    )
    onnx_model = ir.Model(graph, ir_version=_IR_VERSION[opset], producer_name="jit2onnx")
    # Handlers may build values nobody uses (e.g. zero initial states an RNN leaves out).
    RemoveUnusedNodesPass()(onnx_model)
    return onnx_model


def _bind_inputs(ctx: TranslationContext, model: TorchScriptModel, values: list[ir.Value]) -> None:
    """Bind each forward argument: a tensor, a 0-d number, a container of inputs, a default."""
    ts_inputs = []
    for ts_value in model.graph.inputs():
        if isinstance(ts_value.type(), torch._C.ClassType):
            ctx.bind(ts_value, model.module)  # attributes freezing left are read from it
        else:
            ts_inputs.append(ts_value)
    flat = iter(values)
    for ts_value, arg in zip(ts_inputs, model.layout.args, strict=True):
        if arg.kind in ("tensor", "scalar"):
            ctx.bind(ts_value, next(flat))
        elif arg.kind == "default":
            ctx.bind(ts_value, arg.default)
        else:
            items = [next(flat) for _ in arg.keys]
            if arg.kind == "dict":
                ctx.bind(ts_value, dict(zip(arg.keys, items, strict=True)))
            else:
                ctx.bind(ts_value, tuple(items) if arg.kind == "tuple" else items)


def translate_node(ctx: TranslationContext, node: TSNode, registry: OpRegistry, path: str) -> None:
    """Dispatch one node to its handler and bind its outputs; failures name the node."""
    if _key(node.raw) in ctx.skip:
        return
    spec = registry.lookup(node.kind, node.overload, ctx.opset)
    if spec is None:
        raise InternalError(f"no handler for {node.qualified_kind} after the pre-scan passed")
    try:
        with ctx.at(node):
            result = quant.guard(ctx, node, lambda: spec.fn(ctx, node))
            if is_in_place(node.raw):
                result = write_back(ctx, node, result)
    except TranslationError:
        raise
    except Unsupported as e:
        raise TranslationError(
            _node_message(path, node, str(e)), kind=node.qualified_kind, location=node.location
        ) from e
    except Exception as e:
        raise InternalError(_node_message(path, node, f"{type(e).__name__}: {e}")) from e
    results: tuple[Entry, ...] = result if len(node.outputs) != 1 else (result,)  # type: ignore[assignment]
    if len(results) != len(node.outputs):
        raise InternalError(
            f"handler {getattr(spec.fn, '__name__', spec.fn)} gave {len(results)} results "
            f"for {len(node.outputs)} outputs"
        )
    for ts_value, entry in zip(node.outputs, results, strict=True):
        ctx.bind(ts_value, entry)


def _node_message(path: str, node: TSNode, problem: str) -> str:
    where = f" at {node.location}" if node.location else ""
    lines = [f"{path}: cannot translate {node.qualified_kind}{where}: {problem}"]
    lines.append(f"  node: {node.render()}")
    if node.scope:
        lines.append(f"  scope: {node.scope}")
    return "\n".join(lines)


def _graph_outputs(
    ctx: TranslationContext, ts_outputs: list[torch._C.Value], path: str
) -> list[ir.Value]:
    flat: list[tuple[str, Entry]] = []
    for ts_value in ts_outputs:
        _flatten(ctx.entry(ts_value), flat)
    if len(flat) == 1:
        flat = [("output", flat[0][1])]
    outputs: list[ir.Value] = []
    for i, (name, entry) in enumerate(flat):
        if isinstance(entry, RuntimeList):
            raise TranslationError(
                f"{path}: output {i} is a list built in a loop, whose length is only known at "
                "run time; ONNX graph outputs are tensors: return torch.stack or torch.cat of it",
                kind="prim::Return",
                location=None,
            )
        if quant.is_quantized(entry):
            raise TranslationError(
                f"{path}: output {i} is a quantized tensor; quantized models are exported with "
                "float outputs only: end forward with a DeQuantStub (torch.dequantize)",
                kind="prim::Return",
                location=None,
            )
        value = ctx.as_tensor(entry)
        if value.producer() is None or value in outputs or value.const_value is not None:
            value = ctx.op("Identity", value)
        value.name = name
        if value.shape is None or value.dtype is None:
            raise TranslationError(
                f"{path}: cannot tell the rank or type of output {i}, which an ONNX graph "
                "output must declare",
                kind="prim::Return",
                location=None,
            )
        outputs.append(value)
    return outputs


def _flatten(entry: Entry, out: list[tuple[str, Entry]], name: str = "output") -> None:
    """Leaves of nested outputs, named by path: output_0_1 for tuples, output_<key> for dicts."""
    if isinstance(entry, list | tuple):
        for i, e in enumerate(entry):
            _flatten(e, out, f"{name}_{i}")
    elif isinstance(entry, dict):
        for key, e in entry.items():
            _flatten(e, out, f"{name}_{re.sub(r'[^0-9A-Za-z_]', '_', str(key))}")
    else:
        out.append((name, entry))
