"""Run an archive's TorchScript in a worker process: timeout, memory limit, captured output.

``torch.jit.load`` compiles the archive's code and every parity reference runs its ``forward``.
``convert``, ``verify`` and ``inspect`` therefore run in a child process forked from a clean
server (``forkserver``): a crash, an endless loop or a huge allocation there becomes one clear
error in the caller, and what the model prints (``prim::Print``) never reaches the caller's
terminal. Arguments and results cross the process boundary by pickle, so custom op handlers must
be module-level functions; pass ``WorkerOptions(isolate=False)`` to run in-process instead.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from converter.errors import ConversionError, InternalError, WorkerError
from converter.options import WorkerOptions

__all__ = ["isolated"]

P = ParamSpec("P")
R = TypeVar("R")

_PRELOAD = ["converter.api", "onnxruntime"]


def isolated(fn: Callable[P, R]) -> Callable[P, R]:
    """Make an API function run in a worker unless called with ``worker=WorkerOptions(False)``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        options = kwargs.get("worker") or WorkerOptions()
        if not isinstance(options, WorkerOptions) or not options.isolate:
            return fn(*args, **kwargs)
        provider = getattr(kwargs.get("options"), "provider", "cpu")
        if provider == "cuda" and options.max_memory_bytes is None:
            # CUDA reserves far more address space than it uses: no address-space limit there.
            options = dataclasses.replace(options, max_memory_bytes=0)
        label = str(args[0]) if args else fn.__name__
        return _run(wrapper, args, dict(kwargs), options, label)

    return wrapper


def _context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _run(
    target: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: WorkerOptions,
    label: str,
) -> R:
    try:
        payload = pickle.dumps((target, args, kwargs))
    except Exception as e:
        raise ConversionError(
            f"{label}: cannot hand the call to a worker process ({e}); op handlers must be "
            "module-level functions, or pass worker=WorkerOptions(isolate=False)"
        ) from e
    context = _context()
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, payload, options), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(options.timeout):
            raise WorkerError(
                f"{label}: the model did not finish within {options.timeout:g} s (killed); "
                "raise the limit with --timeout"
            )
        status, value = receive.recv()
    except EOFError:
        process.join(5)
        raise WorkerError(f"{label}: the worker running the model {_death(process)}") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receive.close()
    if status == "ok":
        return value  # type: ignore[no-any-return]
    if status == "error":
        raise value
    raise InternalError(f"{label}: the worker failed unexpectedly:\n{value}")


def _death(process: multiprocessing.process.BaseProcess) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        return f"crashed ({name}); the archive may be malformed or hostile"
    return f"exited with code {code} without an answer"


def _child(
    send: multiprocessing.connection.Connection, payload: bytes, options: WorkerOptions
) -> None:
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    _limit_memory(options)
    printed = _capture_stdout()
    try:
        target, args, kwargs = pickle.loads(payload)
        kwargs["worker"] = WorkerOptions(isolate=False)
        result: tuple[str, object] = ("ok", target(*args, **kwargs))
    except ConversionError as e:
        result = ("error", e)
    except MemoryError:
        result = ("error", WorkerError(f"{_label(payload)}: {_out_of_memory(options)}"))
    except Exception as e:
        if "can't allocate memory" in str(e) or "not enough memory" in str(e):
            result = ("error", WorkerError(f"{_label(payload)}: {_out_of_memory(options)}"))
        else:
            result = ("internal", "".join(traceback.format_exception(e)))
    sys.stdout.flush()
    printed.close()
    send.send(result)
    send.close()


def _label(payload: bytes) -> str:
    _, args, _ = pickle.loads(payload)
    return str(args[0]) if args else "model"


def _out_of_memory(options: WorkerOptions) -> str:
    return (
        f"the model needs more than the {options.memory_limit()}-byte memory limit; "
        "raise it with --max-memory-bytes"
    )


def _limit_memory(options: WorkerOptions) -> None:
    import resource

    limit = options.memory_limit()
    if limit <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _capture_stdout() -> Any:
    """Send file descriptor 1 (where TorchScript's print writes) to a private temporary file."""
    sys.stdout.flush()
    sink = tempfile.TemporaryFile()
    os.dup2(sink.fileno(), 1)
    return sink
