"""Intra-op threads of the reference and parity runs: set inside a call, restored after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import converter.pipeline
from cli import main
from converter import WorkerOptions, convert
from converter.isolation import isolated
from converter.runtime.session import Session
from converter.threads import compute_threads, session_threads

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "mlp"


@isolated()
def _threads_asked(label: str, worker: WorkerOptions | None = None) -> int:
    assert worker is not None and not worker.isolate
    return worker.threads


def _seen_by_pipeline(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int | None]]:
    """Record torch's and the sessions' thread counts when the pipeline's convert runs."""
    seen: list[tuple[int, int | None]] = []
    original = converter.pipeline.convert

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append((torch.get_num_threads(), session_threads()))
        return original(*args, **kwargs)

    monkeypatch.setattr(converter.pipeline, "convert", spy)
    return seen


def test_compute_threads_sets_and_restores() -> None:
    before = torch.get_num_threads()
    wanted = 3 if before != 3 else 2
    with compute_threads(wanted):
        assert torch.get_num_threads() == wanted
        assert session_threads() == wanted
    assert torch.get_num_threads() == before
    assert session_threads() is None


def test_zero_leaves_the_defaults() -> None:
    before = torch.get_num_threads()
    with compute_threads(0):
        assert torch.get_num_threads() == before
        assert session_threads() is None


def test_restored_when_the_call_fails() -> None:
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="boom"), compute_threads(before + 1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


@pytest.fixture(scope="module")
def mlp_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mlp fixture converted once, in-process."""
    out = tmp_path_factory.mktemp("threads") / "mlp.onnx"
    convert(FIXTURE / "model.zip", out, FIXTURE / "inputs.npz", worker=WorkerOptions(False))
    return out


def test_sessions_opened_inside_use_the_setting(mlp_onnx: Path) -> None:
    with compute_threads(1):
        inside = Session(mlp_onnx, "cpu")
    outside = Session(mlp_onnx, "cpu", threads=2)
    assert inside._session.get_session_options().intra_op_num_threads == 1
    assert outside._session.get_session_options().intra_op_num_threads == 2


def test_convert_runs_with_one_thread_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _seen_by_pipeline(monkeypatch)
    before = torch.get_num_threads()
    out = tmp_path / "m.onnx"
    convert(FIXTURE / "model.zip", out, FIXTURE / "inputs.npz", worker=WorkerOptions(False))
    assert seen == [(1, 1)]
    assert torch.get_num_threads() == before
    assert out.is_file()


def test_cli_threads_option_reaches_the_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _seen_by_pipeline(monkeypatch)
    out = tmp_path / "m.onnx"
    args = ["convert", FIXTURE / "model.zip", "-o", out, "--inputs", FIXTURE / "inputs.npz"]
    result = CliRunner().invoke(main, [str(a) for a in [*args, "--in-process", "--threads", "2"]])
    assert result.exit_code == 0, result.output
    assert seen == [(2, 2)]


def test_cli_refuses_negative_threads(tmp_path: Path) -> None:
    args = ["convert", FIXTURE / "model.zip", "-o", tmp_path / "m.onnx", "--threads", "-1"]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2
    assert "Invalid value for '--threads': -1 is not in the range x>=0." in result.output


def test_the_worker_gets_the_thread_count() -> None:
    assert _threads_asked("m", worker=WorkerOptions(threads=3)) == 3
    assert _threads_asked("m") == 1
