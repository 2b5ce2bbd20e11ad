"""Output comparison: shape, dtype, max absolute and relative error against a tolerance."""

from __future__ import annotations

import dataclasses

import numpy as np

from converter.options import Tolerance

__all__ = ["OutputDiff", "compare"]


@dataclasses.dataclass(frozen=True)
class OutputDiff:
    """How one ONNX Runtime output compares with the TorchScript reference."""

    name: str
    expected_shape: tuple[int, ...]
    actual_shape: tuple[int, ...]
    expected_dtype: str
    actual_dtype: str
    max_abs: float
    max_rel: float
    mismatched: int
    tolerance: Tolerance
    ok: bool

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["expected_shape"] = list(self.expected_shape)
        data["actual_shape"] = list(self.actual_shape)
        return data


def compare(
    name: str, expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance | None = None
) -> OutputDiff:
    """Compare: ``|actual - expected| <= atol + rtol * |expected|`` per element; NaNs must match."""
    expected, actual = np.asarray(expected), np.asarray(actual)
    tol = tolerance or Tolerance.for_dtype(expected.dtype)
    base = dict(
        name=name,
        expected_shape=tuple(expected.shape),
        actual_shape=tuple(actual.shape),
        expected_dtype=str(expected.dtype),
        actual_dtype=str(actual.dtype),
        tolerance=tol,
    )
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        nan = float("nan")
        return OutputDiff(**base, max_abs=nan, max_rel=nan, mismatched=-1, ok=False)  # type: ignore[arg-type]
    if expected.size == 0:
        return OutputDiff(**base, max_abs=0.0, max_rel=0.0, mismatched=0, ok=True)  # type: ignore[arg-type]
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    both_nan = np.isnan(e) & np.isnan(a)
    same_inf = np.isinf(e) & (e == a)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan | same_inf, 0.0, np.abs(a - e))
        diff = np.where(np.isnan(diff), np.inf, diff)
        rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
        rel = np.where(diff == 0, 0.0, rel)
    bad = diff > tol.atol + tol.rtol * np.where(np.isfinite(e), np.abs(e), 0.0)
    mismatched = int(np.count_nonzero(bad))
    return OutputDiff(
        **base,  # type: ignore[arg-type]
        max_abs=float(diff.max()),
        max_rel=float(rel.max()),
        mismatched=mismatched,
        ok=mismatched == 0,
    )
