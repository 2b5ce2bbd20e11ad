"""Parity after each pass: run ONNX Runtime and compare with reference outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import onnx_ir as ir

from converter.errors import ParityError
from converter.optimize.float16 import float16_tolerance, is_float16
from converter.runtime.compare import compare
from converter.runtime.session import FLOAT16_DISABLED_OPTIMIZERS, Session

__all__ = ["ParityChecker", "feeds_for"]


def feeds_for(model: ir.Model, seed: int = 0, symbolic_size: int = 2) -> dict[str, np.ndarray]:
    """Random inputs from the model's input types (symbolic dims take ``symbolic_size``)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for value in model.graph.inputs:
        if value.shape is None or value.dtype is None:
            raise ParityError(f"input {value.name!r} has no known type and shape to generate")
        dims = [d if isinstance(d, int) else symbolic_size for d in value.shape]
        dtype = value.dtype.numpy()
        if np.issubdtype(dtype, np.floating):
            feeds[value.name or ""] = rng.standard_normal(dims).astype(dtype)
        elif dtype == np.bool_:
            feeds[value.name or ""] = rng.integers(0, 2, dims).astype(np.bool_)
        else:
            feeds[value.name or ""] = rng.integers(0, 10, dims).astype(dtype)
    return feeds


def _run(model: ir.Model, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    disabled = FLOAT16_DISABLED_OPTIMIZERS if is_float16(model) else ()
    session = Session(ir.serde.serialize_model(model).SerializeToString(), disabled=disabled)
    return session.run(dict(feeds))


class ParityChecker:
    """Compares each optimized model with reference outputs on the same feeds."""

    def __init__(self, feeds: Mapping[str, np.ndarray], reference: Sequence[np.ndarray]) -> None:
        self.feeds = dict(feeds)
        self.reference = list(reference)
        self.checked: list[str] = []

    @classmethod
    def from_model(cls, model: ir.Model, feeds: Mapping[str, np.ndarray]) -> ParityChecker:
        """Reference outputs are the model's own, in ONNX Runtime, before any pass."""
        return cls(feeds, _run(model, feeds))

    def __call__(self, name: str, model: ir.Model) -> None:
        """Raise ParityError naming ``name`` when the model's outputs left tolerance
        (float16 tolerances once the model computes in float16)."""
        actual = _run(model, self.feeds)
        self.checked.append(name)
        loose = is_float16(model)
        for value, expected, got in zip(model.graph.outputs, self.reference, actual, strict=True):
            tol = float16_tolerance(expected.dtype) if loose else None
            diff = compare(value.name or "", expected, got, tol)
            if not diff.ok:
                who = "the export before optimization" if name == "export" else f"pass {name!r}"
                raise ParityError(
                    f"{who} broke parity: output {diff.name!r} max abs {diff.max_abs:.3g}, "
                    f"max rel {diff.max_rel:.3g} (rtol {diff.tolerance.rtol:g}, "
                    f"atol {diff.tolerance.atol:g})"
                )
