"""The worker process: ``python -m converter.worker REQUEST ANSWER``.

Reads a pickled call from REQUEST (written by ``converter.isolation``), limits its own address
space, runs the call and pickles ``(status, value)`` to ANSWER: ``("ok", result)``,
``("error", ConversionError)`` or ``("internal", traceback text)``.
"""

from __future__ import annotations

import pickle
import resource
import sys
import traceback
from pathlib import Path

__all__ = ["main"]


def main(request: str, answer: str) -> None:
    """Run one pickled call and write its outcome."""
    target, args, kwargs, memory_limit, label = pickle.loads(Path(request).read_bytes())
    # torch, ONNX IR and ONNX Runtime load before the limit: it bounds the model, not them.
    import converter.pipeline  # noqa: F401

    _limit_memory(memory_limit)
    from converter.errors import ConversionError, WorkerError

    outcome: tuple[str, object]
    try:
        outcome = ("ok", target(*args, **kwargs))
    except ConversionError as e:
        outcome = ("error", e)
    except MemoryError:
        message = (
            f"{label}: the model needs more than the {memory_limit}-byte memory limit; "
            "raise it with --max-memory-bytes"
        )
        outcome = ("error", WorkerError(message))
    except Exception as e:
        outcome = ("internal", "".join(traceback.format_exception(e)))
    partial = Path(answer + ".part")
    partial.write_bytes(pickle.dumps(outcome))
    partial.rename(answer)


def _limit_memory(limit: int) -> None:
    if limit <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
