"""In-place writes that TorchScript's mutation removal leaves in the graph.

A handler computes the written tensor as a new ONNX value; ``write_back`` then rebinds the
TorchScript value that was written, the tensors it is a view of and the aliases that share its
memory, so every later read sees the new value. Writes inside a prim::If or prim::Loop to a
tensor defined outside it become extra branch outputs or loop-carried values
(``outer_writes`` lists them). Whatever cannot be followed exactly is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.ops.indexing import unview
from converter.translate.ops.shape_util import is_view

__all__ = ["is_in_place", "outer_writes", "write_back"]

# Ops whose output is the very tensor of their first input (not a reshaped or sliced view).
_SAME_TENSOR = frozenset(
    {"aten::detach", "aten::alias", "prim::unchecked_cast", "aten::_unwrap_optional"}
)
_CONTAINERS = frozenset({"prim::ListConstruct", "prim::TupleConstruct"})
_ELEMENTS = frozenset(
    {"prim::ListUnpack", "prim::TupleUnpack", "prim::TupleIndex", "aten::__getitem__"}
)
# Ops that put their other arguments into the list they are given first (in place).
_LIST_ADDERS = frozenset({"aten::append", "aten::insert", "aten::extend", "aten::add_"})


def _collections(user: torch._C.Node) -> list[torch._C.Value]:
    """The lists and tuples ``user`` makes, which may hold what it was given."""
    if user.kind() in _LIST_ADDERS:
        return []  # the list they write is followed through their first input
    kinds = (torch._C.ListType, torch._C.TupleType)
    return [out for out in user.outputs() if isinstance(out.type(), kinds)]


def _list_added_to(user: torch._C.Node, offset: int) -> torch._C.Value | None:
    """The list that ``user`` adds its input ``offset`` to, when it is such a list op."""
    if user.kind() not in _LIST_ADDERS or offset == 0:
        return None
    target = next(iter(user.inputs()))
    return target if isinstance(target.type(), torch._C.ListType) else None


def is_in_place(raw: torch._C.Node) -> bool:
    """True for an aten op that writes its first argument (``add_``, ``masked_fill_``...)."""
    kind = raw.kind()
    if not kind.startswith("aten::") or not kind.endswith("_") or kind.endswith("__"):
        return False
    first = next(iter(raw.inputs()), None)
    if first is not None and isinstance(first.type(), torch._C.ListType):
        return False  # a list written in place (``outs += [y]``): lists.py follows those
    schema = raw.schema()
    if schema == "(no schema)":
        return True
    args = torch._C.parse_schema(schema).arguments
    return bool(args) and args[0].alias_info is not None and args[0].alias_info.is_write


def _same_tensor(raw: torch._C.Node) -> bool:
    """The node's first output is its first input itself (an alias, not a view)."""
    return raw.kind() in _SAME_TENSOR or is_in_place(raw)


# ---- the write-back ---------------------------------------------------------------------------
def write_back(ctx: TranslationContext, node: TSNode, result: Entry) -> Entry:
    """Rebind the tensor an in-place ``node`` wrote (and what it is a view of) to ``result``."""
    if not isinstance(result, ir.Value):
        raise Unsupported("an in-place op that does not give a tensor")
    target: torch._C.Value = node.inputs[0]
    ctx.same_object(node.outputs[0], target)
    self_value = ctx.tensor(target)
    if result.dtype != self_value.dtype:  # an in-place result keeps the dtype of self
        result = ctx.cast(result, ctx.dtype(self_value))
    value = result
    link: torch._C.Node | None = node.raw
    while True:
        _check_no_stale_alias(ctx, target, node.raw, link)
        _rebind(ctx, target, value, node.raw)
        producer = target.node()
        if producer.kind() in _ELEMENTS:
            _check_element(producer, node.raw)
            return result
        if not is_view(producer):
            return result
        inputs = list(producer.inputs())
        base = inputs[0] if inputs else None
        if base is None or not isinstance(base.type(), torch._C.TensorType):
            raise Unsupported(f"in-place write to the output of {producer.kind()}")
        if _same_tensor(producer):
            written: ir.Value | None = value
        else:
            written = unview(ctx, TSNode(producer), ctx.tensor(base), value)
        if written is None:  # the "view" was a copy: its source is not affected
            return result
        target, link, value = base, producer, written


