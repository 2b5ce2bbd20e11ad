"""Scripted control flow: prim::If and prim::Loop become ONNX If and Loop with subgraphs."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
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
    written = outer_writes(node.raw)
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
        out.shape = t.shape if t.shape == e.shape else _rank_only(t.shape)
    for ts_value, out in zip(written, outs[count:], strict=True):
        ctx.bind(ts_value, out)  # a tensor a branch wrote in place
    return _single(outs[:count])


def _same_kinds(then_graph: ir.Graph, else_graph: ir.Graph) -> None:
    """ONNX If outputs have one type and rank whichever branch runs."""
    for t, e in zip(then_graph.outputs, else_graph.outputs, strict=True):
        if t.dtype != e.dtype:
            raise Unsupported(f"the branches give different dtypes ({t.dtype} and {e.dtype})")
        if t.shape is not None and e.shape is not None and len(t.shape) != len(e.shape):
            raise Unsupported(
                f"the branches give different ranks ({len(t.shape)} and {len(e.shape)})"
            )


@handler("prim::Loop")
def prim_loop(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """prim::Loop(int max_trip_count, bool cond, *carried) -> (*carried)"""
    trip, cond0, *carried = node.inputs
    # Tensors defined before the loop that its body writes in place are carried too.
    written = outer_writes(node.raw)
    initial = [_carried(ctx, v) for v in carried] + [ctx.tensor(v) for v in written]
    max_trip = None
    if not (ctx.is_const(trip) and ctx.const(trip) == _INT64_MAX):
        max_trip = ctx.cast(ctx.tensor(trip), ir.DataType.INT64)
    cond = ctx.cast(ctx.tensor(cond0), ir.DataType.BOOL)
    body = _loop_body(ctx, node, initial, written)
    if not initial:
        return ()
    outs = ctx.op_multi("Loop", max_trip, cond, *initial, num_outputs=len(initial), body=body)
    for out, v in zip(outs, initial, strict=True):
        out.type = v.type
        out.shape = _rank_only(v.shape)
    count = len(carried)
    for ts_value, out in zip(written, outs[count:], strict=True):
        ctx.bind(ts_value, out)
    return _single(outs[:count])


def _carried(ctx: TranslationContext, value: torch._C.Value) -> ir.Value:
    if isinstance(ctx.entry(value), list | tuple):
        raise Unsupported("a loop that carries a list is not supported yet")
    return ctx.tensor(value)


def _loop_body(
    ctx: TranslationContext,
    node: TSNode,
    initial: list[ir.Value],
    written: list[torch._C.Value],
) -> ir.Graph:
    """The ONNX Loop body: (iteration, condition, *carried) -> (condition, *carried)."""
    iteration = _scalar_input(ctx.fresh_name("iteration"), ir.DataType.INT64)
    cond_in = _scalar_input(ctx.fresh_name("cond_in"), ir.DataType.BOOL)
    state = [
        ir.Value(name=ctx.fresh_name(f"carried_{i}"), type=v.type, shape=_rank_only(v.shape))
        for i, v in enumerate(initial)
    ]
    count = len(initial) - len(written)
    body = ctx.block_graph(
        node.blocks[0],
        "loop_body",
        [iteration, cond_in, *state],
        [iteration, *state[:count]],
        written=written,
        written_inputs=state[count:],
    )
    _bool_condition(body)
    names = [v.debugName() for v in node.inputs[2:]] + [v.debugName() for v in written]
    _same_ranks(body, state, names)
    return body


def _same_ranks(body: ir.Graph, state: list[ir.Value], names: list[str]) -> None:
    """A loop-carried tensor must keep its rank and type from one iteration to the next."""
    for name, out, start in zip(names, body.outputs[1:], state, strict=True):
        if out.dtype != start.dtype or (
            out.shape is not None and start.shape is not None and len(out.shape) != len(start.shape)
        ):
            raise Unsupported(
                f"loop-carried tensor %{name} changes its type or rank inside the loop body "
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
