"""Error messages: unsupported operators all at once, bad archives, bad inputs."""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from converter import (
    InputError,
    ModelLoadError,
    UnsupportedOpsError,
    WorkerOptions,
    convert,
    inspect,
)
from tests.harness import save_archive
from tests.models import Unsupported, tiny_mlp

HERE = "models.py"
IN_PROCESS = WorkerOptions(isolate=False)  # where the Unsupported module is written


def test_unsupported_ops_are_listed_together_with_source_lines(tmp_path: Path) -> None:
    x = torch.randn(3, 3)
    archive = save_archive(Unsupported(), [x], tmp_path / "bad.pt")
    with pytest.raises(UnsupportedOpsError) as info:
        convert(archive, tmp_path / "bad.onnx", [x])
    message = str(info.value)
    first = message.splitlines()[0]
    assert first == f"{archive}: 3 node(s) of 2 unsupported operator kind(s)"
    assert re.search(rf"aten::linalg_det x2 at .*{HERE}:\d+, .*{HERE}:\d+", message)
    assert re.search(rf"aten::fft_rfft x1 at .*{HERE}:\d+", message)
    assert "Hint:" in message
    assert set(info.value.ops) == {"aten::linalg_det", "aten::fft_rfft"}
    assert not (tmp_path / "bad.onnx").exists()


def test_inspect_lists_unsupported_without_failing(tmp_path: Path) -> None:
    x = torch.randn(3, 3)
    archive = save_archive(Unsupported(), [x], tmp_path / "bad.pt")
    report = inspect(archive)
    assert set(report.unsupported) == {"aten::linalg_det", "aten::fft_rfft"}
    assert report.op_histogram["aten::linalg_det"] == 2


def _checkpoint(path: Path) -> Path:
    torch.save(tiny_mlp().state_dict(), path)
    return path


def _pickled_module(path: Path) -> Path:
    torch.save(tiny_mlp(), path)
    return path


def _legacy_pickle(path: Path) -> Path:
    torch.save(tiny_mlp().state_dict(), path, _use_new_zipfile_serialization=False)
    return path


def _random_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    return path


def _truncated(path: Path) -> Path:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], path.with_suffix(".full"))
    path.write_bytes(archive.read_bytes()[:500])
    return path


def _text(path: Path) -> Path:
    path.write_text("not a model")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


BAD_ARCHIVES = {
    "missing": (lambda p: p, "no such file"),
    "directory": (_directory, "is a directory, expected a TorchScript archive file"),
    "empty": (_empty, "empty file, expected a TorchScript archive"),
    "text": (_text, "not a zip file, not a TorchScript archive"),
    "random zip": (_random_zip, "a zip file without data.pkl, not a TorchScript archive"),
    "truncated": (_truncated, "truncated or corrupt zip file"),
    "state_dict": (_checkpoint, "a torch.save checkpoint (eager weights or a pickled module)"),
    "pickled module": (_pickled_module, "a torch.save checkpoint"),
    "legacy pickle": (_legacy_pickle, "a legacy torch.save pickle"),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archives_get_one_line_naming_file_and_problem(case: str, tmp_path: Path) -> None:
    make, expected = BAD_ARCHIVES[case]
    path = make(tmp_path / "model.pt")
    with pytest.raises(ModelLoadError) as info:
        convert(path, tmp_path / "out.onnx", [np.zeros((2, 4), np.float32)])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert not (tmp_path / "out.onnx").exists()


def test_checkpoint_error_says_how_to_make_an_archive(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path / "weights.pt")
    with pytest.raises(ModelLoadError, match=r"torch\.jit\.trace \+ torch\.jit\.save"):
        inspect(path)


def test_wrong_input_count(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with pytest.raises(InputError) as info:
        convert(archive, tmp_path / "m.onnx", [np.zeros((2, 4), np.float32)] * 2)
    assert str(info.value) == f"{archive}: the model takes 1 input(s) (input) but 2 were given"


def test_inputs_the_module_rejects(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with pytest.raises(
        InputError, match=r"the module rejects the example inputs \(float32\[2, 5\]\)"
    ):
        convert(archive, tmp_path / "m.onnx", [np.zeros((2, 5), np.float32)])


def test_npz_needing_pickle_is_refused(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    bad = tmp_path / "objects.npy"
    np.save(bad, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="holds Python objects that need pickle; refused"):
        convert(archive, tmp_path / "m.onnx", bad)


def test_npz_with_wrong_names(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    npz = tmp_path / "in.npz"
    np.savez(npz, a=np.zeros((2, 4), np.float32), b=np.zeros((2, 4), np.float32))
    with pytest.raises(InputError, match=r"holds 2 array\(s\) but the model takes 1 input"):
        convert(archive, tmp_path / "m.onnx", npz)


def test_pickle_file_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(ModelLoadError, match=r"legacy torch\.save pickle"):
        inspect(path)


def test_node_of_a_type_onnx_does_not_take_is_a_translation_error(tmp_path: Path) -> None:
    """A handler that builds an ONNX node on an input type the op does not allow is refused
    with a TranslationError naming the node and the type (not an internal error)."""
    from converter import TranslationError, default_registry
    from converter.frontend.ts_ir import TSNode
    from converter.translate.context import Entry, TranslationContext

    def erf_of_bool(ctx: TranslationContext, node: TSNode) -> Entry:
        """aten::relu(Tensor self) -> Tensor, built wrongly on purpose"""
        x = ctx.tensor(node.inputs[0])
        return ctx.op("Erf", ctx.op("Greater", x, ctx.constant(0.0)))

    registry = default_registry()
    registry.register("aten::relu", override=True)(erf_of_bool)
    x = torch.randn(2, 4)
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with pytest.raises(TranslationError) as info:
        # the handler is local to this test: it cannot cross into a worker process
        convert(archive, tmp_path / "m.onnx", [x], registry=registry, worker=IN_PROCESS)
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{archive}: cannot translate aten::relu at ")
    assert first.endswith(
        "ONNX Erf does not take inputs of type BOOL (input typestr: T, has unsupported type: "
        "tensor(bool))"
    )
