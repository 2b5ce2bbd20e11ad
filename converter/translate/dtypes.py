"""Data types: torch ScalarType codes, torch dtypes, ONNX types, and PyTorch's promotion."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir
import torch

__all__ = [
    "from_numpy",
    "from_scalar_type",
    "from_torch",
    "is_floating",
    "result_type",
    "to_numpy",
    "to_torch",
]

_TORCH_TO_IR: dict[torch.dtype, ir.DataType] = {
    torch.uint8: ir.DataType.UINT8,
    torch.int8: ir.DataType.INT8,
    torch.int16: ir.DataType.INT16,
    torch.int32: ir.DataType.INT32,
    torch.int64: ir.DataType.INT64,
    torch.float16: ir.DataType.FLOAT16,
    torch.float32: ir.DataType.FLOAT,
    torch.float64: ir.DataType.DOUBLE,
    torch.bfloat16: ir.DataType.BFLOAT16,
    torch.bool: ir.DataType.BOOL,
    torch.complex64: ir.DataType.COMPLEX64,
    torch.complex128: ir.DataType.COMPLEX128,
}
_IR_TO_TORCH = {v: k for k, v in _TORCH_TO_IR.items()}

# c10::ScalarType codes, as TorchScript stores dtype arguments (aten::to(x, 6) = float32).
_SCALAR_TYPES: dict[int, torch.dtype] = {
    0: torch.uint8,
    1: torch.int8,
    2: torch.int16,
    3: torch.int32,
    4: torch.int64,
    5: torch.float16,
    6: torch.float32,
    7: torch.float64,
    9: torch.complex64,
    10: torch.complex128,
    11: torch.bool,
    15: torch.bfloat16,
}


def from_torch(dtype: torch.dtype) -> ir.DataType:
    """ONNX type of a torch dtype; ValueError when ONNX has none."""
    try:
        return _TORCH_TO_IR[dtype]
    except KeyError:
        raise ValueError(f"dtype {dtype} has no ONNX equivalent") from None


def to_torch(dtype: ir.DataType) -> torch.dtype:
    """Torch dtype of an ONNX type; ValueError when torch has none."""
    try:
        return _IR_TO_TORCH[dtype]
    except KeyError:
        raise ValueError(f"ONNX type {dtype.name} has no torch equivalent") from None


def from_scalar_type(code: int) -> ir.DataType:
    """ONNX type of a c10::ScalarType code."""
    try:
        return from_torch(_SCALAR_TYPES[code])
    except KeyError:
        raise ValueError(f"ScalarType code {code} has no ONNX equivalent") from None


def from_numpy(dtype: np.dtype) -> ir.DataType:
    """ONNX type of a numpy dtype."""
    return ir.DataType.from_numpy(np.dtype(dtype))


def to_numpy(dtype: ir.DataType) -> np.dtype:
    """Numpy dtype of an ONNX type."""
    return np.dtype(dtype.numpy())


def is_floating(dtype: ir.DataType) -> bool:
    """True for float16/bfloat16/float32/float64."""
    return dtype.is_floating_point()


def result_type(operands: list[tuple[ir.DataType, str]]) -> ir.DataType:
    """PyTorch's result dtype; kinds are "tensor", "zerodim" or "scalar" (a Python number)."""
    probes: list[torch.Tensor | bool | int | float] = []
    for dtype, kind in operands:
        tdtype = to_torch(dtype)
        if kind == "scalar":
            probes.append(True if tdtype == torch.bool else 1.0 if tdtype.is_floating_point else 1)
        else:
            probes.append(torch.empty((0,) if kind == "tensor" else (), dtype=tdtype))
    result = probes[0]
    for other in probes[1:]:
        result = _probe_of(torch.result_type(result, other), result, other)
    if isinstance(result, torch.Tensor):
        return from_torch(result.dtype)
    return from_torch(torch.result_type(torch.empty((0,), dtype=torch.bool), result))


def _probe_of(
    dtype: torch.dtype, a: torch.Tensor | bool | int | float, b: torch.Tensor | bool | int | float
) -> torch.Tensor:
    dims = [x.dim() for x in (a, b) if isinstance(x, torch.Tensor)]
    return torch.empty((0,) if dims and max(dims) > 0 else (), dtype=dtype)
