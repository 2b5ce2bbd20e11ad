"""What the caller's process pays: light imports, one worker for convert --verify, runs reused."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from cli import main
from converter import TorchScriptModel, VerifyOptions, WorkerOptions, convert, isolation, load
from tests.harness import save_archive
from tests.models import tiny_mlp

HEAVY = ("torch", "onnx_ir", "onnxscript", "onnxruntime")


def test_command_line_and_results_import_no_heavy_module() -> None:
    code = (
        "import sys, cli.commands, converter, converter.api, converter.report; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_convert_with_verify_starts_one_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(5, 4)], tmp_path / "m.pt")
    np.savez(tmp_path / "x.npz", np.random.default_rng(0).standard_normal((5, 4), np.float32))
    starts: list[list[str]] = []
    real = subprocess.Popen

    def counting(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        starts.append(args)
        return real(args, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(isolation.subprocess, "Popen", counting)
    result = CliRunner().invoke(
        main,
        [
            *("convert", str(archive), "-o", str(tmp_path / "m.onnx")),
            *("--inputs", str(tmp_path / "x.npz"), "--verify"),
            *("--emit-test-data", str(tmp_path / "cases")),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "parity OK" in result.output
    assert (tmp_path / "cases" / "test_data_set_0" / "output_0.pb").is_file()
    assert len(starts) == 1


def test_convert_returns_the_parity_report_when_asked(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(5, 4)], tmp_path / "m.pt")
    x = np.random.default_rng(1).standard_normal((5, 4), np.float32)
    plain = convert(archive, tmp_path / "a.onnx", (x,), worker=WorkerOptions(isolate=False))
    assert plain.verification is None
    checked = convert(archive, tmp_path / "b.onnx", (x,), verification=VerifyOptions())
    assert checked.verification is not None and checked.verification.ok
    assert checked.verification.cases[0].label == "example inputs"
    assert checked.verification.onnx_model == str(tmp_path / "b.onnx")


def test_the_same_feeds_run_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(5, 4)], tmp_path / "m.pt")
    model = load(archive)
    runs: list[int] = []
    real = TorchScriptModel.run

    def counting(self: TorchScriptModel, *inputs: object) -> object:
        runs.append(1)
        return real(self, *inputs)

    monkeypatch.setattr(TorchScriptModel, "run", counting)
    x = np.ones((5, 4), np.float32)
    first = model.run_arrays([x])
    again = model.run_arrays([x])
    np.testing.assert_array_equal(first[0], again[0])
    assert len(runs) == 1
    model.run_arrays([x.copy()])  # equal values, another array: runs
    model.run_arrays([x])  # the latest feeds only are kept
    assert len(runs) == 3


def test_reading_a_convert_result_imports_no_heavy_module(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(5, 4)], tmp_path / "m.pt")
    x = np.random.default_rng(2).standard_normal((5, 4), np.float32)
    result = convert(archive, tmp_path / "m.onnx", (x,), worker=WorkerOptions(isolate=False))
    assert result.optimization is not None
    (tmp_path / "result.pkl").write_bytes(pickle.dumps(result))
    code = (
        "import pickle, sys; from converter.report import format_convert; "
        f"r = pickle.loads(open({str(tmp_path / 'result.pkl')!r}, 'rb').read()); "
        "format_convert(r); r.optimization.render(); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _fresh(code: str) -> str:
    """Run ``code`` in a fresh Python; its standard output."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_conversion_never_runs_sympy() -> None:
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "convnet"
    code = (
        "import sys, tempfile, pathlib, converter\n"
        "out = pathlib.Path(tempfile.mkdtemp()) / 'm.onnx'\n"
        f"converter.convert({str(fixture / 'model.zip')!r}, out, "
        f"{str(fixture / 'inputs.npz')!r}, worker=converter.WorkerOptions(isolate=False))\n"
        "print(out.is_file(), 'onnx_ir' in sys.modules, 'sympy.core' in sys.modules)"
    )
    assert _fresh(code) == "True True False"


def test_deferred_sympy_loads_on_first_use() -> None:
    code = (
        "import sys, converter.pipeline, onnx_ir as ir\n"
        "print(type(sys.modules['sympy']).__name__, 'sympy.core' in sys.modules)\n"
        "print(ir.SymbolicDim('N') * 2 + 1, type(sys.modules['sympy']).__name__)"
    )
    assert _fresh(code).splitlines() == ["_Deferred False", "2*N + 1 module"]


def test_a_sympy_submodule_imported_first_runs_the_package() -> None:
    code = (
        "import sys, converter.pipeline\n"
        "from sympy.polys import Poly\n"
        "import sympy\n"
        "print(type(sympy).__name__, sympy.Symbol('x').name, Poly.__module__)"
    )
    assert _fresh(code) == "module x sympy.polys.polytools"


def test_sympy_imported_before_is_left_alone() -> None:
    code = (
        "import sys, sympy\n"
        "real = sys.modules['sympy']\n"
        "import converter.pipeline\n"
        "print(sys.modules['sympy'] is real, type(real).__name__)"
    )
    assert _fresh(code) == "True module"
