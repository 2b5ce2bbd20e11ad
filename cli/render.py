"""Output and exit codes: the only place that turns results and errors into text and status."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Iterator

import click

from converter.errors import (
    ConversionError,
    InputError,
    InternalError,
    ModelLoadError,
    OutputExistsError,
    ParityError,
    RuntimeSessionError,
    TraceValidationError,
)

__all__ = ["EXIT_CODES", "emit", "emit_json", "handle_errors"]

EXIT_CODES = {
    "ok": 0,
    "conversion failed": 1,
    "usage error": 2,
    "parity failed": 3,
    "runtime or provider error": 4,
    "refused input": 5,
    "trace validation refused the archive": 6,
    "internal error": 70,
}


def exit_code(error: BaseException) -> int:
    """The documented exit code of an error."""
    if isinstance(error, OutputExistsError):
        return 2
    if isinstance(error, ParityError):
        return 3
    if isinstance(error, RuntimeSessionError):
        return 4
    if isinstance(error, ModelLoadError | InputError):
        return 5
    if isinstance(error, TraceValidationError):
        return 6
    if isinstance(error, ConversionError):
        return 1
    return 70


def emit(text: str) -> None:
    """Print a result to standard output."""
    click.echo(text)


def emit_json(data: object) -> None:
    """Print a result as JSON to standard output."""
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@contextlib.contextmanager
def handle_errors(debug: bool) -> Iterator[None]:
    """Turn library errors into one message on stderr and the documented exit code."""
    try:
        yield
    except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
        raise
    except ConversionError as e:
        if debug:
            traceback.print_exc(file=sys.stderr)
        click.echo(f"jit2onnx: error: {e}", err=True)
        sys.exit(exit_code(e))
    except (InternalError, Exception) as e:
        if debug:
            traceback.print_exc(file=sys.stderr)
        first = str(e).splitlines()[0] if str(e) else ""
        click.echo(
            f"jit2onnx: internal error: {type(e).__name__}: {first}\n"
            "  please report this with the output of the same command run with --debug",
            err=True,
        )
        sys.exit(70)
