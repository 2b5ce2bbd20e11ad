"""Ops that archives saved by older torch versions still hold after loading.

Old spellings such as ``aten::_cast_Long`` load unchanged. Archives saved before an op changed
meaning are rewritten on load by torch's operator upgraders
(``torch._C._get_operator_version_map()``): integer ``aten::div`` before file format 4, for
instance, becomes a test of ``aten::is_floating_point`` that picks true or truncating division.
The dtype tests answer from the translated value's ONNX type, so the chosen branch is inlined.
``aten::logspace`` is what the upgrader of ``logspace`` without ``steps`` (format 8 and older)
calls.
"""

from __future__ import annotations

import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.context import Entry, TranslationContext, Unsupported
from converter.translate.registry import handler

__all__: list[str] = []

_CASTS = {
    "aten::_cast_Byte": ir.DataType.UINT8,
    "aten::_cast_Char": ir.DataType.INT8,
    "aten::_cast_Short": ir.DataType.INT16,
    "aten::_cast_Int": ir.DataType.INT32,
    "aten::_cast_Long": ir.DataType.INT64,
    "aten::_cast_Half": ir.DataType.FLOAT16,
    "aten::_cast_Float": ir.DataType.FLOAT,
    "aten::_cast_Double": ir.DataType.DOUBLE,
}
_COMPLEX = (ir.DataType.COMPLEX64, ir.DataType.COMPLEX128)


@handler(*_CASTS)
def aten_cast(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::_cast_Long(Tensor self, bool non_blocking=False) -> Tensor (and the other _cast_*)"""
    return ctx.cast(ctx.tensor(node.input("self")), _CASTS[node.kind])


@handler("aten::is_floating_point", "aten::is_complex", "aten::is_signed")
def aten_is_floating_point(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::is_floating_point(Tensor self) -> bool; is_complex, is_signed"""
    dtype = ctx.dtype(ctx.tensor(node.input("self")))
    if node.kind == "aten::is_floating_point":
        return dtype.is_floating_point()
    if node.kind == "aten::is_complex":
        return dtype in _COMPLEX
    return dtype.is_signed()


@handler("aten::logspace")
def aten_logspace(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::logspace(Scalar start, Scalar end, int steps, float base=10.0, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor

    All arguments are constants in practice: the values are computed with torch itself.
    """  # noqa: E501
    if node.overload:
        raise Unsupported(f"the {node.overload!r} overload of aten::logspace")
    args = [node.input(n) for n in ("start", "end", "steps", "base")]
    if not all(ctx.is_const(a) for a in args):
        raise Unsupported("logspace with computed start, end, steps or base")
    start, end, steps, base = (ctx.const(a) for a in args)
    dtype = torch.get_default_dtype()
    if not ctx.is_none(node.input("dtype")):
        dtype = dtypes.to_torch(dtypes.from_scalar_type(ctx.const_int(node.input("dtype"))))
    values = torch.logspace(start, end, steps, base, dtype=dtype)  # type: ignore[call-overload]
    return ctx.initializer("logspace", values)
