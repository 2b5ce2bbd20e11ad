"""ONNX's own type and shape inference, run on each node as the translator emits it."""

from __future__ import annotations

import onnx
import onnx.checker
import onnx.defs
import onnx.shape_inference
import onnx_ir as ir

from converter.translate.values import Unsupported

__all__ = ["FOLD_LIMIT", "infer_node"]

FOLD_LIMIT = 64  # constant inputs up to this many elements are given to shape inference


def infer_node(node: ir.Node, opset: int) -> None:
    """Set the type and shape of ``node``'s outputs; Unsupported if ONNX rejects its inputs."""
    if node.op_type == "Constant":
        tensor = node.attributes["value"].as_tensor()
        node.outputs[0].type = ir.TensorType(tensor.dtype)
        node.outputs[0].shape = ir.Shape(list(tensor.shape.numpy()))
        return
    inputs = [v for v in node.inputs if v is not None]
    if any(v.type is None for v in inputs):
        return
    types = {}
    for v in inputs:
        proto = ir.serde.serialize_type(v.type)  # type: ignore[arg-type]
        if v.shape is not None:
            ir.serde.serialize_shape_into(proto, v.shape)
        types[str(v.name)] = proto
    data = {
        str(v.name): ir.serde.serialize_tensor(v.const_value)
        for v in inputs
        if v.const_value is not None and v.const_value.size <= FOLD_LIMIT
    }
    schema = onnx.defs.get_schema(node.op_type, opset, node.domain)
    try:
        inferred = onnx.shape_inference.infer_node_outputs(
            schema,
            ir.serde.serialize_node(node),
            types,
            data,
        )
    except onnx.shape_inference.InferenceError as e:
        raise Unsupported(f"ONNX {node.op_type} rejects its inputs: {e}") from e
    except onnx.checker.ValidationError as e:  # an input type the op does not allow
        kinds = ", ".join(str(v.dtype) for v in inputs)
        raise Unsupported(
            f"ONNX {node.op_type} does not take inputs of type {kinds} "
            f"({str(e).strip().splitlines()[0]})"
        ) from e
    for out in node.outputs:
        if out.name in inferred:
            out.type = ir.serde.deserialize_type_proto_for_type(inferred[out.name])
            out.shape = ir.serde.deserialize_type_proto_for_shape(inferred[out.name])
