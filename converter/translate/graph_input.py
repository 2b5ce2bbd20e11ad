"""One ONNX graph input as the converter plans it (kept free of torch: results carry it)."""

from __future__ import annotations

import dataclasses

import onnx_ir as ir

__all__ = ["GraphInput"]


@dataclasses.dataclass(frozen=True)
class GraphInput:
    """One ONNX graph input: name, dtype and dims (an int or a symbolic name each)."""

    name: str
    dtype: ir.DataType
    dims: tuple[int | str, ...]
