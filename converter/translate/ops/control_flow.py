"""Scripted control flow: prim::If and prim::Loop become ONNX If and Loop with subgraphs."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import (
    Entry,
    RuntimeList,
    TranslationContext,
    Unsupported,
    is_tensor_list,
)
from converter.translate.ops.lists import list_writes
from converter.translate.ops.mutation import outer_writes
from converter.translate.registry import handler

__all__: list[str] = []

_INT64_MAX = 9223372036854775807


def _raises(block: torch._C.Block) -> bool:
    return any(n.kind() == "prim::RaiseException" for n in block.nodes())


def _single(results: tuple[Entry, ...]) -> Entry | tuple[Entry, ...]:
    return results[0] if len(results) == 1 else results


def _inline(ctx: TranslationContext, node: TSNode, block: torch._C.Block) -> Entry:
    """The branch known to run, translated into the current graph."""
    results = ctx.inline_block(block)
    for out, inner in zip(node.outputs, block.outputs(), strict=True):
        ctx.same_object(out, inner)
    return _single(results)


@handler("prim::If")
def prim_if(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """prim::If(bool cond) -> (...), with a then-block and an else-block"""
    then_block, else_block = node.blocks
    if _raises(then_block) != _raises(else_block):
        # An argument check: the model only computes on the branch that does not raise.
        return _inline(ctx, node, else_block if _raises(then_block) else then_block)
    if ctx.is_const(node.inputs[0]):
        return _inline(ctx, node, then_block if ctx.const(node.inputs[0]) else else_block)
    cond = ctx.cast(ctx.tensor(node.inputs[0]), ir.DataType.BOOL)
    lists = list_writes(node.raw)
    for ts_value in lists:  # a list a branch appends to is a sequence in both branches
        ctx.bind(ts_value, RuntimeList(_branch_list(ctx, ts_value)))
    written = outer_writes(node.raw) + lists
    then_graph = ctx.block_graph(then_block, "then_branch", written=written)
    else_graph = ctx.block_graph(else_block, "else_branch", written=written)
    _same_kinds(then_graph, else_graph)
    count = len(node.outputs)
    if count + len(written) == 0:
        return ()
    outs = ctx.op_multi(
        "If",
        cond,
        num_outputs=count + len(written),
        then_branch=then_graph,
        else_branch=else_graph,
    )
    for out, t, e in zip(outs, then_graph.outputs, else_graph.outputs, strict=True):
        out.type = t.type
        out.shape = t.shape if t.shape == e.shape else _rank_only(t.shape or e.shape)
    results = _wrap_lists([*node.outputs, *written], outs)
    for ts_value, entry in zip(written, results[count:], strict=True):
        ctx.bind(ts_value, entry)  # a tensor a branch wrote in place, a list it appended to
    return _single(results[:count])


def _branch_list(ctx: TranslationContext, ts_value: torch._C.Value) -> ir.Value:
    """The sequence a list that a branch changes starts from."""
    entry = ctx.entry(ts_value)
    if not is_tensor_list(ts_value):
        raise Unsupported("a branch changes a list of non-tensors, which ONNX cannot carry")
    if isinstance(entry, list | tuple) and not entry:
        raise Unsupported(
            "a branch changes a list that is empty before it (its element type is not "
            "known; start the list with an item or build it in a loop)"
        )
    return ctx.as_sequence(entry)


def _wrap_lists(ts_values: list[torch._C.Value], outs: tuple[ir.Value, ...]) -> tuple[Entry, ...]:
    """Outputs standing for a ``List[Tensor]`` are sequences: give them as run-time lists."""
    return tuple(
        RuntimeList(out) if is_tensor_list(v) else out
        for v, out in zip(ts_values, outs, strict=True)
    )


def _same_kinds(then_graph: ir.Graph, else_graph: ir.Graph) -> None:
    """ONNX If outputs have one type and rank whichever branch runs."""
    for t, e in zip(then_graph.outputs, else_graph.outputs, strict=True):
        if _sequence(t) or _sequence(e):
            if t.type is not None and e.type is not None and t.type != e.type:
                raise Unsupported(
                    f"the branches give lists of different types ({t.type}, {e.type})"
                )
            # A list that starts empty in a loop is typed by the first append (see prim_loop).
            t.type = e.type = t.type or e.type
            t.shape = e.shape = _rank_only(t.shape or e.shape)
            continue
        if t.dtype != e.dtype:
            raise Unsupported(f"the branches give different dtypes ({t.dtype} and {e.dtype})")
        if t.shape is not None and e.shape is not None and len(t.shape) != len(e.shape):
            raise Unsupported(
                f"the branches give different ranks ({len(t.shape)} and {len(e.shape)})"
            )


def _sequence(value: ir.Value) -> bool:
    return isinstance(value.type, ir.SequenceType)


@handler("prim::Loop")
def prim_loop(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """prim::Loop(int max_trip_count, bool cond, *carried) -> (*carried)"""
    trip, cond0, *carried = node.inputs
    # Tensors defined before the loop that its body writes in place are carried too, and so
    # are lists it appends to (as ONNX sequences).
    written = outer_writes(node.raw) + list_writes(node.raw)
    initial = [_initial(ctx, v) for v in [*carried, *written]]
    max_trip = None
    if not (ctx.is_const(trip) and ctx.const(trip) == _INT64_MAX):
        max_trip = ctx.cast(ctx.tensor(trip), ir.DataType.INT64)
    cond = ctx.cast(ctx.tensor(cond0), ir.DataType.BOOL)
    body, state = _loop_body(ctx, node, initial, written)
    if not state:
        return ()
    starts = [
        v if v is not None else ctx.as_sequence([], ctx.dtype(s))
        for v, s in zip(initial, state, strict=True)
    ]
    outs = ctx.op_multi("Loop", max_trip, cond, *starts, num_outputs=len(state), body=body)
    for out, s in zip(outs, state, strict=True):
        out.type, out.shape = s.type, s.shape
    results = _wrap_lists([*carried, *written], outs)
    count = len(carried)
    for ts_value, entry in zip(written, results[count:], strict=True):
        ctx.bind(ts_value, entry)
    return _single(results[:count])


def _initial(ctx: TranslationContext, value: torch._C.Value) -> ir.Value | None:
    """The start of a loop-carried value; None for an empty list (typed from the body)."""
    entry = ctx.entry(value)
    if is_tensor_list(value):
        return None if isinstance(entry, list | tuple) and not entry else ctx.as_sequence(entry)
    if isinstance(entry, list | tuple | RuntimeList):
        raise Unsupported("a loop that carries a list of non-tensors is not supported")
    return ctx.tensor(value)


def _loop_body(
    ctx: TranslationContext,
    node: TSNode,
    initial: list[ir.Value | None],
    written: list[torch._C.Value],
) -> tuple[ir.Graph, list[ir.Value]]:
    """The ONNX Loop body and its carried inputs.

    A list that is empty before the loop takes its element type from what the body appends:
    the body is translated once to learn it, then again with the type known.
    """
    types: list[tuple[ir.TypeProtocol | None, ir.Shape | None]] = [
        (None, None) if v is None else (v.type, _rank_only(v.shape)) for v in initial
    ]
    body, state = _build_body(ctx, node, types, written)
    if any(s.type is None for s in state):
        learned = [(o.type, _rank_only(o.shape)) for o in body.outputs[1:]]
        unknown = [i for i, (kind, _) in enumerate(learned) if kind is None]
        if unknown:
            raise Unsupported("cannot tell the element type of a list that starts empty")
        body, state = _build_body(ctx, node, learned, written)
    return body, state


def _build_body(
    ctx: TranslationContext,
    node: TSNode,
    types: list[tuple[ir.TypeProtocol | None, ir.Shape | None]],
    written: list[torch._C.Value],
) -> tuple[ir.Graph, list[ir.Value]]:
    """The ONNX Loop body: (iteration, condition, *carried) -> (condition, *carried)."""
    iteration = _scalar_input(ctx.fresh_name("iteration"), ir.DataType.INT64)
    cond_in = _scalar_input(ctx.fresh_name("cond_in"), ir.DataType.BOOL)
    state = [
        ir.Value(name=ctx.fresh_name(f"carried_{i}"), type=kind, shape=shape)
        for i, (kind, shape) in enumerate(types)
    ]
    ts_values = [*node.inputs[2:], *written]
    entries = _wrap_lists(ts_values, tuple(state))
    count = len(types) - len(written)
    body = ctx.block_graph(
        node.blocks[0],
        "loop_body",
        [iteration, cond_in, *state],
        [iteration, *entries[:count]],
        written=written,
        written_inputs=entries[count:],
    )
    _bool_condition(body)
    _same_ranks(body, state, [v.debugName() for v in ts_values])
    return body, state


def _same_ranks(body: ir.Graph, state: list[ir.Value], names: list[str]) -> None:
    """A loop-carried tensor must keep its rank and type from one iteration to the next (the
    tensors of a carried list too)."""
    for name, out, start in zip(names, body.outputs[1:], state, strict=True):
        if start.type is None:  # a list that starts empty: typed on the second translation
            continue
        what = "list" if _sequence(start) else "tensor"
        if out.type != start.type or (
            out.shape is not None and start.shape is not None and len(out.shape) != len(start.shape)
        ):
            raise Unsupported(
                f"loop-carried {what} %{name} changes its type or rank inside the loop body "
                f"({start.dtype}, rank {_rank(start)} -> {out.dtype}, rank {_rank(out)})"
            )


def _rank(value: ir.Value) -> str:
    return "?" if value.shape is None else str(len(value.shape))


def _scalar_input(name: str, dtype: ir.DataType) -> ir.Value:
    return ir.Value(name=name, type=ir.TensorType(dtype), shape=ir.Shape([]))


def _rank_only(shape: ir.Shape | None) -> ir.Shape | None:
    return None if shape is None else ir.Shape([None] * len(shape))


def _bool_condition(body: ir.Graph) -> None:
    """The body's first output is the continue-condition: it must be a BOOL scalar."""
    first = body.outputs[0]
    if first.dtype != ir.DataType.BOOL:
        raise Unsupported(f"the loop condition has type {first.dtype}, expected bool")


