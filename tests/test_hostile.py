"""Hostile archives are refused before torch.jit.load runs any of their code.

Each case builds its bad file here, runs ``inspect`` and ``convert`` through the CLI, and checks
the exit code (5), the one-line message, that no traceback is shown, and that the marker file the
payload would create or change is untouched.
"""

from __future__ import annotations

import contextlib
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from cli import main
from converter import ArchiveLimits, UnsafeModelError, convert
from tests.harness import save_archive

# Where an archive stores the TorchScript source of the classes defined in this file.
CODE = "code/__torch__/tests/test_hostile.py"


class SavesInForward(nn.Module):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.save(x, self.target)
        return x + 1


class ReadsFile(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        leak = torch.from_file("/etc/hostname", size=4, dtype=torch.uint8)
        return x + leak.float().sum()


class SavesInSetstate(nn.Module):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.target, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.target = state[0]
        self.training = state[1]
        torch.save(torch.ones(1), self.target)


class Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).relu()


def _rewrite(src: Path, dst: Path, edit: Callable[[str, bytes], bytes]) -> Path:
    """Copy an archive entry by entry, passing each through ``edit(name, data)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, edit(info.filename, zin.read(info)))
    return dst


def _edit_code(old: str, new: str) -> Callable[[str, bytes], bytes]:
    """An edit replacing ``old`` by ``new`` in this file's classes as the archive stores them."""

    def edit(name: str, data: bytes) -> bytes:
        if name.endswith(CODE):
            text = data.decode()
            assert old in text, text
            return text.replace(old, new).encode()
        return data

    return edit


def _plain(tmp_path: Path) -> Path:
    return save_archive(Plain(), [torch.randn(2, 3)], tmp_path / "plain.pt", mode="script")


def _cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def _refused(archive: Path, tmp_path: Path, reason: str) -> None:
    """``inspect`` and ``convert`` both exit 5 with ``reason`` on one line; nothing is written."""
    expected = f"jit2onnx: error: {archive}: refused before loading: {reason}"
    before = sorted(p.name for p in tmp_path.iterdir())
    elsewhere = _listing(Path.home()), _listing(Path.cwd())  # /tmp is shared with other runs
    for args in (["inspect", archive], ["convert", archive, "-o", tmp_path / "out.onnx"]):
        code, output = _cli(*args, "--shape", "2x3")
        assert code == 5, output
        assert output.strip().splitlines()[0] == expected, output
        assert "Traceback" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    after = _listing(Path.home()), _listing(Path.cwd())
    assert after == elsewhere


def _listing(folder: Path) -> set[str]:
    """Names in ``folder``."""
    return {p.name for p in folder.iterdir()}


def test_save_in_forward_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker.pt"
    archive = save_archive(
        SavesInForward(str(marker)), [torch.randn(2, 3)], tmp_path / "m.pt", mode="script"
    )
    _refused(archive, tmp_path, f"{CODE}:10: calls torch.save (file access: aten::save)")
    assert not marker.exists()


def test_from_file_is_refused(tmp_path: Path) -> None:
    archive = save_archive(ReadsFile(), [torch.randn(2, 3)], tmp_path / "m.pt", mode="script")
    _refused(
        archive,
        tmp_path,
        f"{CODE}:8: calls torch.from_file (file access: aten::from_file)",
    )


def test_save_in_setstate_is_refused_before_loading(tmp_path: Path) -> None:
    marker = tmp_path / "marker.pt"  # torch.jit.save never calls __setstate__; loading would
    module = SavesInSetstate(str(marker))
    archive = save_archive(module, [torch.randn(2, 3)], tmp_path / "m.pt", mode="script")
    _refused(
        archive,
        tmp_path,
        f"{CODE}:18: SavesInSetstate.__setstate__ does more than assign (calls torch.ones) "
        "(and 2 more)",
    )
    assert not marker.exists()


def test_native_operator_namespace_is_refused(tmp_path: Path) -> None:
    archive = _rewrite(
        _plain(tmp_path), tmp_path / "ns.pt", _edit_code("torch.relu(", "ops.myext.relu(")
    )
    _refused(archive, tmp_path, f"{CODE}:10: calls operator myext::relu from a native library")


def test_pickle_global_outside_torch_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"

    class Gadget:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            import os

            return (os.system, (f"touch {marker}",))

    def edit(name: str, data: bytes) -> bytes:
        return pickle.dumps(Gadget(), protocol=2) if name.endswith("/data.pkl") else data

    archive = _rewrite(_plain(tmp_path), tmp_path / "gadget.pt", edit)
    (tmp_path / "plain.pt").unlink()
    _refused(
        archive,
        tmp_path,
        "data.pkl: references posix.system, which a TorchScript archive never needs",
    )
    assert not marker.exists()


def test_storage_larger_than_its_data_is_refused(tmp_path: Path) -> None:
    def edit(name: str, data: bytes) -> bytes:
        # Linear(3, 2).weight has 6 floats: claim a million.
        return (
            data.replace(b"K\x06t", b"J\x40\x42\x0f\x00t") if name.endswith("/data.pkl") else data
        )

    archive = _rewrite(_plain(tmp_path), tmp_path / "leak.pt", edit)
    (tmp_path / "plain.pt").unlink()
    _refused(
        archive, tmp_path, "data.pkl: storage '0' declares 4000000 bytes but plain/data/0 holds 24"
    )


def test_deeply_nested_source_is_refused_without_crashing(tmp_path: Path) -> None:
    deep = "(" * 20000 + "x" + ")" * 20000
    archive = _rewrite(
        _plain(tmp_path), tmp_path / "deep.pt", _edit_code("torch.relu(", f"torch.relu({deep} +")
    )
    (tmp_path / "plain.pt").unlink()
    _refused(
        archive,
        tmp_path,
        f"{CODE}:10: source too deeply nested to load safely (too many nested parentheses)",
    )


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("../evil.txt", "entry '../evil.txt': path escapes the archive"),
        ("/abs/evil.txt", "entry '/abs/evil.txt': path escapes the archive"),
        ("plain/version", "entry 'plain/version': appears twice"),
    ],
)
def test_bad_entry_names_are_refused(tmp_path: Path, entry: str, reason: str) -> None:
    archive = tmp_path / "names.pt"
    plain = _plain(tmp_path)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(archive, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        with pytest.warns(UserWarning) if entry == "plain/version" else contextlib.nullcontext():
            zout.writestr(entry, b"x")
    plain.unlink()
    _refused(archive, tmp_path, reason)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.pt"
    plain = _plain(tmp_path)
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(archive, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr("plain/extra.bin", bytes(8 << 20), compress_type=zipfile.ZIP_DEFLATED)
    plain.unlink()
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("plain/extra.bin")
    ratio = info.file_size / info.compress_size
    reason = f"entry 'plain/extra.bin': expands {ratio:.0f}x (8388608 bytes): a zip bomb"
    _refused(archive, tmp_path, reason)


def test_limits_are_configurable(tmp_path: Path) -> None:
    archive = _plain(tmp_path)
    with pytest.raises(UnsafeModelError) as info:
        convert(
            archive,
            tmp_path / "o.onnx",
            [torch.randn(2, 3)],
            limits=ArchiveLimits(max_tensor_bytes=8),
        )
    assert str(info.value) == (
        f"{archive}: refused before loading: data.pkl: storage '0' holds 24 bytes, "
        "over the 8-byte tensor limit"
    )


def test_clean_archive_passes_the_scan(tmp_path: Path) -> None:
    code, output = _cli("inspect", _plain(tmp_path))
    assert code == 0, output
