"""Ops that archives saved by older torch versions still hold after loading.

Old spellings such as ``aten::_cast_Long`` load unchanged. Archives saved before an op changed
meaning are rewritten on load by torch's operator upgraders
(``torch._C._get_operator_version_map()``): integer ``aten::div`` before file format 4, for
instance, becomes a test of ``aten::is_floating_point`` that picks true or truncating division.
The dtype tests answer from the translated value's ONNX type, so the chosen branch is inlined.
"""

from __future__ import annotations

import onnx_ir as ir

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext
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
