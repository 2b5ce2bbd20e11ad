"""GELU fusion into the standard ``Gelu`` operator (opset 20), erf and tanh forms."""

from __future__ import annotations

import math

import onnx_ir as ir

from converter.optimize._match import is_scalar
from converter.optimize._rules import opset_of

__all__ = ["FuseGeluPass"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_FLOATS = frozenset({ir.DataType.FLOAT, ir.DataType.DOUBLE, ir.DataType.FLOAT16})


def _only_use(value: ir.Value, op_type: str) -> ir.Node | None:
    """The single consumer of value when it is an ``op_type`` node."""
    uses = list(value.uses())
    if len(uses) != 1 or value.is_graph_output():
        return None
    node = uses[0].node
    return node if node.op_type == op_type and node.domain in ("", "ai.onnx") else None


def _other(node: ir.Node, value: ir.Value) -> ir.Value | None:
    """The other operand of a binary node that takes ``value``."""
    a, b = node.inputs[0], node.inputs[1]
    return b if a is value else a if b is value else None


def _binary(value: ir.Value | None, op_type: str) -> tuple[ir.Value, ir.Value] | None:
    node = None if value is None else value.producer()
    if node is None or node.op_type != op_type or len(node.inputs) != 2:
        return None
    a, b = node.inputs
    return None if a is None or b is None else (a, b)


def _scaled(value: ir.Value | None, x: ir.Value | None, op_type: str, c: float) -> bool:
    """value == op_type(x, c) (either order for Mul)."""
    pair = _binary(value, op_type)
    if pair is None:
        return False
    a, b = pair
    if op_type == "Div":
        return (x is None or a is x) and is_scalar(b, c)
    return ((x is None or a is x) and is_scalar(b, c)) or (
        (x is None or b is x) and is_scalar(a, c)
    )


def _erf_input(node: ir.Node) -> ir.Value | None:
    """x for ``Erf(x / sqrt 2)`` or ``Erf(x * (1/sqrt 2))``."""
    arg = node.inputs[0]
    for op_type, c in (("Div", math.sqrt(2.0)), ("Mul", 1 / math.sqrt(2.0))):
        pair = _binary(arg, op_type)
        if pair and _scaled(arg, None, op_type, c):
            return pair[0] if is_scalar(pair[1], c) else pair[1]
    return None


def _is_cube(value: ir.Value, x: ir.Value) -> bool:
    pair = _binary(value, "Pow")
    if pair is not None:
        return pair[0] is x and is_scalar(pair[1], 3.0)
    pair = _binary(value, "Mul")
    if pair is None:
        return False
    for sq, lone in ((pair[0], pair[1]), (pair[1], pair[0])):
        inner = _binary(sq, "Mul")
        if lone is x and inner is not None and inner[0] is x and inner[1] is x:
            return True
    return False


def _tanh_input(node: ir.Node) -> ir.Value | None:
    """x for ``Tanh(sqrt(2/pi) * (x + 0.044715 * x^3))`` (any operand order)."""
    pair = _binary(node.inputs[0], "Mul")
    if pair is None:
        return None
    inner = pair[1] if is_scalar(pair[0], _SQRT_2_OVER_PI) else pair[0]
    if not is_scalar(pair[1] if inner is pair[0] else pair[0], _SQRT_2_OVER_PI):
        return None
    terms = _binary(inner, "Add")
    for x, term in (terms or ()) and ((terms[0], terms[1]), (terms[1], terms[0])):
        prod = _binary(term, "Mul")
        if prod is None:
            continue
        for cube, c in ((prod[0], prod[1]), (prod[1], prod[0])):
            if is_scalar(c, 0.044715) and _is_cube(cube, x):
                return x
    return None


def _gelu_output(x: ir.Value, act: ir.Node) -> ir.Node | None:
    """The node computing ``0.5 * x * (1 + act)`` in any association and order."""
    add = _only_use(act.outputs[0], "Add")
    one = None if add is None else _other(add, act.outputs[0])
    if add is None or not is_scalar(one, 1.0):
        return None
    s = add.outputs[0]
    first = _only_use(s, "Mul")
    if first is None:
        return None
    partner = _other(first, s)
    if partner is not None and _scaled(partner, x, "Mul", 0.5):
        return first  # (x * 0.5) * s
    second = _only_use(first.outputs[0], "Mul")
    if second is None:
        return None
    rest = _other(second, first.outputs[0])
    if (partner is x and is_scalar(rest, 0.5)) or (is_scalar(partner, 0.5) and rest is x):
        return second  # (x * s) * 0.5  or  x * (0.5 * s)
    return None


class FuseGeluPass(ir.passes.InPlacePass):
    """``0.5 * x * (1 + erf(x / sqrt(2))) = Gelu(x)`` and ``0.5 * x * (1 + tanh(sqrt(2/pi) *
    (x + 0.044715 x^3))) = Gelu(x, approximate="tanh")``, for opset >= 20.

    Every operand order and association of the products matches; constants are checked to
    1e-4 relative; every intermediate must have no other use.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Anchor on each Erf/Tanh node and match outward."""
        if opset_of(model) < 20:
            return ir.passes.PassResult(model, modified=False)
        modified = False
        for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
            if node.op_type not in ("Erf", "Tanh") or node.graph is None:
                continue
            x = _erf_input(node) if node.op_type == "Erf" else _tanh_input(node)
            if x is None or x.dtype not in _FLOATS:
                continue
            out = _gelu_output(x, node)
            if out is None or out.outputs[0].is_graph_output():
                continue  # a graph output keeps its own producer and name
            approximate = "none" if node.op_type == "Erf" else "tanh"
            gelu = ir.node("Gelu", [x], attributes={"approximate": approximate})
            out.graph.insert_before(out, gelu)  # type: ignore[union-attr]
            out.outputs[0].replace_all_uses_with(gelu.outputs[0])
            gelu.outputs[0].shape, gelu.outputs[0].type = out.outputs[0].shape, out.outputs[0].type
            modified = True
        return ir.passes.PassResult(model, modified=modified)
