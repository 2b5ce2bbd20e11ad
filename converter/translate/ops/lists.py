"""Lists written in place (``append``, ``insert``, ``pop``, ``extend``, ``+=``, ``del``, ``clear``),
and lists of tensors built at run time.

Outside loops a list stays a Python list of entries, and these ops edit it at conversion time.
A ``List[Tensor]`` that a prim::Loop body writes (or that the loop carries) becomes an ONNX
sequence at the loop boundary: a ``RuntimeList`` the loop carries as a loop-carried value, edited
with SequenceInsert and SequenceErase. ``stack``, ``cat``, ``len`` and indexing read it with
ConcatFromSequence, SequenceLength and SequenceAt; anything else that needs its items refuses.
"""

from __future__ import annotations

from collections.abc import Iterator

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
from converter.translate.registry import handler

__all__ = ["list_writes", "sequence_at", "sequence_concat", "sequence_join", "sequence_length"]

# Ops that write the list they are given first (in place), and what else may use such a list.
_WRITERS = frozenset(
    {
        "aten::append",
        "aten::insert",
        "aten::pop",
        "aten::extend",
        "aten::add_",  # ``outs += other`` on a list
        "aten::Delete",
        "aten::clear",
    }
)
_LIST_READERS = _WRITERS | {
    "aten::add",  # ``a + b``: a new list with the items both have at that point
    "aten::stack",
    "aten::cat",
    "aten::len",
    "aten::__getitem__",
    "prim::Return",
}
_INT64 = ir.DataType.INT64


