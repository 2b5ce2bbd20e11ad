"""Structural ``prim::`` and scalar ``aten::`` nodes: constants, lists, tuples, sizes, numbers."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []


@handler("prim::Constant")
def prim_constant(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::Constant[value=...]() -> Any"""
    return ctx.entry(node.outputs[0])


@handler("prim::ListConstruct", "prim::TupleConstruct")
def prim_list_construct(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::ListConstruct(...) -> list"""
    items = [ctx.entry(v) for v in node.inputs]
    return items if node.kind == "prim::ListConstruct" else tuple(items)


@handler("prim::ListUnpack", "prim::TupleUnpack")
def prim_list_unpack(ctx: TranslationContext, node: TSNode) -> tuple[Entry, ...]:
    """prim::ListUnpack(list) -> (...)"""
    items = ctx.entry(node.inputs[0])
    if not isinstance(items, list | tuple) or len(items) != len(node.outputs):
        raise Unsupported(f"cannot unpack {type(items).__name__} into {len(node.outputs)} values")
    return tuple(items)


@handler("prim::TupleIndex", "aten::__getitem__.t")
def prim_tuple_index(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::TupleIndex(tuple, int) -> Any"""
    items = ctx.entry(node.inputs[0])
    if not isinstance(items, list | tuple):
        raise Unsupported("indexing a list computed at run time")
    return items[ctx.const_int(node.inputs[1])]


@handler("aten::size.int")
def aten_size_int(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::size.int(Tensor self, int dim) -> int"""
    x = ctx.tensor(node.input("self"))
    dim = ctx.const_int(node.input("dim"))
    static = ctx.static_dim(x, dim)
    if static is not None:
        return static
    shape = ctx.op("Shape", x)
    return ctx.op("Gather", shape, ctx.constant(dim if dim >= 0 else dim + ctx.rank(x)), axis=0)


@handler("aten::size")
def aten_size(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::size(Tensor self) -> int[]"""
    x = ctx.tensor(node.input("self"))
    if x.shape is not None and x.shape.is_static():
        return [int(d) for d in x.shape]  # type: ignore[call-overload]
    return ctx.op("Shape", x)


@handler("aten::dim")
def aten_dim(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::dim(Tensor self) -> int"""
    return ctx.rank(ctx.tensor(node.input("self")))


@handler("prim::NumToTensor", "aten::ScalarImplicit", "aten::Int", "aten::Float", "aten::Bool")
def prim_num_to_tensor(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::NumToTensor(Scalar a) -> Tensor; aten::Int/Float/Bool(Tensor a) -> number"""
    entry = ctx.entry(node.inputs[0])
    target = {
        "aten::Int": ir.DataType.INT64,
        "aten::Float": ir.DataType.FLOAT,
        "aten::Bool": ir.DataType.BOOL,
    }.get(node.kind)
    if not isinstance(entry, ir.Value):
        value = ctx.const(node.inputs[0])
        py = {"aten::Int": int, "aten::Float": float, "aten::Bool": bool}.get(node.kind)
        return py(value) if py else value  # type: ignore[operator]
    if target is not None and ctx.rank(entry) != 0:
        entry = ctx.op("Reshape", entry, ctx.constant([], ir.DataType.INT64))
    return entry if target is None else ctx.cast(entry, target)


@handler("prim::device", "prim::dtype", "prim::layout")
def prim_device(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::device(Tensor a) -> Device; prim::dtype(Tensor a) -> int"""
    if node.kind != "prim::dtype":
        return None
    from converter.translate import dtypes

    return _scalar_type_code(dtypes.to_torch(ctx.dtype(ctx.tensor(node.inputs[0]))))


def _scalar_type_code(dtype: object) -> int:
    import torch

    codes = {torch.uint8: 0, torch.int8: 1, torch.int16: 2, torch.int32: 3, torch.int64: 4}
    codes.update({torch.float16: 5, torch.float32: 6, torch.float64: 7, torch.bool: 11})
    codes[torch.bfloat16] = 15
    return codes[dtype]  # type: ignore[index]


@handler("aten::warn")
def aten_warn(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::warn(str message, int stacklevel=2) -> ()"""
    return ()
