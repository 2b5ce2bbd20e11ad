"""jit2onnx: TorchScript archives to verified ONNX, run in ONNX Runtime."""

from __future__ import annotations

__version__ = "0.1.0"

from converter.api import (
    ConvertResult,
    InspectReport,
    convert,
    inspect,
    run,
    save_outputs,
    summarize_outputs,
    verify,
)
from converter.errors import (
    ConversionError,
    ConversionWarning,
    InputError,
    InternalError,
    ModelLoadError,
    OptimizationError,
    ParityError,
    RuntimeSessionError,
    TraceValidationError,
    TranslationError,
    UnsupportedOpsError,
)
from converter.frontend.load import TorchScriptModel, load
from converter.frontend.trace import TraceResult, trace
from converter.optimize.api import optimize
from converter.optimize.report import OptimizeReport, PassRecord
from converter.options import ConvertOptions, InputSpec, Tolerance, VerifyOptions
from converter.runtime.verify import VerifyReport
from converter.translate.ops import default_registry
from converter.translate.registry import OpRegistry

__all__ = [
    "ConversionError",
    "ConversionWarning",
    "ConvertOptions",
    "ConvertResult",
    "Finding",
    "InputError",
    "InputSpec",
    "InspectReport",
    "InternalError",
    "ModelLoadError",
    "OpRegistry",
    "OptimizationError",
    "OptimizeReport",
    "ParityError",
    "PassRecord",
    "RuntimeSessionError",
    "Tolerance",
    "TraceValidationError",
    "TorchScriptModel",
    "TraceResult",
    "TranslationError",
    "UnsupportedOpsError",
    "VerifyOptions",
    "ValidationReport",
    "VerifyReport",
    "__version__",
    "convert",
    "default_registry",
    "inspect",
    "load",
    "optimize",
    "run",
    "save_outputs",
    "summarize_outputs",
    "trace",
    "verify",
]
