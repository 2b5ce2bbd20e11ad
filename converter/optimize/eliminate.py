"""No-op elimination: identities, x*1, x+0, x-0, x/1, casts to the same type, dropout."""

from __future__ import annotations

from collections.abc import Sequence

import onnx_ir as ir
from onnxscript.rewriter import pattern
from onnxscript.rewriter.rules import common as rules

from converter.optimize._match import const_array
from converter.optimize._rules import RulesPass

__all__ = ["DropRewriterMetadataPass", "EliminateNoOpsPass", "RemoveNoOpReshapePass"]


# op type -> (neutral element, positions the constant may take)
_NEUTRAL = {"Add": (0.0, (0, 1)), "Sub": (0.0, (1,)), "Mul": (1.0, (0, 1)), "Div": (1.0, (1,))}


def _bypass(node: ir.Node) -> bool:
    """Bypass ``x op c`` when every element of c is exactly neutral and c broadcasts nothing."""
    neutral, positions = _NEUTRAL[node.op_type]
    out = node.outputs[0]
    for pos in positions:
        c, x = node.inputs[pos], node.inputs[1 - pos]
        array = const_array(c)
        if array is None or x is None or x.shape is None or x.dtype != out.dtype:
            continue
        if array.size != 1 or array.ndim > x.shape.rank() or array.reshape(()) != neutral:
            continue
        if out.is_graph_output():  # an Identity keeps the output's name; removed later
            identity = ir.node("Identity", [x])
            assert node.graph is not None
            ir.convenience.replace_nodes_and_values(
                node.graph, node, [node], [identity], [out], [identity.outputs[0]]
            )
        else:
            out.replace_all_uses_with(x)
        return True
    return False


def _remove_identity(node: ir.Node) -> bool:
    """Bypass one Identity; a graph output keeps its name unless that would merge two outputs.

    (onnx-ir's IdentityEliminationPass merges ``out = Identity(y)`` when y is a graph output
    too, which makes a Scan body's state and scan output one value.)
    """
    src, out, graph = node.inputs[0], node.outputs[0], node.graph
    if src is None or graph is None:
        return False
    if not out.is_graph_output():
        out.replace_all_uses_with(src)
        graph.remove(node, safe=True)
        return True
    producer = src.producer()
    if producer is None or producer.graph is not graph or src.is_graph_output():
        return False  # a graph input, an initializer, an outer-scope value, another output
    ir.convenience.replace_nodes_and_values(graph, node, [node], [], [out], [src])
    return True


def _remove_identities(model: ir.Model) -> bool:
    modified = False
    for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
        if node.op_type == "Identity" and node.domain in ("", "ai.onnx"):
            modified = _remove_identity(node) or modified
    return modified


def _remove_neutral_arithmetic(model: ir.Model) -> bool:
    modified = False
    for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
        if node.domain in ("", "ai.onnx") and node.op_type in _NEUTRAL and len(node.inputs) == 2:
            modified = _bypass(node) or modified
    return modified


class EliminateNoOpsPass(RulesPass):
    """Remove nodes that return their input unchanged.

    ``Identity(x) = x``; ``x*1 = x``; ``x/1 = x``; ``x+0 = x``; ``x-0 = x`` (the constant exactly
    neutral, one element, no higher rank than x: nothing broadcasts); ``Cast(x, to=type(x)) = x``;
    ``Cast(Cast(x, float), float16) = Cast(x, float16)``; ``Expand(x, shape(x)) = x``;
    ``Transpose(x, perm=identity) = x``; ``Dropout`` in inference mode ``= x``.
    """

    commute = True

    def rules(self) -> Sequence[pattern.RewriteRule]:
        """onnxscript's no-op rules; x+0 and x*1 are ours (theirs accept 1e-12 as 0)."""
        return [
            rules.dropout_inference_rule,
            rules.dropout_zero_rule,
            rules.no_op_cast_rule,
            rules.cast_cast_rule,
            rules.no_op_expand_rule,
            rules.no_op_transpose_rule,
        ]

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Apply the no-op rules (they leave Identity nodes), then drop the Identity nodes."""
        arithmetic = _remove_neutral_arithmetic(model)
        result = super().call(model)
        identities = _remove_identities(model)
        return ir.passes.PassResult(model, modified=arithmetic or identities or result.modified)


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


class DropRewriterMetadataPass(ir.passes.InPlacePass):
    """Remove the rule-name tags onnxscript's rewriter adds to node metadata (file size only);
    the optimize report already says which pass made each change."""

    PREFIX = "pkg.onnxscript."

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Drop the tags from every node."""
        modified = False
        for node in ir.traversal.RecursiveGraphIterator(model.graph):
            for key in [k for k in node.metadata_props if k.startswith(self.PREFIX)]:
                del node.metadata_props[key]
                modified = True
        return ir.passes.PassResult(model, modified=modified)
