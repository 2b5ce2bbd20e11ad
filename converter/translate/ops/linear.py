"""Matrix products: linear, matmul, addmm, bmm."""

from __future__ import annotations

from converter.frontend.ts_ir import TSNode
from converter.translate.context import Entry, TranslationContext
from converter.translate.registry import handler

__all__: list[str] = []


@handler("aten::linear")
def aten_linear(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor"""
    x = ctx.tensor(node.input("input"))
    w = ctx.tensor(node.input("weight"), ctx.dtype(x))
    bias = None if ctx.is_none(node.input("bias")) else ctx.tensor(node.input("bias"), ctx.dtype(x))
    if ctx.rank(x) == 2 and ctx.rank(w) == 2:
        return ctx.op("Gemm", x, w, bias, transB=1)
    y = ctx.op("MatMul", x, ctx.op("Transpose", w, perm=[1, 0]))
    return y if bias is None else ctx.op("Add", y, bias)


@handler("aten::matmul", "aten::mm", "aten::bmm")
def aten_matmul(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::matmul(Tensor self, Tensor other) -> Tensor"""
    (x, y), _ = ctx.operands(node.inputs[0], node.inputs[1])
    return ctx.op("MatMul", x, y)


@handler("aten::addmm")
def aten_addmm(ctx: TranslationContext, node: TSNode) -> Entry:
    """aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1)"""
    (c, a, b), _ = ctx.operands(node.input("self"), node.input("mat1"), node.input("mat2"))
    beta = float(ctx.const(node.input("beta")))  # type: ignore[arg-type]
    alpha = float(ctx.const(node.input("alpha")))  # type: ignore[arg-type]
    return ctx.op("Gemm", a, b, c, alpha=alpha, beta=beta)
