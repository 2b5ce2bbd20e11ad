"""Scripted control flow: prim::If and prim::Loop become ONNX If and Loop with subgraphs."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

_INT64_MAX = 9223372036854775807


def _raises(block: torch._C.Block) -> bool:
    return any(n.kind() == "prim::RaiseException" for n in block.nodes())


def _single(results: tuple[Entry, ...]) -> Entry | tuple[Entry, ...]:
    return results[0] if len(results) == 1 else results


@handler("prim::If")
def prim_if(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """prim::If(bool cond) -> (...), with a then-block and an else-block"""
    then_block, else_block = node.blocks
    if _raises(then_block) != _raises(else_block):
        # An argument check: the model only computes on the branch that does not raise.
        return _single(ctx.inline_block(else_block if _raises(then_block) else then_block))
    if ctx.is_const(node.inputs[0]):
        chosen = then_block if ctx.const(node.inputs[0]) else else_block
        return _single(ctx.inline_block(chosen))
    cond = ctx.cast(ctx.tensor(node.inputs[0]), ir.DataType.BOOL)
    then_graph = ctx.block_graph(then_block, "then_branch")
    else_graph = ctx.block_graph(else_block, "else_branch")
    for t, e in zip(then_graph.outputs, else_graph.outputs, strict=True):
        if t.dtype != e.dtype:
            raise Unsupported(f"the branches give different dtypes ({t.dtype} and {e.dtype})")
    if not node.outputs:
        return ()
    outs = ctx.op_multi(
        "If",
        cond,
        num_outputs=len(node.outputs),
        then_branch=then_graph,
        else_branch=else_graph,
    )
    for out, t, e in zip(outs, then_graph.outputs, else_graph.outputs, strict=True):
        out.type = t.type
        out.shape = t.shape if t.shape == e.shape else _rank_only(t.shape)
    return _single(outs)


@handler("prim::Loop")
def prim_loop(ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]:
    """prim::Loop(int max_trip_count, bool cond, *carried) -> (*carried)"""
    trip, cond0, *carried = node.inputs
    initial = []
    for value in carried:
        entry = ctx.entry(value)
        if isinstance(entry, list | tuple):
            raise Unsupported("a loop that carries a list is not supported yet")
        initial.append(ctx.tensor(value))
    max_trip = None
    if not (ctx.is_const(trip) and ctx.const(trip) == _INT64_MAX):
        max_trip = ctx.cast(ctx.tensor(trip), ir.DataType.INT64)
    cond = ctx.cast(ctx.tensor(cond0), ir.DataType.BOOL)
    iteration = _scalar_input("iteration", ir.DataType.INT64)
    cond_in = _scalar_input("cond_in", ir.DataType.BOOL)
    state = [
        ir.Value(name=f"carried_{i}", type=v.type, shape=_rank_only(v.shape))
        for i, v in enumerate(initial)
    ]
    body = ctx.block_graph(
        node.blocks[0], "loop_body", [iteration, cond_in, *state], [iteration, *state]
    )
    _bool_condition(body)
    if not node.outputs:
        return ()
    outs = ctx.op_multi("Loop", max_trip, cond, *initial, num_outputs=len(initial), body=body)
    for out, v in zip(outs, initial, strict=True):
        out.type = v.type
        out.shape = _rank_only(v.shape)
    return _single(outs)


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
