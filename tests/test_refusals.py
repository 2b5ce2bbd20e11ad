"""Every bad or hostile input, through the CLI, with the same checks for each.

For each case: the documented exit code, one line naming the file and the problem, no
traceback without ``--debug``, and no new file outside the test's own directory (nor in it,
beyond what the case itself built). The payload-specific checks (markers untouched, time limits)
live beside the builders in tests/test_hostile.py, tests/test_hostile_onnx.py and
tests/test_worker.py; this module runs every case through the common ones.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from tests import test_errors as errors
from tests import test_hostile as hostile
from tests import test_hostile_onnx as onnx_cases
from tests.harness import save_archive

Build = Callable[[Path], list[str]]  # builds the case in a folder; returns the CLI arguments


def _archive_case(make: Callable[[Path], Path]) -> Build:
    def build(folder: Path) -> list[str]:
        path = make(folder / "model.pt")
        return ["convert", str(path), "-o", str(folder / "out.onnx"), "--shape", "2x4"]

    return build


def _hostile(make: Callable[[Path], Path]) -> Build:
    def build(folder: Path) -> list[str]:
        return ["convert", str(make(folder)), "-o", str(folder / "out.onnx"), "--shape", "2x3"]

    return build


def _saves_in_forward(folder: Path) -> Path:
    module = hostile.SavesInForward(str(folder / "marker.pt"))
    return save_archive(module, [torch.randn(2, 3)], folder / "m.pt", mode="script")


def _saves_in_setstate(folder: Path) -> Path:
    module = hostile.SavesInSetstate(str(folder / "marker.pt"))
    return save_archive(module, [torch.randn(2, 3)], folder / "m.pt", mode="script")


def _native_namespace(folder: Path) -> Path:
    edit = hostile._edit_code("torch.relu(", "ops.myext.relu(")
    return hostile._rewrite(hostile._plain(folder), folder / "ns.pt", edit)


def _deep(folder: Path) -> Path:
    deep = "(" * 20000 + "x" + ")" * 20000
    edit = hostile._edit_code("torch.relu(", f"torch.relu({deep} +")
    return hostile._rewrite(hostile._plain(folder), folder / "deep.pt", edit)


def _escaping_onnx(location: str) -> Build:
    def build(folder: Path) -> list[str]:
        model = onnx_cases._model(folder)
        onnx_cases._relocate(model, location)
        return ["run", str(model), "--inputs", str(onnx_cases._inputs(folder))]

    return build


def _malformed_onnx(folder: Path) -> list[str]:
    model = folder / "bad.onnx"
    model.write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    return ["inspect", str(model)]


def _npy_needing_pickle(folder: Path) -> list[str]:
    model = onnx_cases._model(folder)
    inputs = folder / "objects.npy"
    np.save(inputs, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return ["run", str(model), "--inputs", str(inputs)]


def _wrong_dtype(folder: Path) -> list[str]:
    model = onnx_cases._model(folder)
    inputs = folder / "x.npz"
    np.savez(inputs, np.ones((2, 4), np.int32))
    return ["run", str(model), "--inputs", str(inputs)]


CASES: dict[str, tuple[Build, int, str]] = {
    **{
        f"archive: {name}": (_archive_case(make), 5, expected)
        for name, (make, expected) in errors.BAD_ARCHIVES.items()
    },
    "archive: save in forward": (_hostile(_saves_in_forward), 5, "calls torch.save"),
    "archive: save in __setstate__": (_hostile(_saves_in_setstate), 5, "does more than assign"),
    "archive: native operator": (_hostile(_native_namespace), 5, "from a native library"),
    "archive: parser-crashing source": (_hostile(_deep), 5, "too deeply nested"),
    "onnx: ../ location": (_escaping_onnx("../secret.bin"), 5, "outside the model's directory"),
    "onnx: /proc location": (_escaping_onnx("/proc/self/mem"), 5, "outside the model"),
    "onnx: memory address": (_escaping_onnx("*/_ORT_MEM_ADDR_/*"), 5, "not a file name"),
    "onnx: malformed": (_malformed_onnx, 5, "malformed protobuf"),
    "inputs: needs pickle": (_npy_needing_pickle, 5, "need pickle; refused"),
    "inputs: wrong dtype": (_wrong_dtype, 5, "must be float32, got int32"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refusal(case: str, tmp_path: Path) -> None:
    build, code, problem = CASES[case]
    work = tmp_path / "work"
    work.mkdir()
    args = build(work)
    built = sorted(p.name for p in work.iterdir())
    around = {p.name for p in tmp_path.parent.iterdir()}
    home, cwd = {p.name for p in Path.home().iterdir()}, {p.name for p in Path.cwd().iterdir()}
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("jit2onnx: error: ")
    assert problem in lines[0]
    assert args[1] in lines[0] or str(Path(args[1]).parent) in lines[0]  # names the file
    assert "Traceback" not in result.output
    assert sorted(p.name for p in work.iterdir()) == built
    assert {p.name for p in tmp_path.parent.iterdir()} - around <= {tmp_path.name}
    assert {p.name for p in Path.home().iterdir()} == home
    assert {p.name for p in Path.cwd().iterdir()} == cwd
