"""Intra-op threads of the reference and parity runs, TorchScript's and ONNX Runtime's.

``convert``, ``verify`` and ``inspect`` run TorchScript and ONNX Runtime on small example
inputs. Both libraries default to one thread per core, and their thread pools wait for each
other at every operator: on a machine busy with other work a waiting thread loses its core, and
a run of many small operators becomes one or two orders of magnitude slower. One thread is as
fast on example-sized inputs, and its sums come out in the same order on every machine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["compute_threads", "session_threads"]

_SESSION_THREADS: ContextVar[int | None] = ContextVar("jit2onnx_session_threads", default=None)


def session_threads() -> int | None:
    """Intra-op threads for an ONNX Runtime session opened now (None: ONNX Runtime's default)."""
    return _SESSION_THREADS.get()


@contextlib.contextmanager
def compute_threads(threads: int) -> Iterator[None]:
    """Inside, TorchScript and new ONNX Runtime sessions use ``threads`` (0: their defaults).

    torch's setting is global to the process: it is restored on exit, and two calls running
    at once in threads of one process share it.
    """
    if threads <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    token = _SESSION_THREADS.set(threads)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        _SESSION_THREADS.reset(token)
