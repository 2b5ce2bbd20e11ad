"""Scaled dot-product attention into the standard ``Attention`` operator (opset 23)."""

from __future__ import annotations

from collections.abc import Sequence

import onnx_ir as ir
from onnxscript.rewriter import pattern

from converter.optimize._match import scalar
from converter.optimize._rules import RulesPass, make_rule

__all__ = ["FuseAttentionPass"]


def _rank4(value: ir.Value | None) -> bool:
    return value is not None and value.shape is not None and value.shape.rank() == 4


class _Attention(pattern.RewriteRuleClassBase):
    """``softmax(q @ kT * s [+ mask]) @ v = Attention(q, k, v)``, kT a Transpose of k's last axes.

    ``scale`` is ``Div`` (s = 1/c) or ``Mul`` (s = c); ``mask`` is none, an additive float
    mask, or ``Where(m, -inf, scores)`` (kept positions are ``Not(m)``).
    """

    def __init__(self, scale: str, mask: str) -> None:
        super().__init__(f"Attention{scale.title()}{mask.title()}")
        self._scale, self._mask = scale, mask

    def pattern(self, op, q, src, v, c, mask, fill):  # type: ignore[no-untyped-def]
        scores = op.MatMul(q, op.Transpose(src, _outputs=["kt"]))
        scaled = op.Div(scores, c) if self._scale == "div" else op.Mul(scores, c)
        if self._mask == "add":
            scaled = op.Add(scaled, mask)
        elif self._mask == "where":
            scaled = op.Where(mask, fill, scaled)
        return op.MatMul(op.Softmax(scaled, _outputs=["probs"]), v)

    def check(self, context, q, src, v, c, kt, probs, **kw):  # type: ignore[no-untyped-def,override]
        result = pattern.MatchResult()
        if not (_rank4(q) and _rank4(kt) and _rank4(v)):
            return result.fail("q, k and v are not known to be 4-D")
        perm = kt.producer().attributes.get_ints("perm")
        if perm is None or len(perm) != 4:
            return result.fail("the transpose has no explicit 4-D perm")
        axis = probs.producer().attributes.get_int("axis", -1)
        if axis not in (-1, 3):
            return result.fail("softmax is not over the last axis")
        factor = scalar(c)
        if factor is None or factor == 0.0:
            return result.fail("the scale is not a constant")
        if self._mask == "where":
            fill = scalar(kw.get("fill"))
            mask = kw.get("mask")
            if fill is None or fill != float("-inf") or mask is None:
                return result.fail("the masked fill is not -inf")
            if mask.dtype != ir.DataType.BOOL:
                return result.fail("the mask is not boolean")
        if self._mask == "add" and kw.get("mask") is not None and kw["mask"].dtype != q.dtype:
            return result.fail("the additive mask has another dtype")
        return result

    def rewrite(self, op, q, src, v, c, kt, **kw):  # type: ignore[no-untyped-def]
        perm = list(kt.producer().attributes.get_ints("perm"))
        k_perm = [*perm[:2], perm[3], perm[2]]
        k = src if k_perm == [0, 1, 2, 3] else op.Transpose(src, perm=k_perm)
        factor = scalar(c)
        assert factor is not None
        scale = 1.0 / factor if self._scale == "div" else factor
        if self._mask == "none":
            return op.Attention(q, k, v, scale=scale)
        mask = kw["mask"] if self._mask == "add" else op.Not(kw["mask"])
        return op.Attention(q, k, v, mask, scale=scale)


class FuseAttentionPass(RulesPass):
    """``softmax(q kT / c + mask) v = Attention(q, k, v, mask, scale=1/c)`` for 4-D q, k, v.

    Opset 23. The mask may be absent, additive, or a boolean ``Where(m, -inf, .)`` fill. The
    key's transpose may also move heads (it is split into a head move and the last-axes swap).
    """

    min_opset = 23

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """Two spellings of the scale, three of the mask."""
        return [
            make_rule(_Attention, s, m) for s in ("div", "mul") for m in ("none", "add", "where")
        ]
