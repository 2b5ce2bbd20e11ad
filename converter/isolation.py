"""Run an archive's TorchScript in a worker process: timeout, memory limit, captured output.

``torch.jit.load`` compiles the archive's code and every parity reference runs its ``forward``.
``convert``, ``verify`` and ``inspect`` therefore run in a fresh Python process
(``python -m converter.worker``): a crash, an endless loop or a huge allocation there becomes one
clear error in the caller, and what the model prints (``prim::Print``) goes to a private file,
never to the caller's terminal. The worker is started with ``subprocess``, not
``multiprocessing``, so the caller's main script is never imported again and needs no
``if __name__ == "__main__"`` guard. Arguments and results cross by pickle, so custom op handlers
must be module-level functions; pass ``WorkerOptions(isolate=False)`` to run in-process instead.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from converter.errors import ConversionError, InternalError, WorkerError
from converter.options import WorkerOptions
from converter.threads import compute_threads

__all__ = ["isolated"]

P = ParamSpec("P")
R = TypeVar("R")


def isolated(
    precheck: Callable[..., None] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make an API function run in a worker unless called with ``worker=WorkerOptions(False)``;
    where it runs, it runs with ``WorkerOptions.threads`` intra-op threads.

    ``precheck`` runs first in the caller with the same arguments: the archive's pre-scan, so a
    file refused on sight never starts a worker.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            options = kwargs.get("worker") or WorkerOptions()
            if not isinstance(options, WorkerOptions):
                options = WorkerOptions(isolate=False)
            if not options.isolate:
                with compute_threads(options.threads):
                    return fn(*args, **kwargs)
            if precheck is not None:
                precheck(*args, **kwargs)
            provider = getattr(kwargs.get("options"), "provider", "cpu")
            if provider == "cuda" and options.max_memory_bytes is None:
                # CUDA reserves far more address space than it uses: no address-space limit.
                options = dataclasses.replace(options, max_memory_bytes=0)
            label = str(args[0]) if args else fn.__name__
            kwargs["worker"] = dataclasses.replace(options, isolate=False)
            return _run(wrapper, args, dict(kwargs), options, label)

        return wrapper

    return decorate


def _run(
    target: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: WorkerOptions,
    label: str,
) -> R:
    try:
        payload = pickle.dumps((target, args, kwargs, options.memory_limit(), label))
    except Exception as e:
        raise ConversionError(
            f"{label}: cannot hand the call to a worker process ({e}); op handlers must be "
            "module-level functions, or pass worker=WorkerOptions(isolate=False)"
        ) from e
    with tempfile.TemporaryDirectory(prefix="jit2onnx-worker-") as folder:
        request, answer = Path(folder) / "request.pkl", Path(folder) / "answer.pkl"
        request.write_bytes(payload)
        log = Path(folder) / "output.txt"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "converter.worker", str(request), str(answer)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
                env=_environment(),
                start_new_session=True,
            )
            try:
                code = process.wait(options.timeout)
            except subprocess.TimeoutExpired:
                _kill(process)
                raise WorkerError(
                    f"{label}: the model did not finish within {options.timeout:g} s (killed); "
                    "raise the limit with --timeout"
                ) from None
        if not answer.exists():
            raise WorkerError(f"{label}: the worker running the model {_death(code)}")
        status, value = pickle.loads(answer.read_bytes())
    if status == "ok":
        return value  # type: ignore[no-any-return]
    if status == "error":
        raise value
    raise InternalError(f"{label}: the worker failed unexpectedly:\n{value}")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["ORT_DISABLE_TELEMETRY"] = "1"
    # The worker must import what the caller pickled: the same packages, from the same places.
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _death(code: int) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        return (
            f"crashed ({name}) in torch or ONNX Runtime; the archive or the ONNX file may be "
            "malformed or hostile"
        )
    return f"exited with code {code} without an answer"
