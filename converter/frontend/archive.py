"""Pre-scan of a model file before anything loads it: is it really a TorchScript archive."""

from __future__ import annotations

import dataclasses
import os
import zipfile
import zlib
from pathlib import Path

from converter.errors import ModelLoadError, UnsafeModelError
from converter.frontend.safety import archive_problems, describe
from converter.options import ArchiveLimits

__all__ = ["ArchiveInfo", "scan_archive"]

_HOW_TO = (
    "make an archive with torch.jit.trace + torch.jit.save (Python) or jit_trace + jit_save (R)"
)
_FULL_ARCHIVE = "save the original scripted or traced module with torch.jit.save(module, path)"
_MAX_CODE_BYTES = 16 << 20  # larger code files are not read by the scan
_FLATBUFFER_MAGIC = b"PTMF"  # bytes 4..8 of a flatbuffer mobile module (torch.jit.load reads it)


@dataclasses.dataclass(frozen=True)
class ArchiveInfo:
    """What the zip directory of a TorchScript archive says, read without loading it."""

    path: Path
    prefix: str
    entries: int
    code_files: tuple[str, ...]
    uncompressed_bytes: int


# What zipfile raises on damaged archives: ValueError covers undecodable entry names,
# NotImplementedError an unknown compression method.
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error)


def scan_archive(path: str | os.PathLike[str], limits: ArchiveLimits | None = None) -> ArchiveInfo:
    """Check that ``path`` is a safe TorchScript zip archive; raise ModelLoadError if not."""
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"{p}: no such file")
    if p.is_dir():
        raise ModelLoadError(f"{p}: is a directory, expected a TorchScript archive file")
    try:
        with p.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ModelLoadError(f"{p}: cannot read: {e.strerror}") from e
    if not head:
        raise ModelLoadError(f"{p}: empty file, expected a TorchScript archive")
    if head[4:8] == _FLATBUFFER_MAGIC:
        _scan_flatbuffer(p, limits or ArchiveLimits())
        return ArchiveInfo(path=p, prefix="", entries=0, code_files=(), uncompressed_bytes=0)
    if not head.startswith(b"PK"):
        raise ModelLoadError(f"{p}: {_describe_non_zip(head, p)}, not a TorchScript archive")
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            info = _classify(p, infos)
            _refuse_mobile_rewrites(info, {i.filename: i.file_size for i in infos})
            problems = list(archive_problems(zf, info.prefix, limits or ArchiveLimits()))
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ) as e:
        # ValueError covers undecodable entry names; NotImplementedError, unknown compression.
        raise ModelLoadError(f"{p}: truncated or corrupt zip file ({e})") from e
    if problems:
        raise UnsafeModelError(describe(p, problems))
    return info


# A flatbuffer module's code cannot be parsed before loading: its bytes are searched instead.
_FLATBUFFER_DENIED = (b"aten::save", b"aten::from_file", b"load_library", b"__setstate__")


def _scan_flatbuffer(p: Path, limits: ArchiveLimits) -> None:
    size = p.stat().st_size
    if size > limits.max_archive_bytes:
        raise UnsafeModelError(
            f"{p}: refused before loading: {size} bytes, over the "
            f"{limits.max_archive_bytes}-byte limit"
        )
    data = p.read_bytes()
    for name in _FLATBUFFER_DENIED:
        if name in data:
            raise UnsafeModelError(
                f"{p}: refused before loading: a flatbuffer module mentioning "
                f"{name.decode()}, which jit2onnx does not load"
            )


def _refuse_mobile_rewrites(info: ArchiveInfo, sizes: dict[str, int]) -> None:
    """optimize_for_mobile replaces conv/linear with XNNPACK ``prepacked::`` ops (no ONNX form)."""
    with zipfile.ZipFile(info.path) as zf:
        for name in info.code_files:
            if name.endswith(".py") and sizes[name] < _MAX_CODE_BYTES:
                if b"ops.prepacked." in zf.read(name):
                    raise ModelLoadError(
                        f"{info.path}: an archive rewritten by optimize_for_mobile (XNNPACK "
                        "prepacked ops), which jit2onnx does not translate; convert the module "
                        "saved before optimize_for_mobile"
                    )


def _describe_non_zip(head: bytes, p: Path) -> str:
    if head[:1] == b"\x80":
        return (
            "a legacy torch.save pickle (eager weights or a pickled module); "
            + _HOW_TO
            + " instead"
        )
    if p.suffix.lower() == ".onnx":
        return "an ONNX model (give it to 'run', 'verify' or 'inspect')"
    return "not a zip file"


def _refuse_unloadable(p: Path, names: list[str]) -> None:
    """Archive layouts torch.jit.load no longer reads, named so the user knows what to do."""
    if any(n == "model.json" or n.endswith("/model.json") for n in names):
        raise ModelLoadError(
            f"{p}: a TorchScript archive in the model.json format of torch 1.0-1.2, which current "
            "torch cannot load; load it with torch 1.3 to 1.x and save it again with torch.jit.save"
        )


def _classify(p: Path, infos: list[zipfile.ZipInfo]) -> ArchiveInfo:
    names = [i.filename for i in infos]
    _refuse_unloadable(p, names)
    data_pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not data_pkls:
        raise ModelLoadError(f"{p}: a zip file without data.pkl, not a TorchScript archive")
    prefix = data_pkls[0][: -len("data.pkl")]
    code = tuple(n for n in names if n.startswith(prefix + "code/") and not n.endswith("/"))
    if not code and prefix + "bytecode.pkl" in names:
        raise ModelLoadError(
            f"{p}: a lite-interpreter (mobile) archive holding bytecode only, which torch.jit.load "
            f"cannot read; {_FULL_ARCHIVE}"
        )
    if not code and prefix + "constants.pkl" not in names:
        raise ModelLoadError(
            f"{p}: a torch.save checkpoint (eager weights or a pickled module), "
            f"not a TorchScript archive; {_HOW_TO}"
        )
    return ArchiveInfo(
        path=p,
        prefix=prefix,
        entries=len(infos),
        code_files=code,
        uncompressed_bytes=sum(i.file_size for i in infos),
    )
