"""Mobile (lite-interpreter) archives and archives in the formats of older torch versions.

Old archives are crafted here from archives this torch saves: the ``version`` entry is set to an
older file format and, where the old spelling differs, ``code/`` is rewritten the way torch 1.x
wrote it. The ``.debug_pkl`` source maps are left out, as the rewritten code no longer matches
them. On load, torch's operator upgraders give such archives their old semantics (integer
``div`` truncates before format 4, ``full`` with an integer fill is float before format 5).
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from converter import ModelLoadError, convert, verify
from converter._jit import quiet_jit
from tests.harness import onnx_op_types, save_archive


def _rewrite(src: Path, dst: Path, version: int, subs: tuple[tuple[str, str], ...] = ()) -> Path:
    """Copy an archive with another file format version and old spellings in its code."""
    done = set()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            name, data = info.filename, zin.read(info.filename)
            if name.endswith(".debug_pkl"):
                continue
            if name.endswith("/version"):  # torch 1.x kept it at <prefix>/version
                data = f"{version}\n".encode()
                info = zipfile.ZipInfo(name.split("/")[0] + "/version", info.date_time)
            if "/code/" in name:
                text = data.decode()
                for old, new in subs:
                    if old in text:
                        text, _ = text.replace(old, new), done.add(old)
                data = text.encode()
            zout.writestr(info, data)
    assert done == {old for old, _ in subs}, f"code no longer contains {set(subs) - done}"
    return dst


def _run(archive: Path, *inputs: torch.Tensor) -> object:
    with quiet_jit():
        module = torch.jit.load(str(archive))  # type: ignore[no-untyped-call]
    return module(*inputs)


def _onnx_run(path: Path, *inputs: torch.Tensor) -> list[np.ndarray]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: x.numpy() for n, x in zip(names, inputs, strict=True)})  # type: ignore[no-any-return]


class _Divide(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.div(a, b)


class _Fill(nn.Module):
    def forward(self, n: torch.Tensor) -> torch.Tensor:
        return torch.full([3], 3) + n


class _Long(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2.5
        return y.long()


def test_format_3_integer_div_truncates(tmp_path: Path) -> None:
    a, b = torch.tensor([7, -7, 5, -9]), torch.tensor([2, 2, 3, 4])
    saved = save_archive(_Divide(), (a, b), tmp_path / "div.pt", mode="script")
    old = _rewrite(saved, tmp_path / "div_v3.pt", 3)
    expected = np.trunc(a.numpy() / b.numpy()).astype(np.int64)  # torch 1.5 semantics
    assert np.array_equal(_run(old, a, b).numpy(), expected)  # type: ignore[attr-defined]
    convert(old, tmp_path / "div.onnx", (a, b))
    (got,) = _onnx_run(tmp_path / "div.onnx", a, b)
    assert got.dtype == np.int64 and np.array_equal(got, expected)
    assert verify(old, tmp_path / "div.onnx", (a, b)).ok


def test_format_3_float_div_stays_true_division(tmp_path: Path) -> None:
    a, b = torch.randn(4), torch.rand(4) + 0.5
    saved = save_archive(_Divide(), (a, b), tmp_path / "div.pt", mode="script")
    old = _rewrite(saved, tmp_path / "div_v3.pt", 3)
    convert(old, tmp_path / "div.onnx", (a, b))
    assert onnx_op_types(tmp_path / "div.onnx") == {"Div"}
    assert verify(old, tmp_path / "div.onnx", (a, b)).ok


def test_format_4_full_with_integer_fill_is_float(tmp_path: Path) -> None:
    n = torch.tensor([1, 2, 3])
    saved = save_archive(_Fill(), (n,), tmp_path / "full.pt", mode="script")
    old = _rewrite(saved, tmp_path / "full_v4.pt", 4)
    convert(old, tmp_path / "full.onnx", (n,))
    (got,) = _onnx_run(tmp_path / "full.onnx", n)
    assert got.dtype == np.float32 and np.array_equal(got, [4.0, 5.0, 6.0])
    assert verify(old, tmp_path / "full.onnx", (n,)).ok


class _Spaced(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(x) + torch.linspace(0.0, 1.0, 100) + torch.logspace(0.0, 1.0, 100)


def test_format_3_gelu_linspace_logspace_without_steps(tmp_path: Path) -> None:
    """Before formats 8/9/10 steps could be left out (100) and gelu had no approximate."""
    x = torch.randn(100)
    saved = save_archive(_Spaced(), (x,), tmp_path / "spaced.pt", mode="script")
    old = _rewrite(
        saved,
        tmp_path / "spaced_v3.pt",
        3,
        (
            ("torch.linspace(0., 1., 100)", "torch.linspace(0., 1.)"),
            ("torch.logspace(0., 1., 100)", "torch.logspace(0., 1.)"),
        ),
    )
    convert(old, tmp_path / "spaced.onnx", (x,))
    (got,) = _onnx_run(tmp_path / "spaced.onnx", x)
    expected = nn.functional.gelu(x) + torch.linspace(0, 1, 100) + torch.logspace(0, 1, 100)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-5)
    assert verify(old, tmp_path / "spaced.onnx", (x,)).ok


def test_old_cast_spelling(tmp_path: Path) -> None:
    x = torch.randn(2, 3)
    saved = save_archive(_Long(), (x,), tmp_path / "long.pt", mode="script")
    old = _rewrite(
        saved, tmp_path / "long_v2.pt", 2, (("torch.to(y, 4)", "torch._cast_Long(y, False)"),)
    )
    convert(old, tmp_path / "long.onnx", (x,))
    (got,) = _onnx_run(tmp_path / "long.onnx", x)
    assert np.array_equal(got, np.trunc(x.numpy() * 2.5).astype(np.int64))
    assert verify(old, tmp_path / "long.onnx", (x,)).ok


# ---- mobile archives -------------------------------------------------------------------------
def _traced_mlp(x: torch.Tensor) -> torch.jit.ScriptModule:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    with quiet_jit(), torch.no_grad():
        return torch.jit.trace(model, (x,))


def _save_lite(module: torch.jit.ScriptModule, path: Path, flatbuffer: bool = False) -> Path:
    """model._save_for_lite_interpreter, as mobile apps ship models (deprecation muted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module._save_for_lite_interpreter(str(path), _use_flatbuffer=flatbuffer)
    return path


@pytest.mark.parametrize("flatbuffer", [False, True], ids=["zip", "flatbuffer"])
def test_lite_interpreter_archive_converts(flatbuffer: bool, tmp_path: Path) -> None:
    x = torch.randn(3, 4)
    path = _save_lite(_traced_mlp(x), tmp_path / "model.ptl", flatbuffer)
    assert (path.read_bytes()[4:8] == b"PTMF") is flatbuffer
    convert(path, tmp_path / "model.onnx", (x,))
    assert verify(path, tmp_path / "model.onnx", (x,)).ok


def test_bytecode_only_lite_archive_is_refused(tmp_path: Path) -> None:
    x = torch.randn(3, 4)
    full = _save_lite(_traced_mlp(x), tmp_path / "full.ptl")
    path = tmp_path / "bytecode.ptl"
    with zipfile.ZipFile(full) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            if "/code/" not in info.filename:
                zout.writestr(info, zin.read(info.filename))
    with pytest.raises(ModelLoadError) as info:
        convert(path, tmp_path / "model.onnx", (x,))
    assert str(info.value) == (
        f"{path}: a lite-interpreter (mobile) archive holding bytecode only, which "
        "torch.jit.load cannot read; save the original scripted or traced module with "
        "torch.jit.save(module, path)"
    )


def test_model_json_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("legacy/version", "1\n")
        zf.writestr("legacy/model.json", '{"protoVersion": "6", "mainModule": {"name": "m"}}')
        zf.writestr("legacy/tensors/0", b"\0" * 16)
        zf.writestr("legacy/code/legacy.py", "op_version_set = 0\n")
    with pytest.raises(ModelLoadError) as info:
        convert(path, tmp_path / "model.onnx", (torch.randn(2),))
    assert str(info.value) == (
        f"{path}: a TorchScript archive in the model.json format of torch 1.0-1.2, which current "
        "torch cannot load; load it with torch 1.3 to 1.x and save it again with torch.jit.save"
    )


class _Linear(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(2, 4))
        self.bias = nn.Parameter(torch.randn(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias)


def test_optimized_for_mobile_archive_is_refused(tmp_path: Path) -> None:
    """optimize_for_mobile writes XNNPACK prepacked ops into code/.

    Crafted by rewriting the code: this torch build has no XNNPACK, so optimize_for_mobile fails.
    """
    x = torch.randn(3, 4)
    saved = save_archive(_Linear(), (x,), tmp_path / "linear.pt", mode="script")
    call = (
        "ops.prepacked.linear_clamp_run(x, "
        "ops.prepacked.linear_clamp_prepack(weight, bias, None, None))"
    )
    path = _rewrite(saved, tmp_path / "mobile.ptl", 5, (("torch.linear(x, weight, bias)", call),))
    with pytest.raises(ModelLoadError) as info:
        convert(path, tmp_path / "model.onnx", (x,))
    assert str(info.value) == (
        f"{path}: an archive rewritten by optimize_for_mobile (XNNPACK prepacked ops), which "
        "jit2onnx does not translate; convert the module saved before optimize_for_mobile"
    )
