"""Pass tests: ONNX text in, one pass, expected structure out, same numbers in ONNX Runtime."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnx_ir as ir
import onnxruntime as ort

__all__ = ["apply", "ops", "outputs"]


def ops(model: ir.Model) -> Counter[str]:
    """Operator types of the main graph."""
    return Counter(node.op_type for node in model.graph)


def outputs(model: ir.Model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Run the model in ONNX Runtime with graph optimizations off (what the file says)."""
    proto = ir.serde.serialize_model(model)
    onnx.checker.check_model(proto, full_check=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(proto.SerializeToString(), options)
    return list(session.run(None, feeds))


def apply(
    text: str,
    p: ir.passes.PassBase,
    feeds: dict[str, np.ndarray],
    *,
    infer: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> ir.Model:
    """Parse, run the pass (after shape inference), check parity; return the rewritten model."""
    model = ir.from_onnx_text(text)
    expected = outputs(model, feeds)
    if infer:
        ir.passes.common.ShapeInferencePass()(model)
    p(model)
    ir.passes.common.RemoveUnusedNodesPass()(model)
    actual = outputs(model, feeds)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)
    return model