def _rebind(
    ctx: TranslationContext, target: torch._C.Value, new: ir.Value, node: torch._C.Node
) -> None:
    """Bind ``target``, its same-tensor aliases made before ``node`` and the lists holding it."""
    old = ctx.entry(target)
    ctx.bind(target, new)
    for use in target.uses():
        user = use.user
        if user is node or not user.isBefore(node):
            continue
        if _same_tensor(user) and use.offset == 0:
            _rebind(ctx, user.output(), new, node)
        elif (held := _list_added_to(user, use.offset)) is not None:
            _refresh_list(ctx, held, old, new, node, user)
        elif user.kind() in _CONTAINERS and _read_after(ctx, user.output(), node, user):
            if user.owningBlock() != node.owningBlock() or _passed_on(ctx, user.output(), node):
                raise Unsupported(
                    "in-place write to a tensor that a list or tuple made before it holds, "
                    "where that list is read after the write from inside a loop or branch, "
                    "or through another list made from it"
                )
            container = ctx.entry(user.output())
            if isinstance(container, list | tuple):
                items = [new if e is old else e for e in container]
                ctx.bind(user.output(), type(container)(items))


def _passed_on(ctx: TranslationContext, container: torch._C.Value, node: torch._C.Node) -> bool:
    """True if a list or tuple made before ``node`` from ``container`` is read after it."""
    for use in container.uses():
        user = use.user
        if user.isBefore(node) and _list_added_to(user, use.offset) is None:
            if any(_read_after(ctx, out, node, user) for out in _collections(user)):
                return True
    return False


def _refresh_list(
    ctx: TranslationContext,
    held: torch._C.Value,
    old: Entry,
    new: ir.Value,
    node: torch._C.Node,
    user: torch._C.Node,
) -> None:
    """A list that ``user`` added the written tensor to before ``node``: give it the new value
    where that is exact (a list kept in the translator, in the same block), else refuse."""
    if not _read_after(ctx, held, node, user):
        return
    items = ctx.entry(held)
    if not isinstance(items, list) or user.owningBlock() != node.owningBlock():
        raise Unsupported(
            f"in-place write to a tensor that {user.kind()} put in a list before the write, "
            "with the list read after it"
        )
    ctx.bind(held, [new if e is old else e for e in items])


def _check_element(producer: torch._C.Node, node: torch._C.Node) -> None:
    """A write to a tensor taken out of a list or tuple: refuse if the container is read again."""
    container = next(iter(producer.inputs()))
    if _read_after(None, container, node, producer):
        raise Unsupported(
            "in-place write to a tensor taken out of a list or tuple that is read after the write"
        )
    source = container.node()
    if source.kind() in _CONTAINERS:
        if any(_read_after(None, v, node, source) for v in source.inputs()):
            raise Unsupported(
                "in-place write to a tensor taken out of a list or tuple whose elements are "
                "read after the write"
            )
    elif source.kind() != "prim::Param":
        raise Unsupported(
            f"in-place write to a part of the list that {source.kind()} made, which is not "
            "translated back to the tensor it came from"
        )


# ---- stale views ------------------------------------------------------------------------------
def _check_no_stale_alias(
    ctx: TranslationContext,
    value: torch._C.Value,
    node: torch._C.Node,
    link: torch._C.Node | None,
) -> None:
    """Refuse when a view of ``value`` taken before ``node`` is read after it."""
    for use in value.uses():
        user = use.user
        if user is node or user is link or not user.isBefore(node) or _same_tensor(user):
            continue
        if _aliases(ctx, user) and any(_read_after(ctx, out, node, user) for out in user.outputs()):
            raise Unsupported(
                f"a view of the written tensor ({user.kind()}) is taken before the "
                "in-place write and read after it"
            )


def _aliases(ctx: TranslationContext | None, user: torch._C.Node) -> bool:
    """True if a node translated before may have made a view of its first input."""
    if not user.kind().startswith("aten::") or not is_view(user):
        return False
    if ctx is not None and user.kind() in ("aten::to", "aten::type_as"):
        # a view only when the dtype is kept
        try:
            source = ctx.entry(next(iter(user.inputs())))
            made = ctx.entry(next(iter(user.outputs())))
        except KeyError:
            return True
        if isinstance(source, ir.Value) and isinstance(made, ir.Value):
            return source.dtype == made.dtype
    return True


