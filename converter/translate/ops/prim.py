"""Structural ``prim::`` and scalar ``aten::`` nodes: constants, lists, tuples, sizes, numbers."""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import (
    Entry,
    RuntimeList,
    TranslationContext,
    Unsupported,
    is_tensor_list,
)
from converter.translate.ops.lists import sequence_at
from converter.translate.registry import handler

__all__ = ["SYMBOLIC_DIM"]

# Metadata key on a 0-d size tensor: the name of the symbolic input dim it measures.
SYMBOLIC_DIM = "jit2onnx.symbolic_dim"


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
    source = ctx.origin(node.inputs[0]).node()
    if source.kind() in ("prim::ListConstruct", "prim::TupleConstruct"):
        for out, item in zip(node.outputs, source.inputs(), strict=True):
            ctx.same_object(out, item)
    return tuple(items)


@handler("prim::TupleIndex", "aten::__getitem__.t")
def prim_tuple_index(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::TupleIndex(tuple, int) -> Any"""
    items = ctx.entry(node.inputs[0])
    if isinstance(items, RuntimeList) or (
        is_tensor_list(node.inputs[0]) and not ctx.is_const(node.inputs[1])
    ):
        return sequence_at(ctx, items, ctx.entry(node.inputs[1]))  # type: ignore[arg-type]
    if isinstance(items, ir.Value) and items.shape is not None and len(items.shape) == 1:
        # A 1-D tensor standing for a list of ints (e.g. a shape computed at run time).
        index = ctx.cast(ctx.tensor(node.inputs[1]), ir.DataType.INT64)
        return ctx.op("Gather", items, index, axis=0)
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
    return _runtime_dim(ctx, ctx.op("Shape", x), x, dim if dim >= 0 else dim + ctx.rank(x))


def _runtime_dim(ctx: TranslationContext, shape: ir.Value, x: ir.Value, dim: int) -> ir.Value:
    """Dim ``dim`` of ``x`` as a 0-d INT64 tensor, tagged with its symbolic name if it has one."""
    size = ctx.op("Gather", shape, ctx.constant(dim), axis=0)
    name = x.shape[dim].value if x.shape is not None else None  # type: ignore[union-attr]
    if isinstance(name, str):
        size.meta[SYMBOLIC_DIM] = name
    return size


@handler("aten::size")
def aten_size(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::size(Tensor self) -> int[] (a list of ints and 0-d tensors when the rank is known)"""
    x = ctx.tensor(node.input("self"))
    if x.shape is None:
        return ctx.op("Shape", x)
    if x.shape.is_static():
        return list(x.shape.numpy())
    shape = ctx.op("Shape", x)
    return [
        d if isinstance(d, int) else _runtime_dim(ctx, shape, x, i) for i, d in enumerate(x.shape)
    ]


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
        return py(value) if py else value
    if target is not None and ctx.rank(entry) != 0:
        entry = ctx.op("Reshape", entry, ctx.constant([], ir.DataType.INT64))
    return entry if target is None else ctx.cast(entry, target)


@handler("prim::device", "prim::dtype", "prim::layout")
def prim_device(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::device(Tensor a) -> Device; prim::dtype(Tensor a) -> int; prim::layout"""
    if node.kind == "prim::device":
        import torch

        return torch.device("cpu")  # the device the reference runs on; ONNX has none
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


@handler("prim::GetAttr")
def prim_get_attr(ctx: TranslationContext, node: TSNode) -> Entry:
    """prim::GetAttr[name](Module self) -> Any (an attribute freezing left: read from the module)"""
    owner = ctx.entry(node.inputs[0])
    name = node.raw.s("name")
    if owner is None or not hasattr(owner, name):
        raise Unsupported(f"attribute {name!r} of a module that is not known")
    value = getattr(owner, name)
    if hasattr(value, "detach"):  # a tensor: one initializer however often it is read
        return ctx.initializer(node.outputs[0].debugName(), value.detach())
    return value


@handler("aten::warn")
def aten_warn(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::warn(str message, int stacklevel=2) -> ()"""
    return ()
