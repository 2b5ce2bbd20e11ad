"""Gemm fusions: MatMul + Add into Gemm for 2-D operands, a bias Add into Gemm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx_ir as ir
from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._match import const_array
from converter.optimize._rules import RulesPass, make_rule

__all__ = ["FuseGemmBiasPass", "FuseMatMulAddPass"]


class FuseMatMulAddPass(RulesPass):
    """``MatMul(a, b) + c = Gemm(a, b, c)`` when a and b are 2-D (Gemm is defined for 2-D only).

    Also ``MatMul(Transpose(a), b) + c = Gemm(a, b, c, transA=1)`` and the transB forms.
    """

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's MatMul+Add rules; they check both operands are rank 2."""
        return [
            rules.matmul_add_to_gemm_rule,
            rules.transpose_a_matmul_add_to_gemm_rule,
            rules.transpose_b_matmul_add_to_gemm_rule,
            rules.transpose_ab_matmul_add_to_gemm_rule,
        ]


class _GemmBiasAdd(pattern.RewriteRuleClassBase):
    """``Gemm(a, b) + c = Gemm(a, b, c)`` (and ``Gemm(a, b, C) + c = Gemm(a, b, C + c/beta)``)."""

    def __init__(self) -> None:
        super().__init__("GemmBiasAdd")
        self._bias: np.ndarray | None = None

    def pattern(self, op, a, b, c):  # type: ignore[no-untyped-def]
        return op.Add(op.Gemm(a, b, _allow_other_inputs=True, _outputs=["gemm"]), c)

    def check(self, context, a, b, c, gemm, **_):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        node = gemm.producer()
        add = const_array(c)
        if add is None:
            return result.fail("the added value is not a constant")
        if len(gemm.uses()) != 1 or gemm.is_graph_output():
            return result.fail("the Gemm output has other uses")
        out = gemm.shape
        if out is None or out.rank() != 2 or add.ndim > 2:
            return result.fail("the Gemm output shape is unknown or the addend has rank > 2")
        beta = node.attributes.get_float("beta", 1.0)
        old = node.inputs[2] if len(node.inputs) > 2 else None
        if old is not None:
            old_array = const_array(old)
            if old_array is None or len(old.uses()) != 1 or beta == 0.0:
                return result.fail("the existing C is not a constant of this node alone")
            add = old_array + add / beta
        else:
            add = add / beta
        if add.ndim >= 1 and add.shape[-1] != 1 and add.shape[-1] != out[1]:
            return result.fail(f"the addend shape {add.shape} does not broadcast to the output")
        if add.ndim == 2 and add.shape[0] != 1 and out[0] != add.shape[0]:
            return result.fail(f"the addend shape {add.shape} does not broadcast to the output")
        self._bias = add.astype(const_array(c).dtype)  # type: ignore[union-attr]
        return result

    def rewrite(self, op, a, b, c, gemm, **_):  # type: ignore[no-untyped-def]
        node = gemm.producer()
        assert self._bias is not None
        old = node.inputs[2] if len(node.inputs) > 2 else None
        name = old.name if old is not None and old.name else f"{gemm.name}_bias"
        bias = op.initializer(ir.tensor(self._bias), name=name)
        return op.Gemm(a, b, bias, **node.attributes)


class FuseGemmBiasPass(RulesPass):
    """``Gemm(a, b) + c = Gemm(a, b, c)`` for a constant c that broadcasts to the output.

    Precondition: the Gemm output feeds only the Add.
    """

    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """The Gemm bias rule."""
        return [make_rule(_GemmBiasAdd)]
