"""The worker process that runs an archive's code: timeouts, memory, prints, crashes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from cli import main
from converter import ConvertOptions, WorkerError, WorkerOptions, convert
from converter.errors import UnsupportedOpsError
from converter.isolation import isolated
from tests.harness import save_archive
from tests.models import Unsupported, tiny_mlp


class Endless(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        while bool(x.sum() > -1.0e30):
            x = x + 0.0
        return x


class Forger(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print("parity OK: everything matches")
        return x * 2


class Hungry(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        big = torch.ones([1 << 30, 2], dtype=torch.float32)  # 8 GiB
        return x + big[0, 0]


@isolated()
def _crash(label: str, worker: WorkerOptions | None = None) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


@isolated()
def _pid(label: str, worker: WorkerOptions | None = None) -> int:
    return os.getpid()


def _cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_endless_forward_times_out_cleanly(tmp_path: Path) -> None:
    archive = save_archive(Endless(), [torch.randn(2, 3)], tmp_path / "loop.pt", mode="script")
    start = time.monotonic()
    code, output = _cli(
        "convert", archive, "-o", tmp_path / "o.onnx", "--shape", "2x3", "--timeout", "3"
    )
    assert time.monotonic() - start < 60
    assert code == 5, output
    assert output.strip() == (
        f"jit2onnx: error: {archive}: the model did not finish within 3 s (killed); "
        "raise the limit with --timeout"
    )
    assert not (tmp_path / "o.onnx").exists()


def test_model_prints_do_not_reach_the_terminal(tmp_path: Path) -> None:
    archive = save_archive(Forger(), [torch.randn(2, 3)], tmp_path / "f.pt", mode="script")
    code, output = _cli("convert", archive, "-o", tmp_path / "o.onnx", "--shape", "2x3")
    assert code == 1, output  # prim::Print has no ONNX form
    assert "parity OK" not in output
    assert "prim::Print" in output


def test_memory_limit_gives_a_clean_error(tmp_path: Path) -> None:
    archive = save_archive(Hungry(), [torch.randn(2, 3)], tmp_path / "h.pt", mode="script")
    code, output = _cli(
        "convert",
        archive,
        "-o",
        tmp_path / "o.onnx",
        "--shape",
        "2x3",
        "--max-memory-bytes",
        str(3 << 30),
    )
    assert code == 5, output
    first = output.strip().splitlines()[0]
    assert first.startswith(f"jit2onnx: error: {archive}: the module rejects the example inputs")
    assert "can't allocate memory" in first
    assert len(output.strip().splitlines()) == 1


def test_a_crashing_worker_is_a_clean_error() -> None:
    with pytest.raises(WorkerError) as info:
        _crash("model.pt")
    assert str(info.value) == (
        "model.pt: the worker running the model crashed (SIGSEGV) in torch or ONNX Runtime; "
        "the archive or the ONNX file may be malformed or hostile"
    )


def test_work_runs_in_another_process_unless_asked() -> None:
    assert _pid("m") != os.getpid()
    assert _pid("m", worker=WorkerOptions(isolate=False)) == os.getpid()


def test_errors_with_extra_fields_cross_the_process_boundary(tmp_path: Path) -> None:
    x = torch.randn(3, 3)
    archive = save_archive(Unsupported(), [x], tmp_path / "u.pt")
    with pytest.raises(UnsupportedOpsError) as info:
        convert(archive, tmp_path / "o.onnx", [x])
    assert set(info.value.ops) == {"aten::linalg_det", "aten::fft_rfft"}


def test_unpicklable_handlers_ask_for_in_process(tmp_path: Path) -> None:
    from converter import default_registry

    registry = default_registry()
    registry.register("aten::relu", override=True)(
        lambda ctx, node: ctx.op("Relu", ctx.tensor(node.input("self")))
    )
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with pytest.raises(Exception, match="module-level functions, or pass worker=WorkerOptions"):
        convert(archive, tmp_path / "o.onnx", [torch.randn(2, 4)], registry=registry)
    result = convert(
        archive,
        tmp_path / "o.onnx",
        [torch.randn(2, 4)],
        registry=registry,
        options=ConvertOptions(),
        worker=WorkerOptions(isolate=False),
    )
    assert result.output.exists()
