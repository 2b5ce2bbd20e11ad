"""Constant folding that never grows the file and never bakes a symbolic dim into a constant."""

from __future__ import annotations

import math

import onnx_ir as ir
from onnx_ir.passes.common import LiftConstantsToInitializersPass
from onnxscript.optimizer import _constant_folding

__all__ = ["FoldConstantsPass", "LiftConstantsPass"]

# Constants at or below this many elements may be created freely (shape vectors, scalars).
SMALL = 1024
# A constant other nodes also read is folded into a derived copy only up to this size: a shared
# (tied) weight is never stored twice.
SHARED = 64


def _elements(value: ir.Value) -> int | None:
    shape = value.shape
    if shape is None:
        return None
    dims = [d for d in shape if isinstance(d, int)]
    return math.prod(dims) if len(dims) == shape.rank() else None


def _should_fold(node: ir.Node) -> bool | None:
    """Refuse a fold that would store a large tensor twice (a tied weight and its copy)."""
    if any(isinstance(out.type, ir.SequenceType) for out in node.outputs):
        return False  # a sequence (a list built at run time) is not a constant tensor
    freed = 0
    for value in node.inputs:
        tensor = None if value is None else value.const_value
        if value is None or tensor is None:
            continue
        if len(value.uses()) > 1 or value.is_graph_output():
            if tensor.size > SHARED:
                return False  # the source stays: folding would store its data twice
        else:
            freed += tensor.size
    for out in node.outputs:
        size = _elements(out)
        if size is not None and size > max(SMALL, freed):
            return False  # e.g. Expand or Tile of a small constant into a large one
    return None  # the library's default rules decide


class FoldConstantsPass(ir.passes.InPlacePass):
    """Evaluate nodes whose inputs are all constants and replace them by the result.

    Built on onnxscript's constant folder, which also folds ``Shape``/``Size`` of values with
    static dims (symbolic dims stay symbolic: a Shape of a value with a symbolic dim folds only
    the static part, through ``Gather``/``Slice``), with a guard: a fold is refused when it
    would keep a large constant alive and add a second one (a weight shared by two nodes), or
    when its output is larger than the constants it frees.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Fold in place."""
        inner = _constant_folding.FoldConstantsPass(
            shape_inference=True,
            input_size_limit=_constant_folding.DEFAULT_CONSTANT_FOLD_INPUT_SIZE_LIMIT,
            output_size_limit=_constant_folding.DEFAULT_CONSTANT_FOLD_OUTPUT_SIZE_LIMIT,
            should_fold=_should_fold,
        )
        result = inner(model)
        return ir.passes.PassResult(model, modified=result.modified)


class LiftConstantsPass(ir.passes.InPlacePass):
    """Turn ``Constant`` nodes into initializers (a value stored once, no node to run)."""

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Lift every Constant node of the main graph and subgraphs."""
        inner = LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0)
        return ir.passes.PassResult(model, modified=inner(model).modified)
