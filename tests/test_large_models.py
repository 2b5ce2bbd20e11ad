"""Models whose weights exceed protobuf's 2 GiB limit are written with external data.

The limit is lowered for the test so that a small model takes the same path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import converter._io
from converter import OutputExistsError, WorkerOptions, convert, verify
from tests.harness import save_archive


def _model() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 3))


IN_PROCESS = WorkerOptions(isolate=False)  # the lowered limit lives in this process only


def test_weights_over_the_limit_go_to_an_external_data_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(converter._io, "EXTERNAL_DATA_BYTES", 64)
    x = torch.randn(2, 64)
    archive = save_archive(_model(), [x], tmp_path / "m.pt")
    out = tmp_path / "m.onnx"
    convert(archive, out, [x], worker=IN_PROCESS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.data", "m.pt"]
    assert (tmp_path / "m.onnx.data").stat().st_size >= 64 * 64 * 4  # the first weight at least
    assert verify(archive, out, [x], worker=IN_PROCESS).ok


def test_an_existing_data_file_is_replaced_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(converter._io, "EXTERNAL_DATA_BYTES", 64)
    x = torch.randn(2, 64)
    archive = save_archive(_model(), [x], tmp_path / "m.pt")
    (tmp_path / "m.onnx.data").write_bytes(b"previous")
    with pytest.raises(OutputExistsError, match=r"m\.onnx\.data: already exists"):
        convert(archive, tmp_path / "m.onnx", [x], worker=IN_PROCESS)
    assert (tmp_path / "m.onnx.data").read_bytes() == b"previous"
    assert not (tmp_path / "m.onnx").exists()
    convert(archive, tmp_path / "m.onnx", [x], worker=IN_PROCESS, overwrite=True)
    assert verify(archive, tmp_path / "m.onnx", [x], worker=IN_PROCESS).ok