def _read_after(
    ctx: TranslationContext | None,
    value: torch._C.Value,
    node: torch._C.Node,
    made_by: torch._C.Node,
) -> bool:
    """True if ``value`` (made by ``made_by``) is read after ``node``: later in program order,
    or anywhere in a loop body that runs ``node`` again but was entered after ``made_by``."""
    loops = [
        lp for lp in _enclosing(node, "prim::Loop") if not _inside(made_by, next(iter(lp.blocks())))
    ]
    for use in value.uses():
        user = use.user
        if user.kind() == "prim::Return" or _after(user, node):
            return True
        held = _list_added_to(user, use.offset)
        if held is not None and _read_after(ctx, held, node, made_by):
            return True  # put in a list that is read later
        if any(_read_after(ctx, out, node, made_by) for out in _collections(user)):
            return True  # held by a list or tuple (made, joined or sliced) that is read later
        if any(_inside(user, next(iter(lp.blocks()))) for lp in loops):
            return True
        if _aliases(ctx, user) and any(
            _read_after(ctx, out, node, made_by) for out in user.outputs()
        ):
            return True
    return False


def _after(a: torch._C.Node, b: torch._C.Node) -> bool:
    block = b.owningBlock()
    while a.owningBlock() != block:
        owner = a.owningBlock().owningNode()
        if owner is None:
            return True
        a = owner
    return a != b and a.isAfter(b)


def _enclosing(node: torch._C.Node, kind: str) -> Iterator[torch._C.Node]:
    owner = node.owningBlock().owningNode()
    while owner is not None:
        if owner.kind() == kind:
            yield owner
        owner = owner.owningBlock().owningNode()


def _inside(node: torch._C.Node, block: torch._C.Block) -> bool:
    """True if ``node`` sits in ``block`` or in a block nested in it."""
    current: torch._C.Block | None = node.owningBlock()
    while current is not None:
        if current == block:
            return True
        owner = current.owningNode()
        current = owner.owningBlock() if owner is not None else None
    return False


# ---- writes inside blocks ---------------------------------------------------------------------
def outer_writes(owner: torch._C.Node) -> list[torch._C.Value]:
    """Tensors defined before the prim::If or prim::Loop ``owner`` that in-place ops inside its
    blocks write (directly, through a view, or through an alias): the values it must hand back."""
    found: dict[int, torch._C.Value] = {}
    for block in owner.blocks():
        for raw in _nodes(block):
            if is_in_place(raw):
                for value in _written(next(iter(raw.inputs()))):
                    if _defined_before(value, owner):
                        found.setdefault(value.unique(), value)
    return list(found.values())


def _defined_before(value: torch._C.Value, owner: torch._C.Node) -> bool:
    node = value.node()
    blocks = list(owner.blocks())
    if node.kind() == "prim::Param":  # a block's own input, or a graph input
        block_owner = node.owningBlock().owningNode()
        if block_owner is None:
            return True
        return block_owner != owner and not any(_inside(block_owner, b) for b in blocks)
    return not any(_inside(node, b) for b in blocks) and node.isBefore(owner)


def _written(target: torch._C.Value) -> Iterator[torch._C.Value]:
    """``target``, the tensors it is a view of, and their same-tensor aliases."""
    seen: set[int] = set()
    pending = [target]
    while pending:
        value = pending.pop()
        if value.unique() in seen:
            continue
        seen.add(value.unique())
        yield value
        producer = value.node()
        inputs = list(producer.inputs())
        if inputs and is_view(producer) and producer.kind().startswith("aten::"):
            pending.append(inputs[0])
        pending.extend(
            u.user.output() for u in value.uses() if u.offset == 0 and _same_tensor(u.user)
        )


def _nodes(block: torch._C.Block) -> Iterator[torch._C.Node]:
    for raw in block.nodes():
        yield raw
        for sub in raw.blocks():
            yield from _nodes(sub)