@handler("aten::append.t")
def aten_append(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::append.t(t[](a!) self, t(c -> *) el) -> t[](a!)"""
    target = node.inputs[0]
    items = _written_list(ctx, target, "appending to")
    element = ctx.entry(node.inputs[1])
    if isinstance(items, RuntimeList):
        result: Entry = RuntimeList(_insert(ctx, items.value, ctx.as_tensor(element), None))
    else:
        result = [*items, element]
    ctx.bind(target, result)  # the list is written in place: later reads see the new items
    ctx.same_object(node.outputs[0], target)
    return result


@handler("aten::insert.t")
def aten_insert(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::insert.t(t[](a!) self, int idx, t(b -> *) el) -> ()"""
    target, index = node.input("self"), node.input("idx")
    items = _written_list(ctx, target, "inserting into")
    element = ctx.entry(node.input("el"))
    if isinstance(items, list) and not items:
        result: Entry = [element]  # any position puts the item in an empty list
    elif isinstance(items, list) and ctx.is_const(index):
        result = list(items)
        result.insert(ctx.const_int(index), element)  # Python's clamping is TorchScript's
    else:
        seq = _run_time(ctx, target, items, "inserting into")
        position = _insert_position(ctx, seq, index)
        result = RuntimeList(_insert(ctx, seq, ctx.as_tensor(element), position))
    ctx.bind(target, result)
    return ()


@handler("aten::pop.t")
def aten_pop(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::pop.t(t[](a!) self, int idx=-1) -> t(*)"""
    target, index = node.input("self"), node.input("idx")
    items = _written_list(ctx, target, "popping from")
    if isinstance(items, list) and (ctx.is_const(index) or not items):
        i = _item_index(ctx, index, len(items), "pop")
        ctx.bind(target, items[:i] + items[i + 1 :])
        return items[i]
    # Out of range at run time: SequenceAt and SequenceErase fail, as TorchScript raises.
    seq = _run_time(ctx, target, items, "popping from")
    position = ctx.tensor(index, _INT64)
    item = sequence_at(ctx, RuntimeList(seq), position)
    ctx.bind(target, RuntimeList(_erase(ctx, seq, position)))
    return item


@handler("aten::Delete.t")
def aten_delete(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::Delete.t(t[](a!) self, int idx) -> ()"""
    target, index = node.input("self"), node.input("idx")
    items = _written_list(ctx, target, "deleting from")
    if isinstance(items, list) and (ctx.is_const(index) or not items):
        i = _item_index(ctx, index, len(items), "del")
        result: Entry = items[:i] + items[i + 1 :]
    else:  # out of range at run time: SequenceErase fails, as TorchScript raises
        seq = _run_time(ctx, target, items, "deleting from")
        result = RuntimeList(_erase(ctx, seq, ctx.tensor(index, _INT64)))
    ctx.bind(target, result)
    return ()


@handler("aten::extend.t")
def aten_extend(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::extend.t(t[](a!) self, t[] other) -> ()"""
    _extend(ctx, node.input("self"), node.input("other"))
    return ()


@handler("aten::add_.t")
def aten_add_list(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::add_.t(t[](a!) self, t[] b) -> t[]"""
    target = node.input("self")
    result = _extend(ctx, target, node.input("b"))
    ctx.same_object(node.outputs[0], target)
    return result


def _extend(ctx: TranslationContext, target: torch._C.Value, more: torch._C.Value) -> Entry:
    """Append the items of ``more`` to the list ``target`` in place; the list after it."""
    items = _written_list(ctx, target, "extending")
    other = ctx.entry(more)
    if not isinstance(other, list | tuple | RuntimeList):
        raise Unsupported(f"extending a list with a {type(other).__name__}")
    if isinstance(items, list) and isinstance(other, list | tuple):
        result: Entry = [*items, *other]
    else:
        result = sequence_concat(ctx, items, other)
    ctx.bind(target, result)
    return result


@handler("aten::clear.t")
def aten_clear(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::clear.t(t[](a!) self) -> ()"""
    target = node.input("self")
    items = _written_list(ctx, target, "clearing")
    result: Entry = []
    if isinstance(items, RuntimeList):
        seq = items.value
        if seq.type is None:
            raise Unsupported(_UNTYPED.format(what="clearing"))
        empty = ctx.op("SequenceEmpty", dtype=ctx.dtype(seq))
        empty.type, empty.shape = seq.type, seq.shape
        result = RuntimeList(empty)
    ctx.bind(target, result)
    return ()


_UNTYPED = (
    "{what} a list that is empty before the loop, inside the loop before anything is added: "
    "its element type is not known there (start the list with an item)"
)


def _written_list(
    ctx: TranslationContext, target: torch._C.Value, verb: str
) -> list[Entry] | RuntimeList:
    """The list an in-place list op writes, checked to have no alias that would miss it."""
    _check_uses(target, verb)
    items = ctx.entry(target)
    if isinstance(items, RuntimeList):
        return items
    if isinstance(items, list | tuple):
        return list(items)
    raise Unsupported(f"{verb} a {type(items).__name__}")


def _check_uses(target: torch._C.Value, verb: str) -> None:
    """A written list must be one value that only known readers use (no alias to update)."""
    if target.node().kind() not in ("prim::ListConstruct", "prim::Param"):
        raise Unsupported(f"{verb} a list made by {target.node().kind()}")
    for use in target.uses():
        kind = use.user.kind()
        if kind not in _LIST_READERS and not (kind == "prim::Loop" and use.offset >= 2):
            raise Unsupported(f"{verb} a list that {kind} also uses")


def _run_time(
    ctx: TranslationContext, target: torch._C.Value, items: list[Entry] | RuntimeList, verb: str
) -> ir.Value:
    """The list as an ONNX sequence, for a position only known at run time."""
    if isinstance(items, RuntimeList):
        return items.value
    if not is_tensor_list(target):
        raise Unsupported(f"{verb} a list of non-tensors at a position only known at run time")
    return ctx.as_sequence(items)


def _item_index(ctx: TranslationContext, index: torch._C.Value, size: int, what: str) -> int:
    """A constant index of an item of a list of ``size`` items, as TorchScript checks it."""
    if size == 0:
        raise Unsupported(f"{what} from an empty list, which raises in TorchScript")
    i = ctx.const_int(index)
    if not -size <= i < size:
        raise Unsupported(
            f"{what} index {i} is out of range for a list of {size} items, "
            "which raises in TorchScript"
        )
    return i % size


def _insert_position(ctx: TranslationContext, seq: ir.Value, index: torch._C.Value) -> ir.Value:
    """Where ``list.insert(index, x)`` puts ``x``: negative counts from the end, then clamped
    to [0, len] (SequenceInsert itself refuses positions out of range)."""
    if ctx.is_const(index) and ctx.const_int(index) == 0:
        return ctx.constant(0)
    i = ctx.tensor(index, _INT64)
    size = sequence_length(ctx, RuntimeList(seq))
    if ctx.is_const(index):
        if ctx.const_int(index) > 0:
            return ctx.op("Min", i, size)
        return ctx.op("Max", ctx.op("Add", i, size), ctx.constant(0))
    negative = ctx.op("Less", i, ctx.constant(0))
    shifted = ctx.op("Where", negative, ctx.op("Add", i, size), i)
    return ctx.op("Min", ctx.op("Max", shifted, ctx.constant(0)), size)


def _insert(ctx: TranslationContext, seq: ir.Value, x: ir.Value, at: ir.Value | None) -> ir.Value:
    """``seq`` with ``x`` inserted at position ``at`` (at the end for None), typed by ``x``."""
    if seq.type is not None and seq.dtype != x.dtype:
        raise Unsupported(f"adding a {x.dtype} tensor to a list of {seq.dtype} tensors")
    if seq.shape is not None and x.shape is not None and len(seq.shape) != len(x.shape):
        raise Unsupported("adding a tensor of another rank than the list's tensors to a list")
    out = ctx.op("SequenceInsert", seq, x, at)
    out.type = ir.SequenceType(ir.TensorType(ctx.dtype(x)))
    out.shape = None if x.shape is None else ir.Shape([None] * len(x.shape))
    return out


def _erase(ctx: TranslationContext, seq: ir.Value, at: ir.Value) -> ir.Value:
    """``seq`` without its item at position ``at`` (negative counts from the end)."""
    out = ctx.op("SequenceErase", seq, at)
    out.type, out.shape = seq.type, seq.shape
    return out


def _append_all(ctx: TranslationContext, seq: ir.Value, other: ir.Value) -> ir.Value:
    """``seq`` with the items of the sequence ``other`` added at its end: an ONNX Loop."""
    if seq.type is not None and other.type is not None and seq.type != other.type:
        raise Unsupported(f"adding a list of {other.dtype} tensors to one of {seq.dtype} tensors")
    kind, shape = seq.type or other.type, seq.shape if seq.shape is not None else other.shape
    position = ir.Value(name=ctx.fresh_name("position"), type=ir.TensorType(_INT64))
    position.shape = ir.Shape([])
    cond = ir.Value(name=ctx.fresh_name("cond"), type=ir.TensorType(ir.DataType.BOOL))
    cond.shape = ir.Shape([])
    carried = ir.Value(name=ctx.fresh_name("items"), type=kind, shape=shape)
    read = ir.Node("", "SequenceAt", [other, position], name=ctx.fresh_name("SequenceAt"))
    add = ir.Node("", "SequenceInsert", [carried, read.outputs[0]], name=ctx.fresh_name("Insert"))
    keep = ir.Node("", "Identity", [cond], name=ctx.fresh_name("Identity"))
    for value, name in zip(
        (read.outputs[0], add.outputs[0], keep.outputs[0]), ("item", "items", "cond"), strict=True
    ):
        value.name = ctx.fresh_name(name)
    read.outputs[0].type = None if kind is None else ir.TensorType(ctx.dtype(other))
    add.outputs[0].type, add.outputs[0].shape = kind, shape
    keep.outputs[0].type, keep.outputs[0].shape = cond.type, cond.shape
    body = ir.Graph(
        [position, cond, carried],
        [keep.outputs[0], add.outputs[0]],
        nodes=[read, add, keep],
        name="extend_body",
    )
    count = sequence_length(ctx, RuntimeList(other))
    out = ctx.op("Loop", count, None, seq, body=body)
    out.type, out.shape = kind, shape
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
            seq = _insert(ctx, seq, ctx.as_tensor(item), ctx.constant(i))
        return RuntimeList(seq)
    if isinstance(a, RuntimeList) and isinstance(b, RuntimeList):
        return RuntimeList(_append_all(ctx, a.value, b.value))
    raise Unsupported(f"adding a {type(b).__name__} to a {type(a).__name__} as lists")


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
    """Lists defined before the prim::If or prim::Loop ``owner`` that its blocks write."""
    found: dict[int, torch._C.Value] = {}
    for block in owner.blocks():
        for raw in _nodes(block):
            if raw.kind() in _WRITERS:
                target = next(iter(raw.inputs()))
                if not isinstance(target.type(), torch._C.ListType):
                    continue  # ``x.add_(y)`` on a tensor: mutation.py follows it
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
