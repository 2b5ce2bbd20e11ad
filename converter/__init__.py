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
    OutputExistsError,
    ParityError,
    RuntimeSessionError,
    TraceValidationError,
    TranslationError,
    UnsafeModelError,
    UnsupportedOpsError,
    WorkerError,
)
from converter.frontend.findings import Finding, ValidationReport
from converter.frontend.load import TorchScriptModel, load
from converter.frontend.trace import TraceResult, trace
from converter.metadata import ModelDescription, TensorInfo, describe, is_onnx_file
from converter.optimize.api import optimize
from converter.optimize.report import OptimizeReport, PassRecord
from converter.options import (
    ArchiveLimits,
    ConvertOptions,
    InputSpec,
    Tolerance,
    VerifyOptions,
    WorkerOptions,
)
from converter.runtime.verify import VerifyReport
from converter.translate.ops import default_registry
from converter.translate.registry import OpRegistry

__all__ = [
    "ArchiveLimits",
    "ConversionError",
    "ConversionWarning",
    "ConvertOptions",
    "ConvertResult",
    "Finding",
    "InputError",
    "InputSpec",
    "InspectReport",
    "InternalError",
    "ModelDescription",
    "ModelLoadError",
    "OpRegistry",
    "OptimizationError",
    "OutputExistsError",
    "OptimizeReport",
    "ParityError",
    "PassRecord",
    "RuntimeSessionError",
    "TensorInfo",
    "Tolerance",
    "TraceValidationError",
    "TorchScriptModel",
    "TraceResult",
    "TranslationError",
    "UnsafeModelError",
    "UnsupportedOpsError",
    "VerifyOptions",
    "WorkerError",
    "WorkerOptions",
    "ValidationReport",
    "VerifyReport",
    "__version__",
    "convert",
    "default_registry",
    "describe",
    "inspect",
    "is_onnx_file",
    "load",
    "optimize",
    "run",
    "save_outputs",
    "summarize_outputs",
    "trace",
    "verify",
]
