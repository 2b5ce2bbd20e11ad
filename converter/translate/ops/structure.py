"""Python-level values in scripted graphs: dicts, None checks, casts, lengths, membership."""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, RuntimeList, TranslationContext, Unsupported
from converter.translate.ops.lists import sequence_length
from converter.translate.registry import handler

__all__: list[str] = []


@handler("prim::DictConstruct")
def prim_dict_construct(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::DictConstruct(k0, v0, k1, v1, ...) -> Dict"""
    items = [ctx.entry(v) for v in node.inputs]
    keys = [ctx.const(v) for v in node.inputs[0::2]]
    return dict(zip(keys, items[1::2], strict=True))


@handler("aten::__getitem__.Dict_str", "aten::__getitem__.Dict_int")
def aten_getitem_dict(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__getitem__.Dict_str(Dict(str, t) self, str key) -> t"""
    mapping = ctx.entry(node.inputs[0])
    if not isinstance(mapping, dict):
        raise Unsupported("indexing a dict built at run time")
    key = ctx.const(node.inputs[1])
    if key not in mapping:
        raise Unsupported(f"key {key!r} is not in the dict")
    return mapping[key]


@handler("aten::len.t", "aten::len.Dict_str", "aten::len.Tensor")
def aten_len(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::len.t(t[] a) -> int"""
    value = ctx.entry(node.inputs[0])
    if isinstance(value, RuntimeList):
        return sequence_length(ctx, value)
    if isinstance(value, list | tuple | dict):
        return len(value)
    x = ctx.tensor(node.inputs[0])
    size = ctx.static_dim(x, 0)
    if size is not None:
        return size
    return ctx.op("Gather", ctx.op("Shape", x), ctx.constant(0), axis=0)


@handler("aten::__is__", "aten::__isnot__")
def aten_is(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__is__(t1 self, t2 obj) -> bool (identity: known for None, for one value seen twice
    and for two different model inputs)"""
    a, b = ctx.entry(node.inputs[0]), ctx.entry(node.inputs[1])
    if a is None or b is None:
        same = a is b
    else:
        first, second = ctx.origin(node.inputs[0]), ctx.origin(node.inputs[1])
        if first.unique() == second.unique():
            same = True
        elif _graph_input(first) and _graph_input(second):
            same = False  # separate ONNX inputs are separate tensors
        elif _fresh(first) or _fresh(second):
            same = False
        else:
            raise Unsupported(
                "an identity check between two values that are not None (made by "
                f"{first.node().kind()} and {second.node().kind()})"
            )
    return same if node.kind == "aten::__is__" else not same


# aten ops that may hand back their input object itself
_MAY_RETURN_SELF = frozenset({"aten::to", "aten::type_as", "aten::contiguous", "aten::__getitem__"})


def _fresh(value: torch._C.Value) -> bool:
    """True if ``value`` is a tensor object an aten op just made (no other value is it)."""
    node = value.node()
    kind = node.kind()
    if not kind.startswith("aten::") or kind in _MAY_RETURN_SELF or kind.endswith("_"):
        return False
    schema = node.schema()
    if schema == "(no schema)":
        return False
    returns = torch._C.parse_schema(schema).returns
    return all(r.alias_info is None or not r.alias_info.is_write for r in returns)


def _graph_input(value: torch._C.Value) -> bool:
    node = value.node()
    return node.kind() == "prim::Param" and node.owningBlock().owningNode() is None


@handler("aten::__not__")
def aten_not(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__not__(bool self) -> bool"""
    value = ctx.entry(node.inputs[0])
    if isinstance(value, bool):
        return not value
    return ctx.op("Not", ctx.cast(ctx.tensor(node.inputs[0]), ir.DataType.BOOL))


@handler("aten::__contains__")
def aten_contains(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__contains__.int_list(int[] l, int item) -> bool"""
    container, item = ctx.entry(node.inputs[0]), node.inputs[1]
    if isinstance(container, dict):
        return ctx.const(item) in container
    return ctx.const(item) in ctx.const(node.inputs[0])  # type: ignore[operator]


@handler("prim::unchecked_cast", "aten::_unwrap_optional")
def prim_unchecked_cast(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::unchecked_cast(t x) -> t (a type refinement: the value is unchanged)"""
    ctx.same_object(node.outputs[0], node.inputs[0])
    return ctx.entry(node.inputs[0])


@handler("prim::Uninitialized")
def prim_uninitialized(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::Uninitialized() -> Any (a placeholder on paths that raise)"""
    return None


# ---- questions about the run: an ONNX graph runs without autograd, autocast or nested tensors --
@handler("aten::is_grad_enabled", "aten::is_autocast_enabled")
def aten_is_grad_enabled(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::is_grad_enabled() -> bool; aten::is_autocast_enabled() -> bool: False in ONNX"""
    return False


@handler("prim::requires_grad", "prim::is_nested")
def prim_requires_grad(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::requires_grad(Tensor a) -> bool; prim::is_nested(Tensor a) -> bool: False in ONNX"""
    return False


@handler("prim::type")
def prim_type(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::type(Device self) -> str"""
    device = ctx.entry(node.inputs[0])
    if not isinstance(device, torch.device):
        raise Unsupported(f"the type of a device that is not known ({device!r})")
    return device.type


# ---- strings and constant lists -------------------------------------------------------------
@handler("aten::len.str")
def aten_len_str(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::len.str(str s) -> int"""
    return len(str(ctx.const(node.inputs[0])))


@handler("aten::format")
def aten_format(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::format(str self, ...) -> str (of constant arguments)"""
    template = str(ctx.const(node.inputs[0]))
    return template.format(*(_text(ctx.const(v)) for v in node.inputs[1:]))


def _text(value: object) -> str:
    """How TorchScript prints a value in a formatted string (floats with 17 significant
    digits, and a trailing dot when whole: ``2.``)."""
    if isinstance(value, float) and not isinstance(value, bool):
        text = f"{value:.17g}"
        if text.lstrip("-").isdigit():
            text += "."
        return text
    return str(value)


@handler("aten::all.bool", "aten::all.int", "aten::any.bool", "aten::any.int")
def aten_all_list(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::all.bool(bool[] self) -> bool; any.bool; all.int and any.int likewise"""
    values = ctx.const(node.inputs[0])
    if not isinstance(values, list | tuple):
        raise Unsupported("all() or any() of a list computed at run time")
    return all(values) if node.kind == "aten::all" else any(values)
