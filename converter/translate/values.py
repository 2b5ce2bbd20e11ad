"""What a TorchScript value translates to, and the refusal handlers raise."""

from __future__ import annotations

from collections.abc import Iterator

import onnx_ir as ir
import torch

__all__ = ["Entry", "RuntimeList", "Unsupported", "is_tensor_list"]

# What a TorchScript value translates to: an ONNX value, a Python constant, or a list/tuple.
Entry = object  # ir.Value, a Python constant, a torch.Tensor, or a list/tuple of entries


class Unsupported(ValueError):
    """Raised by a handler for a node it cannot translate exactly (a refusal, not a bug)."""


class RuntimeList:
    """A list of tensors whose length is only known at run time, held as an ONNX sequence.

    Lists stay Python lists in the translator; one a loop appends to becomes a sequence at the
    loop boundary. Handlers that expect a Python list cannot take it apart by accident.
    """

    __slots__ = ("value",)

    def __init__(self, value: ir.Value) -> None:
        self.value = value

    def __iter__(self) -> Iterator[Entry]:
        raise Unsupported("a list whose length is only known at run time (built in a loop)")

    def __len__(self) -> int:
        raise Unsupported("a list whose length is only known at run time (built in a loop)")

    def __getitem__(self, index: object) -> Entry:
        raise Unsupported("a list whose length is only known at run time (built in a loop)")


def is_tensor_list(ts_value: torch._C.Value) -> bool:
    """True if the TorchScript value is a ``List[Tensor]``."""
    kind = ts_value.type()
    return isinstance(kind, torch._C.ListType) and isinstance(
        kind.getElementType(), torch._C.TensorType
    )
