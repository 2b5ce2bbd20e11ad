"""Lists of tensors built at run time: ``append`` in a loop, read back after it.

Outside loops a list stays a Python list of entries. A ``List[Tensor]`` that a prim::Loop
body appends to (or that the loop carries) becomes an ONNX sequence at the loop boundary: a
``RuntimeList`` the loop carries as a loop-carried value. ``stack``, ``cat``, ``len`` and
indexing read it with ConcatFromSequence, SequenceLength and SequenceAt; anything else that
needs its items refuses.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, RuntimeList, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__ = ["list_writes", "sequence_at", "sequence_concat", "sequence_join", "sequence_length"]

# What may use a list that is appended to: reads these handlers know, and the appends.
_LIST_READERS = frozenset(
    {
        "aten::append",
        "aten::stack",
        "aten::cat",
        "aten::len",
        "aten::__getitem__",
        "prim::Return",
    }
)


@handler("aten::append.t")
def aten_append(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::append.t(t[](a!) self, t(c -> *) el) -> t[](a!)"""
    target = node.inputs[0]
    _check_uses(target)
    items = ctx.entry(target)
    element = ctx.entry(node.inputs[1])
    if isinstance(items, RuntimeList):
        result: Entry = RuntimeList(_insert(ctx, items.value, ctx.as_tensor(element), None))
    elif isinstance(items, list):
        result = [*items, element]
    else:
        raise Unsupported(f"appending to a {type(items).__name__}")
    ctx.bind(target, result)  # the list is written in place: later reads see the new items
    ctx.same_object(node.outputs[0], target)
    return result


def _check_uses(target: torch._C.Value) -> None:
    """An appended list must be one value that only known readers use (no alias to update)."""
    if target.node().kind() not in ("prim::ListConstruct", "prim::Param"):
        raise Unsupported(f"appending to a list made by {target.node().kind()}")
    for use in target.uses():
        kind = use.user.kind()
        if kind not in _LIST_READERS and not (kind == "prim::Loop" and use.offset >= 2):
            raise Unsupported(f"appending to a list that {kind} also uses")


def _insert(ctx: TranslationContext, seq: ir.Value, x: ir.Value, at: int | None) -> ir.Value:
    """``seq`` with ``x`` inserted at ``at`` (at the end for None), typed by ``x``."""
    if seq.type is not None and seq.dtype != x.dtype:
        raise Unsupported(f"adding a {x.dtype} tensor to a list of {seq.dtype} tensors")
    if seq.shape is not None and x.shape is not None and len(seq.shape) != len(x.shape):
        raise Unsupported("adding a tensor of another rank than the list's tensors to a list")
    position = None if at is None else ctx.constant(at)
    out = ctx.op("SequenceInsert", seq, x, position)
    out.type = ir.SequenceType(ir.TensorType(ctx.dtype(x)))
    out.shape = None if x.shape is None else ir.Shape([None] * len(x.shape))
    return out


def sequence_concat(ctx: TranslationContext, a: Entry, b: Entry) -> RuntimeList:
    """``a + b`` for lists of tensors where one of them is a run-time list."""
    if isinstance(a, RuntimeList) and isinstance(b, list | tuple):
        seq = a.value
        for item in b:
            seq = _insert(ctx, seq, ctx.as_tensor(item), None)
        return RuntimeList(seq)
    if isinstance(b, RuntimeList) and isinstance(a, list | tuple):
        seq = b.value
        for i, item in enumerate(a):
            seq = _insert(ctx, seq, ctx.as_tensor(item), i)
        return RuntimeList(seq)
    raise Unsupported("adding two lists whose lengths are only known at run time")


def sequence_join(
    ctx: TranslationContext, items: RuntimeList, dim: int, new_axis: bool
) -> ir.Value:
    """``torch.stack`` (``new_axis``) or ``torch.cat`` of a run-time list along ``dim``."""
    seq = items.value
    if seq.shape is None:
        raise Unsupported("the rank of the list's tensors is not known")
    rank = len(seq.shape) + int(new_axis)
    if not -rank <= dim < rank:
        raise Unsupported(f"dim {dim} is out of range for rank {rank}")
    axis = dim % rank
    out = ctx.op("ConcatFromSequence", seq, axis=axis, new_axis=int(new_axis))
    out.type = ir.TensorType(ctx.dtype(seq))
    out.shape = ir.Shape([None] * rank)
    return out


def sequence_length(ctx: TranslationContext, items: RuntimeList) -> ir.Value:
    """``len`` of a run-time list: a 0-d INT64 tensor."""
    out = ctx.op("SequenceLength", items.value)
    out.type, out.shape = ir.TensorType(ir.DataType.INT64), ir.Shape([])
    return out


def sequence_at(ctx: TranslationContext, items: RuntimeList | list[Entry], index: Entry) -> Entry:
    """Item ``index`` (negative counts from the end) of a list, at run time."""
    seq = items.value if isinstance(items, RuntimeList) else ctx.as_sequence(items)
    if seq.type is None:
        raise Unsupported(
            "reading an item of a list that is empty before the loop, inside the loop: "
            "its element type is not known there (start the list with an item)"
        )
    position = ctx.cast(ctx.as_tensor(index), ir.DataType.INT64)
    out = ctx.op("SequenceAt", seq, position)
    out.type = ir.TensorType(ctx.dtype(seq))
    out.shape = None if seq.shape is None else ir.Shape([None] * len(seq.shape))
    return out


def list_writes(owner: torch._C.Node) -> list[torch._C.Value]:
    """Lists defined before the prim::If or prim::Loop ``owner`` that its blocks append to."""
    found: dict[int, torch._C.Value] = {}
    for block in owner.blocks():
        for raw in _nodes(block):
            if raw.kind() == "aten::append":
                target = next(iter(raw.inputs()))
                if not _inside_owner(target.node(), owner):
                    found.setdefault(target.unique(), target)
    return list(found.values())


def _inside_owner(node: torch._C.Node, owner: torch._C.Node) -> bool:
    """True if ``node`` sits in one of the blocks of ``owner`` (a block input counts too)."""
    while True:
        block_owner = node.owningBlock().owningNode()
        if block_owner is None:
            return False
        if block_owner == owner:
            return True
        node = block_owner


def _nodes(block: torch._C.Block) -> Iterator[torch._C.Node]:
    for raw in block.nodes():
        yield raw
        for sub in raw.blocks():
            yield from _nodes(sub)
