"""jit2onnx: TorchScript archives to verified ONNX, run in ONNX Runtime."""

from __future__ import annotations

__version__ = "0.1.0"

from converter.api import ConvertResult, InspectReport, convert, inspect, run, verify  # noqa: E402
from converter.errors import (  # noqa: E402
    ConversionError,
    ConversionWarning,
    InputError,
    InternalError,
    ModelLoadError,
    OptimizationError,
    ParityError,
    RuntimeSessionError,
    TranslationError,
    UnsupportedOpsError,
)
from converter.frontend.load import TorchScriptModel, load  # noqa: E402
from converter.options import ConvertOptions, InputSpec, Tolerance, VerifyOptions  # noqa: E402
from converter.runtime.verify import VerifyReport  # noqa: E402
from converter.translate.ops import default_registry  # noqa: E402
from converter.translate.registry import OpRegistry  # noqa: E402

__all__ = [
    "ConversionError",
    "ConversionWarning",
    "ConvertOptions",
    "ConvertResult",
    "InputError",
    "InputSpec",
    "InspectReport",
    "InternalError",
    "ModelLoadError",
    "OpRegistry",
    "OptimizationError",
    "ParityError",
    "RuntimeSessionError",
    "Tolerance",
    "TorchScriptModel",
    "TranslationError",
    "UnsupportedOpsError",
    "VerifyOptions",
    "VerifyReport",
    "__version__",
    "convert",
    "default_registry",
    "inspect",
    "load",
    "run",
    "verify",
]
