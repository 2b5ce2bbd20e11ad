"""The passes of each optimizer level, in order, and the call that runs them."""

from __future__ import annotations

import time
from collections.abc import Collection

import onnx_ir as ir
from onnx_ir.passes import common

from converter.errors import OptimizationError
from converter.optimize._rules import opset_of
from converter.optimize.eliminate import (
    DropRewriterMetadataPass,
    EliminateNoOpsPass,
    RemoveNoOpReshapePass,
)
from converter.optimize.float16 import ConvertFloat16Pass
from converter.optimize.fold import FoldConstantsPass, LiftConstantsPass
from converter.optimize.fuse_activation import FuseClipPass, FuseHardSwishPass
from converter.optimize.fuse_attention import FuseAttentionPass
from converter.optimize.fuse_conv import (
    FuseConvBatchNormPass,
    FuseConvBiasPass,
    FusePadIntoConvPass,
    FusePadIntoPoolPass,
)
from converter.optimize.fuse_gelu import FuseGeluPass
from converter.optimize.fuse_gemm import FuseGemmBiasPass, FuseMatMulAddPass
from converter.optimize.fuse_norm import FuseLayerNormPass, FuseRMSNormPass
from converter.optimize.fuse_reshape import FuseReshapeChainsPass
from converter.optimize.ort_contrib import FuseOnnxRuntimeContribPass
from converter.optimize.ort_conv import FuseConvActivationPass
from converter.optimize.report import OptimizeReport, PassRecord
from converter.optimize.reshape_dims import CopyReshapeDimsPass
from converter.optimize.runner import Checker, NamedPass, histogram, run_passes

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "Checker",
    "OptimizeReport",
    "PassRecord",
    "optimize_model",
    "pass_names",
    "pipeline",
]

LEVELS = (0, 1, 2)
DEFAULT_LEVEL = 2


def _fusions() -> list[NamedPass]:
    """The fusions of level 2, in order."""
    return [
        # Pattern fusions first: they match the spelled-out graph (e.g. attention's key
        # transpose) before the chain merging below rewrites it.
        ("fuse-attention", FuseAttentionPass()),
        ("fuse-layer-norm", FuseLayerNormPass()),
        ("fuse-rms-norm", FuseRMSNormPass()),
        ("fuse-gelu", FuseGeluPass()),
        ("fuse-hardswish", FuseHardSwishPass()),
        ("fuse-clip", FuseClipPass()),
        # Pad before BatchNorm: both rewrite the Conv, and a padded Conv must match as one.
        ("fuse-pad-into-conv", FusePadIntoConvPass()),
        ("fuse-pad-into-pool", FusePadIntoPoolPass()),
        ("fuse-conv-batchnorm", FuseConvBatchNormPass()),
        ("fuse-conv-bias", FuseConvBiasPass()),
        # MatMul+Add to Gemm before Gemm+Add: the first makes the second's input.
        ("fuse-matmul-add", FuseMatMulAddPass()),
        ("fuse-gemm-bias", FuseGemmBiasPass()),
    ]


def pipeline(
    level: int, onnxruntime_contrib: bool = False, float16: bool = False
) -> tuple[list[NamedPass], list[NamedPass]]:
    """The passes of a level: (repeated each round, run once at the end), in order.

    ``onnxruntime_contrib`` adds ONNX Runtime's own fused operators (the output then runs only
    in ONNX Runtime); ``float16`` converts the computation to float16, at any level.
    """
    if level not in LEVELS:
        raise OptimizationError(f"optimization level {level} is not one of 0, 1, 2")
    # After every fusion: the fusions match float32 graphs, and fold float32 constants.
    to_float16: list[NamedPass] = [("convert-float16", ConvertFloat16Pass())] if float16 else []
    if level == 0:
        return [], to_float16
    fusions = _fusions()
    repeated: list[NamedPass] = [
        # Shapes and types first: no-op reshapes, Gemm's 2-D check and the fusions need them.
        ("infer-shapes", common.ShapeInferencePass()),
        ("fold-constants", FoldConstantsPass()),
        # Folded and written constants as initializers, so every rule sees them as constants.
        ("lift-constants", LiftConstantsPass()),
        ("eliminate-no-ops", EliminateNoOpsPass()),
        ("remove-no-op-reshapes", RemoveNoOpReshapePass()),
        # Before folding in the next round: dims copied from the input need no Shape chain.
        ("copy-reshape-dims", CopyReshapeDimsPass()),
        *(fusions if level >= 2 else []),
        ("fuse-reshape-chains", FuseReshapeChainsPass()),
        ("eliminate-common-subexpressions", common.CommonSubexpressionEliminationPass()),
        ("remove-unused-nodes", common.RemoveUnusedNodesPass()),
    ]
    contrib: list[NamedPass] = [
        # Last: ONNX Runtime's fusions match the standard graph the passes above produce.
        ("fuse-onnxruntime-contrib", FuseOnnxRuntimeContribPass()),
        ("fuse-onnxruntime-conv-activation", FuseConvActivationPass()),
    ]
    final: list[NamedPass] = [
        *(contrib if onnxruntime_contrib else []),
        *to_float16,
        # Tied weights stay one initializer; equal constants written twice become one.
        ("deduplicate-initializers", common.DeduplicateInitializersPass()),
        ("remove-unused-nodes", common.RemoveUnusedNodesPass()),
        ("remove-unused-opsets", common.RemoveUnusedOpsetsPass()),
        ("topological-sort", common.TopologicalSortPass()),
        ("drop-rewriter-metadata", DropRewriterMetadataPass()),
    ]
    return repeated, final


def pass_names(
    level: int = DEFAULT_LEVEL, onnxruntime_contrib: bool = False, float16: bool = False
) -> list[str]:
    """The names of a level's passes, in order (for ``disabled`` and the documentation)."""
    repeated, final = pipeline(level, onnxruntime_contrib, float16)
    return list(dict.fromkeys(name for name, _ in [*repeated, *final]))


def optimize_model(
    model: ir.Model,
    level: int = DEFAULT_LEVEL,
    *,
    disabled: Collection[str] = (),
    check: Checker | None = None,
    onnxruntime_contrib: bool = False,
    float16: bool = False,
) -> OptimizeReport:
    """Optimize ``model`` in place; ``check`` runs after every pass that changed it."""
    start = time.perf_counter()
    repeated, final = pipeline(level, onnxruntime_contrib and level > 0, float16)
    names = pass_names(max(level, 1), onnxruntime_contrib, float16)
    unknown = sorted(set(disabled) - set(names))
    if unknown:
        raise OptimizationError(f"unknown pass name(s): {', '.join(unknown)}")
    repeated = [(n, p) for n, p in repeated if n not in disabled]
    final = [(n, p) for n, p in final if n not in disabled]
    nodes_before = sum(histogram(model).values())
    records = run_passes(model, repeated, final, check=check)
    return OptimizeReport(
        level=level,
        opset=opset_of(model),
        passes=tuple(records),
        nodes_before=nodes_before,
        nodes_after=sum(histogram(model).values()),
        seconds=time.perf_counter() - start,
        checked=check is not None,
    )
