"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from converter.errors import InputError, OutputExistsError

__all__ = ["atomic_path", "check_output"]


def check_output(target: str | os.PathLike[str], overwrite: bool) -> Path:
    """The output path, if it can be written: its directory exists, and no file is in the way."""
    dest = Path(target)
    if dest.is_dir():
        raise InputError(f"{dest}: is a directory, expected an output file path")
    if not dest.parent.is_dir():
        raise InputError(f"{dest}: output directory {dest.parent} does not exist")
    if not overwrite and (dest.exists() or dest.is_symlink()):
        raise OutputExistsError(f"{dest}: already exists; pass --force to replace it")
    return dest


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it over the target on success."""
    dest = check_output(target, overwrite)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
