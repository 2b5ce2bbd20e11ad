"""The optimizer: folding, elimination and fusion passes over an ONNX model, each reported.

Levels: 0 runs nothing; 1 folds constants and removes what computes nothing (no-ops,
duplicates, dead nodes, duplicate initializers) without changing any operator's arithmetic;
2 (the default) also fuses: BatchNorm and bias adds into convolutions and Gemm, MatMul+Add
into Gemm, clamps into Clip, and decomposed patterns into the standard operators the model's
opset has (LayerNormalization 17, HardSwish 14, Gelu 20, RMSNormalization and Attention 23).

Names are imported from ``converter.optimize.levels`` on first use: reading an
``OptimizeReport`` (``converter.optimize.report``) needs neither ONNX IR nor the rewriter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from converter.optimize.levels import (
        DEFAULT_LEVEL,
        LEVELS,
        Checker,
        OptimizeReport,
        PassRecord,
        optimize_model,
        pass_names,
        pipeline,
    )

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


def __getattr__(name: str) -> Any:
    """Import a name from ``converter.optimize.levels`` on first use."""
    if name not in __all__:
        raise AttributeError(f"module 'converter.optimize' has no attribute {name!r}")
    return getattr(importlib.import_module("converter.optimize.levels"), name)
