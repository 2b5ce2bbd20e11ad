"""Optional: convolution + activation into ONNX Runtime's ``com.microsoft::FusedConv``."""

from __future__ import annotations

import logging

import numpy as np
import onnx_ir as ir

from converter.optimize._match import const_array

__all__ = ["FuseConvActivationPass"]

logger = logging.getLogger(__name__)

MS_DOMAIN = "com.microsoft"
_FLOAT_MAX = float(np.finfo(np.float32).max)


def _params(act: ir.Node) -> list[float] | str:
    """FusedConv's ``activation_params`` for the activation node, or why it cannot fuse."""
    attrs = act.attributes
    if act.op_type in ("Relu", "Tanh", "Sigmoid"):
        return []
    if act.op_type == "LeakyRelu":
        return [attrs.get_float("alpha", 0.01)]
    if act.op_type == "HardSigmoid":
        return [attrs.get_float("alpha", 0.2), attrs.get_float("beta", 0.5)]
    if act.op_type == "Clip":
        bounds = []
        for k, default in ((1, -_FLOAT_MAX), (2, _FLOAT_MAX)):
            value = act.inputs[k] if len(act.inputs) > k else None
            array = None if value is None else const_array(value)
            if value is not None and (array is None or array.size != 1):
                return "a Clip bound is not a constant scalar"
            bounds.append(default if array is None else float(array.reshape(())))
        return bounds
    return f"{act.op_type} is not an activation FusedConv applies"


def _try_fuse(conv: ir.Node) -> str | None:
    """Replace ``act(Conv(...))`` by one FusedConv; None when done, else the reason not."""
    out = conv.outputs[0]
    if out.dtype != ir.DataType.FLOAT:
        return "FusedConv runs on float32 only"
    uses = list(out.uses())
    if len(uses) != 1 or out.is_graph_output():
        return "the convolution output has other uses"
    act, index = uses[0]
    if act.domain not in ("", "ai.onnx") or index != 0:
        return "the convolution does not feed an activation"
    params = _params(act)
    if isinstance(params, str):
        return params
    attrs = list(conv.attributes.values())
    attrs.append(ir.AttrString("activation", act.op_type))
    if params:
        attrs.append(ir.AttrFloat32s("activation_params", params))
    fused = ir.Node(
        MS_DOMAIN, "FusedConv", conv.inputs, attrs, num_outputs=1, name=conv.name, version=1
    )
    fused.metadata_props.update(conv.metadata_props)
    graph = conv.graph
    assert graph is not None
    result = fused.outputs[0]
    result.dtype, result.shape = out.dtype, act.outputs[0].shape
    ir.convenience.replace_nodes_and_values(
        graph, conv, [conv, act], [fused], [act.outputs[0]], [result]
    )
    return None


class FuseConvActivationPass(ir.passes.InPlacePass):
    """``act(Conv(x, W, b)) = FusedConv(x, W, b, activation=act)`` in ``com.microsoft`` for
    Relu, Tanh, Sigmoid, LeakyRelu (alpha), HardSigmoid (alpha, beta) and Clip with constant
    bounds (missing bounds at the float32 limits): ONNX Runtime's CPU kernel applies the
    activation while the output is still in cache.

    Preconditions: float32 convolution whose output feeds only the activation. The result runs
    only in ONNX Runtime.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Fuse every such pair of the main graph and subgraphs."""
        count = 0
        for node in list(ir.traversal.RecursiveGraphIterator(model.graph)):
            if node.op_type != "Conv" or node.domain not in ("", "ai.onnx"):
                continue
            why = _try_fuse(node)
            if why is None:
                count += 1
            else:
                logger.debug("FusedConv: %s not fused: %s", node.name, why)
        if count:
            model.opset_imports.setdefault(MS_DOMAIN, 1)
        return ir.passes.PassResult(model, modified=bool(count))
