"""Reshape shapes built from the input's own dims: those entries become 0 ("copy this dim")."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.optimize._match import const_array

__all__ = ["CopyReshapeDimsPass"]

_PASS_THROUGH = frozenset({"Unsqueeze", "Squeeze", "Reshape", "Identity"})


def _dim_source(value: ir.Value) -> tuple[ir.Value, int] | None:
    """(src, k) when value is one element equal to ``Shape(src)[k]``."""
    node = value.producer()
    while node is not None and node.op_type in _PASS_THROUGH and node.inputs[0] is not None:
        node = node.inputs[0].producer()
    if node is None or node.op_type != "Gather" or node.attributes.get_int("axis", 0) != 0:
        return None
    shape_node = node.inputs[0].producer() if node.inputs[0] is not None else None
    index = const_array(node.inputs[1])
    if shape_node is None or shape_node.op_type != "Shape" or index is None or index.size != 1:
        return None
    src = shape_node.inputs[0]
    if src is None or src.shape is None:
        return None
    start = shape_node.attributes.get_int("start", 0)
    k = int(index.reshape(-1)[0])
    rank = src.shape.rank()
    start = start + rank if start < 0 else start
    k = k + rank - start if k < 0 else k
    return src, start + k


def _same_dim(data: ir.Value, pos: int, src: ir.Value, k: int) -> bool:
    if src is data:
        return True if pos == k else False
    assert data.shape is not None and src.shape is not None
    if pos >= data.shape.rank() or k >= src.shape.rank():
        return False
    a, b = data.shape[pos], src.shape[k]
    if isinstance(a, int) or isinstance(b, int):
        return False  # static dims are left to constant folding
    return a.value is not None and a.value == b.value


class CopyReshapeDimsPass(ir.passes.InPlacePass):
    """``Reshape(x, Concat(.., Shape(x)[i], ..))`` with the piece at position i: the piece
    becomes the constant 0, which Reshape (allowzero=0) reads as "copy dim i of x".

    Also when the piece is a dim of another value that shape inference proved equal (the same
    symbolic dim name). The Shape/Gather chain then dies and the Concat folds to a constant,
    so no symbolic size is ever baked in.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Rewrite every Reshape of the main graph and subgraphs."""
        modified = False
        for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
            if node.op_type == "Reshape" and node.domain in ("", "ai.onnx"):
                modified = self._rewrite(node) or modified
        return ir.passes.PassResult(model, modified=modified)

    @staticmethod
    def _rewrite(node: ir.Node) -> bool:
        data, shape = node.inputs[0], node.inputs[1]
        concat = None if shape is None else shape.producer()
        if data is None or shape is None or data.shape is None or concat is None:
            return False
        if concat.op_type != "Concat":
            return False
        if node.attributes.get_int("allowzero", 0) != 0 or len(shape.uses()) != 1:
            return False
        pos, changed = 0, False
        for i, piece in enumerate(concat.inputs):
            if piece is None or piece.shape is None or piece.shape.rank() != 1:
                return changed
            length = piece.shape[0]
            if not isinstance(length, int):
                return changed
            found = _dim_source(piece) if length == 1 and const_array(piece) is None else None
            if found is not None and _same_dim(data, pos, *found):
                zero = ir.node("Constant", [], attributes={"value": ir.tensor(np.array([0]))})
                assert concat.graph is not None
                concat.graph.insert_before(concat, zero)
                concat.replace_input_with(i, zero.outputs[0])
                changed = True
            pos += length
        return changed
