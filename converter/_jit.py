"""Silence torch's deprecation notices for the ``torch.jit`` calls jit2onnx itself makes."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["quiet_jit"]

# torch 2.13 warns "`torch.jit.load` is deprecated. Please switch to ..." on every call.
_JIT_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"


@contextlib.contextmanager
def quiet_jit() -> Iterator[None]:
    """Ignore exactly torch's ``torch.jit.*`` deprecation warnings inside the block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_DEPRECATION, category=DeprecationWarning)
        yield