@handler("prim::RaiseException")
def prim_raise_exception(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::RaiseException(str msg, str? cls=None) -> ()"""
    raise Unsupported("the model raises an exception here on every run; ONNX cannot raise")


# ---- for-loop ranges -------------------------------------------------------------------------
def _const_ints(ctx: TranslationContext, node: TSNode) -> list[int] | None:
    """The node's int inputs if all are known now."""
    if all(ctx.is_const(v) for v in node.inputs):
        return [ctx.const_int(v) for v in node.inputs]
    return None


def _int_tensors(ctx: TranslationContext, node: TSNode) -> list[ir.Value]:
    """The node's int inputs as 0-d INT64 tensors."""
    scalar = ctx.constant([], ir.DataType.INT64)
    return [ctx.op("Reshape", ctx.tensor(v, ir.DataType.INT64), scalar) for v in node.inputs]


@handler("aten::__range_length")
def aten_range_length(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__range_length(int lo, int hi, int step) -> int (the length of range(lo, hi, step))"""
    step = ctx.const_int(node.inputs[2])
    if step == 0:
        raise Unsupported("range() with step 0")
    known = _const_ints(ctx, node)
    if known is not None:
        return len(range(known[0], known[1], step))
    lo, hi, _ = _int_tensors(ctx, node)
    # ceil(span / |step|), clamped at 0: truncating division is floor division where it matters.
    span = ctx.op("Sub", hi, lo) if step > 0 else ctx.op("Sub", lo, hi)
    size = abs(step)
    count = ctx.op("Div", ctx.op("Add", span, ctx.constant(size - 1)), ctx.constant(size))
    return ctx.op("Max", count, ctx.constant(0))


@handler("aten::__derive_index")
def aten_derive_index(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__derive_index(int index, int start, int step) -> int (start + index * step)"""
    known = _const_ints(ctx, node)
    if known is not None:
        return known[1] + known[0] * known[2]
    index, start, step = _int_tensors(ctx, node)
    return ctx.op("Add", start, ctx.op("Mul", index, step))
