"""Activation fusions: Min/Max and Relu chains into one Clip, HardSigmoid and HardSwish."""

from __future__ import annotations

from collections.abc import Sequence

from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._rules import RulesPass

__all__ = ["FuseClipPass", "FuseHardSwishPass"]


class FuseClipPass(RulesPass):
    """Clamps into one ``Clip``: ``Min(Max(x, lo), hi) = Clip(x, lo, hi)`` (Relu6 written as
    min/max), ``Relu(Relu(x)) = Relu(x)``, ``Clip(Relu(x), lo, hi) = Clip(x, max(lo, 0), hi)``,
    ``Clip(Clip(x))`` to one Clip with the tighter bounds. Bounds must be constants.
    """

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's min/max and relu/clip rules."""
        return [
            rules.max_max_rule,
            rules.min_min_rule,
            rules.max_min_rule,
            rules.min_max_rule,
            rules.successive_relu_rule,
            rules.successive_relu_clip_rule,
            rules.successive_clip_relu_rule,
            rules.successive_clip_rule,
        ]


class FuseHardSwishPass(RulesPass):
    """``Clip(x + 3, 0, 6) / 6 = HardSigmoid(x, 1/6, 1/2)`` and ``x * HardSigmoid(x) =
    HardSwish(x)`` (opset 14), also from ``x * Clip(x + 3, 0, 6) / 6``.
    """

    min_opset = 14

    def rules(self) -> pattern.RewriteRuleSet:
        """onnxscript's HardSigmoid/HardSwish rules (operand order of Mul/Add free)."""
        return rules.fuse_hardswish_rules()
