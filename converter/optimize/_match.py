"""Small helpers shared by the rewrite rules: constant values and shapes."""

from __future__ import annotations

import math

import numpy as np
import onnx_ir as ir

__all__ = ["const_array", "is_scalar", "last_dim", "scalar"]


def const_array(value: ir.Value | None) -> np.ndarray | None:
    """The value's constant contents (an initializer or a Constant output), or None."""
    if value is None:
        return None
    tensor = ir.convenience.get_const_tensor(value)
    return None if tensor is None else tensor.numpy()


def scalar(value: ir.Value | None) -> float | None:
    """The value as one number when it is a constant holding a single element."""
    array = const_array(value)
    if array is None or array.size != 1:
        return None
    return float(array.reshape(()))


def is_scalar(value: ir.Value | None, expected: float, rel: float = 1e-4) -> bool:
    """True when the value is a one-element constant close to ``expected``."""
    got = scalar(value)
    return got is not None and math.isclose(got, expected, rel_tol=rel, abs_tol=1e-7)


def last_dim(value: ir.Value) -> int | None:
    """The static size of the value's last dimension, if known."""
    shape = value.shape
    if shape is None or shape.rank() == 0:
        return None
    dim = shape[-1]
    return dim if isinstance(dim, int) else None
