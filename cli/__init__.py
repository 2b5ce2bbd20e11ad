"""The ``jit2onnx`` command line: a thin layer over the ``converter`` API."""

from __future__ import annotations

import click

from cli import commands
from converter import __version__

__all__ = ["main"]

_EPILOG = (
    "Exit codes: 0 ok, 1 conversion failed, 2 usage error (or the output exists: --force), "
    "3 parity failed, "
    "4 runtime or provider error, 5 refused input (unreadable, unsafe or mismatched file), "
    "6 trace validation found errors (see --allow-findings), 70 internal error."
)


@click.group(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jit2onnx")
def main() -> None:
    """Convert TorchScript archives to verified ONNX and run them in ONNX Runtime."""


main.add_command(commands.convert)
main.add_command(commands.verify)
main.add_command(commands.run)
main.add_command(commands.inspect)
main.add_command(commands.optimize)
