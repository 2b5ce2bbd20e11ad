"""Test-case directories in the standard ONNX layout, for checking the model outside Python.

``DIR/model.onnx`` plus ``DIR/test_data_set_<n>/input_<k>.pb`` and ``output_<k>.pb``: each file
a serialized ``onnx.TensorProto`` named after the graph input or output, with its values in
``raw_data`` (little-endian, as ONNX specifies). The outputs are the TorchScript original's.
The directory is built under a temporary name beside ``DIR`` and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from converter.errors import InputError
from converter.metadata import PREFIX, tolerance_text
from converter.options import Tolerance

if TYPE_CHECKING:
    from converter.runtime.verify import VerifyReport

__all__ = ["check_target", "write_test_data"]


def check_target(directory: str | os.PathLike[str], force: bool) -> Path:
    """Refuse a target that is a file, or a non-empty directory unless ``force``."""
    dest = Path(directory)
    if dest.exists() and not dest.is_dir():
        raise InputError(f"{dest}: exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise InputError(f"{dest}: directory is not empty; pass --force to replace it")
    for parent in dest.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{dest}: {parent} is not a directory")
    return dest


def write_test_data(
    directory: str | os.PathLike[str],
    onnx_model: str | os.PathLike[str],
    report: VerifyReport,
    input_names: Sequence[str],
    output_names: Sequence[str],
    *,
    force: bool = False,
) -> Path:
    """Write the model and one test data set per case of a passing report; returns DIR."""
    dest = check_target(directory, force)
    proto = onnx.load(str(onnx_model))
    _set_tolerances(proto, _used_tolerances(report))
    with _staging(dest) as tmp:
        onnx.save_model(proto, tmp / "model.onnx")
        for n, case in enumerate(report.cases):
            folder = tmp / f"test_data_set_{n}"
            folder.mkdir()
            _write_tensors(folder, "input", input_names, case.feeds)
            _write_tensors(folder, "output", output_names, case.expected)
        _publish(tmp, dest, force)
    return dest


def _used_tolerances(report: VerifyReport) -> dict[str, Tolerance]:
    used: dict[str, Tolerance] = {}
    for case in report.cases:
        for out in case.outputs:
            used.setdefault(out.name, out.tolerance)
    return used


def _set_tolerances(proto: onnx.ModelProto, tolerances: Mapping[str, Tolerance]) -> None:
    key = PREFIX + "tolerances"
    for prop in proto.metadata_props:
        if prop.key == key:
            prop.value = tolerance_text(tolerances)
            return
    proto.metadata_props.add(key=key, value=tolerance_text(tolerances))


def _write_tensors(
    folder: Path, kind: str, names: Sequence[str], arrays: Sequence[np.ndarray]
) -> None:
    if len(names) != len(arrays):
        raise InputError(f"{folder}: {len(arrays)} {kind}s for {len(names)} names")
    import onnx_ir as ir  # written in the worker; listing results needs no IR

    for k, (name, array) in enumerate(zip(names, arrays, strict=True)):
        tensor = ir.serde.serialize_tensor(ir.Tensor(np.ascontiguousarray(array), name=name))
        (folder / f"{kind}_{k}.pb").write_bytes(tensor.SerializeToString())


@contextlib.contextmanager
def _staging(dest: Path) -> Iterator[Path]:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, dest: Path, force: bool) -> None:
    """Rename the staged directory to DIR (an empty DIR is replaced; a full one only if forced)."""
    check_target(dest, force)
    if dest.is_dir():
        old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".old"))
        os.replace(dest, old / "dir")
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dest)
