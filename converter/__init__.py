"""jit2onnx: TorchScript archives to verified ONNX, run in ONNX Runtime.

The names below are imported on first use, so ``import converter`` (and the command line) stays
cheap until a name that needs torch or ONNX is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from converter._deferred import defer_symbolic_math

__version__ = "0.1.0"

defer_symbolic_math()  # before anything imports onnx_ir

if TYPE_CHECKING:
    from converter.api import (
        ConvertResult,
        InputInfo,
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

_SOURCES = {
    "ConvertResult": "converter.api",
    "InputInfo": "converter.api",
    "InspectReport": "converter.api",
    "convert": "converter.api",
    "inspect": "converter.api",
    "run": "converter.api",
    "save_outputs": "converter.api",
    "summarize_outputs": "converter.api",
    "verify": "converter.api",
    "ConversionError": "converter.errors",
    "ConversionWarning": "converter.errors",
    "InputError": "converter.errors",
    "InternalError": "converter.errors",
    "ModelLoadError": "converter.errors",
    "OptimizationError": "converter.errors",
    "OutputExistsError": "converter.errors",
    "ParityError": "converter.errors",
    "RuntimeSessionError": "converter.errors",
    "TraceValidationError": "converter.errors",
    "TranslationError": "converter.errors",
    "UnsafeModelError": "converter.errors",
    "UnsupportedOpsError": "converter.errors",
    "WorkerError": "converter.errors",
    "Finding": "converter.frontend.findings",
    "ValidationReport": "converter.frontend.findings",
    "TorchScriptModel": "converter.frontend.load",
    "load": "converter.frontend.load",
    "TraceResult": "converter.frontend.trace",
    "trace": "converter.frontend.trace",
    "ModelDescription": "converter.metadata",
    "TensorInfo": "converter.metadata",
    "describe": "converter.metadata",
    "is_onnx_file": "converter.metadata",
    "optimize": "converter.optimize.api",
    "OptimizeReport": "converter.optimize.report",
    "PassRecord": "converter.optimize.report",
    "ArchiveLimits": "converter.options",
    "ConvertOptions": "converter.options",
    "InputSpec": "converter.options",
    "Tolerance": "converter.options",
    "VerifyOptions": "converter.options",
    "WorkerOptions": "converter.options",
    "VerifyReport": "converter.runtime.verify",
    "default_registry": "converter.translate.ops",
    "OpRegistry": "converter.translate.registry",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'converter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for tab completion."""
    return sorted(__all__)


__all__ = [
    "ArchiveLimits",
    "ConversionError",
    "ConversionWarning",
    "ConvertOptions",
    "ConvertResult",
    "Finding",
    "InputError",
    "InputInfo",
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
