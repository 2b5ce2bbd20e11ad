"""Atomic file output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import onnx

from converter.errors import InputError, InternalError, OutputExistsError

if TYPE_CHECKING:
    import onnx_ir as ir

__all__ = ["EXTERNAL_DATA_BYTES", "atomic_path", "check_output", "write_onnx"]


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


# Protobuf cannot serialize a message over 2 GiB: larger weights go to an external data file.
EXTERNAL_DATA_BYTES = (2 << 30) - (64 << 20)


def write_onnx(model: ir.Model, output: str | os.PathLike[str], overwrite: bool) -> Path | None:
    """Check ``model`` and write it atomically; weights over 2 GiB go to ``OUTPUT.data``.

    Returns the external data file when one was written.
    """
    import onnx_ir as ir  # here, not at module level: atomic_path alone needs no IR

    dest = check_output(output, overwrite)
    weights = sum(
        v.const_value.nbytes for v in model.graph.initializers.values() if v.const_value is not None
    )
    if weights <= EXTERNAL_DATA_BYTES:
        proto = ir.serde.serialize_model(model)
        _check_model(proto, dest)
        with atomic_path(dest, overwrite) as tmp:
            onnx.save_model(proto, tmp)
        return None
    data = dest.with_name(dest.name + ".data")
    check_output(data, overwrite)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}.") as folder:
        staged = Path(folder) / dest.name
        ir.save(model, staged, external_data=data.name)
        _check_model(str(staged), dest)
        os.replace(Path(folder) / data.name, data)
        os.replace(staged, dest)
    return data


def _check_model(model: onnx.ModelProto | str, dest: Path) -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # the translator built an invalid model: a bug
        raise InternalError(f"{dest}: the generated ONNX model fails the checker: {e}") from e
