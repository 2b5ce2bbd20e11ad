"""No-op elimination: identities, x*1, x+0, x-0, x/1, casts to the same type, dropout."""

from __future__ import annotations

from collections.abc import Sequence

import onnx_ir as ir
from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._rules import RulesPass

__all__ = ["EliminateNoOpsPass", "RemoveNoOpReshapePass"]


class EliminateNoOpsPass(RulesPass):
    """Remove nodes that return their input unchanged.

    ``Identity(x) = x``; ``x*1 = x``; ``x/1 = x``; ``x+0 = x``; ``x-0 = x`` (only when the
    constant does not broadcast the result to a larger shape); ``Cast(x, to=type(x)) = x``;
    ``Cast(Cast(x))`` to one cast when the middle type loses nothing; ``Expand(x, shape(x)) = x``;
    ``Transpose(x, perm=identity) = x``; ``Dropout`` in inference mode ``= x``.
    """

    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's no-op rules."""
        return [
            rules.add_0_rule,
            rules.sub_0_rule,
            rules.mul_by_1_rule,
            rules.div_by_1_rule,
            rules.dropout_inference_rule,
            rules.dropout_zero_rule,
            rules.no_op_cast_rule,
            rules.cast_cast_rule,
            rules.no_op_expand_rule,
            rules.no_op_transpose_rule,
        ]

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Apply the no-op rules (they leave Identity nodes), then drop Identity nodes (onnx-ir)."""
        result = super().call(model)
        identities = ir.passes.common.IdentityEliminationPass()(model).modified
        return ir.passes.PassResult(model, modified=identities or result.modified)


class RemoveNoOpReshapePass(ir.passes.InPlacePass):
    """``Reshape(x, s) = x`` when x's shape is fully static and equals the output's.

    Also ``Squeeze``/``Unsqueeze``/``Flatten`` whose output shape equals the input's.
    Symbolic dims are compared by name only when both sides name the same dim.
    """

    OPS = frozenset({"Reshape", "Squeeze", "Unsqueeze", "Flatten"})

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Bypass each no-op reshape in the main graph and subgraphs."""
        modified = False
        for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
            if node.domain in ("", "ai.onnx") and node.op_type in self.OPS and self._same(node):
                out, src = node.outputs[0], node.inputs[0]
                assert src is not None
                if out.is_graph_output():
                    continue  # keep the output's own name and producer
                out.replace_all_uses_with(src)
                modified = True
        return ir.passes.PassResult(model, modified=modified)

    @staticmethod
    def _same(node: ir.Node) -> bool:
        src, out = node.inputs[0], node.outputs[0]
        if src is None or src.shape is None or out.shape is None:
            return False
        a, b = list(src.shape), list(out.shape)
        if len(a) != len(b) or not all(isinstance(d, int) for d in a):
            return False
        return a == b
