"""Optional: ONNX Runtime's own fused operators (``com.microsoft`` domain), off by default."""

from __future__ import annotations

import onnx_ir as ir

__all__ = ["FuseOnnxRuntimeContribPass"]


class FuseOnnxRuntimeContribPass(ir.passes.InPlacePass):
    """Fuse transformer patterns into ONNX Runtime contrib operators (``com.microsoft``):
    ``SkipLayerNormalization`` (residual Add + LayerNormalization), ``Attention`` and
    ``MultiHeadAttention``, bias and GELU variants, rotary embeddings.

    The result runs only in ONNX Runtime; that is why it is opt-in. onnxscript's ORT fusion
    pipeline does the matching; it first splits Gemm back into MatMul + Add, which its
    patterns expect.
    """

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Apply onnxscript's ORT fusions in place."""
        # Imported here: the default pipeline never needs it, and it costs start-up time.
        from onnxscript.rewriter.ort_fusions import optimize_for_ort

        fused, counts = optimize_for_ort(model)
        if fused is not model:
            raise RuntimeError("the ONNX Runtime fusions did not work in place")
        return ir.passes.PassResult(model, modified=any(counts.values()))
