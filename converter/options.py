"""Frozen option and specification dataclasses shared by the API and the CLI."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Literal

import numpy as np

__all__ = [
    "ArchiveLimits",
    "WorkerOptions",
    "DEFAULT_OPSET",
    "MAX_OPSET",
    "MIN_OPSET",
    "ConvertOptions",
    "InputSpec",
    "Provider",
    "Tolerance",
    "VerifyOptions",
]

MIN_OPSET = 17
MAX_OPSET = 23
DEFAULT_OPSET = 18

Provider = Literal["cpu", "cuda"]


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One model input: its shape and numpy dtype name (used to build random inputs)."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.shape):
            raise ValueError(f"negative dimension in shape {self.shape}")
        np.dtype(self.dtype)  # raises TypeError for unknown names


@dataclasses.dataclass(frozen=True)
class ConvertOptions:
    """How to export: the opset and which input dims are symbolic."""

    opset: int = DEFAULT_OPSET
    dynamic_batch: bool = True
    # Extra symbolic dims: input name or 0-based position -> dims.
    dynamic_dims: Mapping[str | int, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    # Error-level finding kinds to accept instead of refusing (see frontend/findings.py KINDS).
    allow_findings: frozenset[str] = frozenset()
    # Optimizer (converter/optimize): level 0 off, 1 fold and clean, 2 also fuse (default).
    optimize_level: int = 2
    disabled_passes: frozenset[str] = frozenset()
    # Run ONNX Runtime after every pass on the example inputs; name the first that breaks parity.
    check_each_pass: bool = False
    # Also fuse into ONNX Runtime's own operators (com.microsoft): runs only in ONNX Runtime.
    onnxruntime_contrib: bool = False
    # Compute in float16 (inputs and outputs stay float32); parity at float16 tolerances.
    float16: bool = False

    def __post_init__(self) -> None:
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise ValueError(f"opset {self.opset} is outside the supported {MIN_OPSET}-{MAX_OPSET}")
        from converter.frontend.findings import KINDS

        unknown = sorted(set(self.allow_findings) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown finding kind(s): {', '.join(unknown)}")
        if self.optimize_level not in (0, 1, 2):
            raise ValueError(f"optimize level {self.optimize_level} is not one of 0, 1, 2")


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """Element-wise closeness: ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: float
    atol: float

    @classmethod
    def for_dtype(cls, dtype: np.dtype) -> Tolerance:
        """Default tolerance for outputs of this dtype (exact for integers and booleans)."""
        kind = np.dtype(dtype)
        if kind == np.float16:
            return cls(rtol=1e-2, atol=1e-3)
        if kind == np.float64:
            return cls(rtol=1e-7, atol=1e-7)
        if np.issubdtype(kind, np.floating) or np.issubdtype(kind, np.complexfloating):
            return cls(rtol=1e-4, atol=1e-4)
        return cls(rtol=0.0, atol=0.0)

    @classmethod
    def for_float16(cls, dtype: np.dtype) -> Tolerance:
        """Default tolerance for outputs of a model that computes in float16, by output dtype.

        float32 and float16 outputs: ``rtol = atol = 1e-2`` (float16 keeps 11 significant bits,
        a relative step of 9.8e-4 per rounding, which accumulates over layers and, near zero,
        in absolute terms); float64 and integer outputs keep their usual tolerance.
        """
        kind = np.dtype(dtype)
        if kind in (np.float16, np.float32):
            return cls(rtol=1e-2, atol=1e-2)
        return cls.for_dtype(kind)


@dataclasses.dataclass(frozen=True)
class VerifyOptions:
    """How to check parity: provider, tolerance override and how many generated inputs."""

    provider: Provider = "cpu"
    device_id: int = 0
    tolerance: Tolerance | None = None
    # Per-output tolerances where ``tolerance`` is None (verify fills them from the file).
    per_output: Mapping[str, Tolerance] = dataclasses.field(default_factory=dict)
    extra_inputs: int = 2
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    """Size limits checked before an archive is loaded (bytes once unpacked)."""

    max_archive_bytes: int = 4 << 30
    max_tensor_bytes: int = 2 << 30


@dataclasses.dataclass(frozen=True)
class WorkerOptions:
    """Where an archive's TorchScript runs: a worker process with limits, or in-process."""

    isolate: bool = True
    timeout: float = 600.0
    # Address-space limit of the worker in bytes; None: the machine's physical memory; 0: none.
    max_memory_bytes: int | None = None
    # Intra-op threads of TorchScript and ONNX Runtime in the reference and parity runs
    # (0: the libraries' defaults, one per core); see converter/threads.py.
    threads: int = 1

    def memory_limit(self) -> int:
        """The address-space limit in bytes (0: no limit)."""
        if self.max_memory_bytes is not None:
            return self.max_memory_bytes
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
