"""Refuse unsafe archives before ``torch.jit.load`` sees them: zip layout, pickles, sources."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path

from converter.frontend.code_scan import scan_source
from converter.frontend.pickle_scan import Global, scan_pickle
from converter.options import ArchiveLimits

__all__ = ["archive_problems", "describe"]

# A compressed entry larger than this and more compressed than the ratio is a zip bomb.
_BOMB_MIN_BYTES = 1 << 20
_BOMB_RATIO = 100


def archive_problems(zf: zipfile.ZipFile, prefix: str, limits: ArchiveLimits) -> Iterator[str]:
    """Every reason to refuse the archive, each as ``where: what``; nothing is executed."""
    infos = zf.infolist()
    layout = list(_layout_problems(infos, limits))
    if layout:
        yield from layout
        return  # reading the entries of a malformed or oversized zip is unsafe in itself
    sizes = {i.filename: i.file_size for i in infos}
    for info in infos:
        name = info.filename
        if not name.startswith(prefix) or info.is_dir():
            continue
        inner = name[len(prefix) :]
        if inner.startswith("code/") and inner.endswith(".py"):
            text = zf.read(info).decode("utf-8", errors="replace")
            for problem in scan_source(text):
                where = f"{inner}:{problem.line}" if problem.line else inner
                yield f"{where}: {problem.message}"
        elif (inner.endswith(".pkl") and "/" not in inner) or inner.endswith(".debug_pkl"):
            yield from _pickle_problems(zf.read(info), inner, prefix, sizes, limits)


def _layout_problems(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> Iterator[str]:
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            yield f"entry '{name}': path escapes the archive"
        if name in seen:
            yield f"entry '{name}': appears twice"
        seen.add(name)
        total += info.file_size
        compressed = info.compress_type != zipfile.ZIP_STORED
        ratio = info.file_size / max(info.compress_size, 1)
        if compressed and info.file_size > _BOMB_MIN_BYTES and ratio > _BOMB_RATIO:
            yield f"entry '{name}': expands {ratio:.0f}x ({info.file_size} bytes): a zip bomb"
    if total > limits.max_archive_bytes:
        yield f"unpacks to {total} bytes, over the {limits.max_archive_bytes}-byte limit"


def _pickle_problems(
    data: bytes, inner: str, prefix: str, sizes: dict[str, int], limits: ArchiveLimits
) -> Iterator[str]:
    try:
        summary = scan_pickle(data)
    except ValueError as e:
        yield f"{inner}: {e}"
        return
    for found in summary.globals:
        if not _allowed_global(found):
            yield f"{inner}: references {found}, which a TorchScript archive never needs"
    # torch.jit.load reads the storages of these two; it never reads traced_inputs.pkl's.
    folder = {"data.pkl": "data", "constants.pkl": "constants"}.get(inner)
    if folder is None:
        return
    for record in summary.storages:
        entry = posixpath.join(prefix + folder, record.key)
        declared = record.nbytes
        if declared is None:
            yield f"{inner}: storage '{record.key}' has unknown type {record.storage_type}"
        elif entry not in sizes:
            yield f"{inner}: storage '{record.key}' has no data entry {entry}"
        elif declared > sizes[entry]:
            yield (
                f"{inner}: storage '{record.key}' declares {declared} bytes but "
                f"{entry} holds {sizes[entry]}"
            )
        elif declared > limits.max_tensor_bytes:
            yield (
                f"{inner}: storage '{record.key}' holds {declared} bytes, over the "
                f"{limits.max_tensor_bytes}-byte tensor limit"
            )


# Plain values torch's own pickler writes: devices and the quantization schemes of qtensors.
_TORCH_NAMES = frozenset(
    {
        "device",
        "per_tensor_affine",
        "per_channel_affine",
        "per_tensor_symmetric",
        "per_channel_symmetric",
        "per_channel_affine_float_qparams",
    }
)


def _allowed_global(found: Global) -> bool:
    module, name = found.module, found.name
    if module == "__torch__" or module.startswith("__torch__."):
        return True  # classes the archive's own code/ defines (scanned above)
    if module == "torch._utils":
        return name.startswith("_rebuild_")
    if module == "torch.jit._pickle":
        return name.startswith("build_") or name == "restore_type_tag"
    if module == "torch":
        return name.endswith("Storage") or name in _TORCH_NAMES
    return (module, name) in {("collections", "OrderedDict"), ("builtins", "set")}


def describe(path: Path, problems: list[str]) -> str:
    """One line for the error: the first problem and how many more there are."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{path}: refused before loading: {problems[0]}{more}"
