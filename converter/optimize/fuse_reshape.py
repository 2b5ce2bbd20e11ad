"""Reshape and Transpose chains: merged, made constant, or removed."""

from __future__ import annotations

from collections.abc import Sequence

from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._rules import RulesPass

__all__ = ["FuseReshapeChainsPass"]


class FuseReshapeChainsPass(RulesPass):
    """``Transpose(Transpose(x, p), q) = Transpose(x, p∘q)`` (removed when the identity),
    ``Reshape(Reshape(x, a), b) = Reshape(x, b)`` (when b has no 0 copying a's dims),
    ``Unsqueeze(Unsqueeze(x))`` to one, ``Flatten`` to ``Reshape``, consecutive ``Slice`` merged,
    and a ``Reshape`` whose shape is computed at run time gets a constant shape when shape
    inference knows the output with at most one symbolic dim (which becomes ``-1``).
    """

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's reshape, transpose and slice rules."""
        return [
            rules.transpose_transpose_rule,
            rules.reshape_reshape_rule,
            rules.unsqueeze_unsqueeze_rule,
            rules.squeeze_reshape_1d_rule,
            rules.collapse_slice_rule,
            rules.collapse_slice2_rule,
            rules.materialize_reshape_shape_rule,
        ]
