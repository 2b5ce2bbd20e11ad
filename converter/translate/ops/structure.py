"""Python-level values in scripted graphs: dicts, None checks, casts, lengths, membership."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
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
    if isinstance(value, list | tuple | dict):
        return len(value)
    x = ctx.tensor(node.inputs[0])
    size = ctx.static_dim(x, 0)
    if size is not None:
        return size
    return ctx.op("Gather", ctx.op("Shape", x), ctx.constant(0), axis=0)


@handler("aten::__is__", "aten::__isnot__")
def aten_is(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::__is__(t1 self, t2 obj) -> bool (identity: only None checks are known statically)"""
    a, b = ctx.entry(node.inputs[0]), ctx.entry(node.inputs[1])
    if a is not None and b is not None:
        raise Unsupported("an identity check between two values that are not None")
    same = a is b
    return same if node.kind == "aten::__is__" else not same


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
    return ctx.entry(node.inputs[0])


@handler("prim::Uninitialized")
def prim_uninitialized(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::Uninitialized() -> Any (a placeholder on paths that raise)"""
    return None
