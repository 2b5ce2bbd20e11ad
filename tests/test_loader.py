"""Loading: flat graphs from traced, scripted and mixed modules; input names; warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from converter import load
from tests.harness import save_archive
from tests.models import tiny_mlp


class _Mixed(torch.jit.ScriptModule):
    def __init__(self) -> None:
        super().__init__()
        self.body = torch.jit.trace(tiny_mlp().eval(), torch.randn(2, 4))

    @torch.jit.script_method
    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.body(features).reshape(features.size(0), -1)


def test_mixed_script_and_trace_becomes_one_flat_graph(tmp_path: Path) -> None:
    from converter._jit import quiet_jit

    with quiet_jit():
        module = _Mixed()
        torch.jit.save(module, str(tmp_path / "mixed.pt"))
    model = load(tmp_path / "mixed.pt")
    kinds = {n.kind() for n in model.graph.nodes()}
    assert "prim::CallMethod" not in kinds and "prim::GetAttr" not in kinds
    assert "aten::linear" in kinds
    assert model.input_names == ("features",)


def test_meaningless_argument_names_become_positional(tmp_path: Path) -> None:
    class Args(nn.Module):
        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return args[0] + args[1]

    archive = save_archive(Args(), [torch.randn(2), torch.randn(2)], tmp_path / "a.pt")
    assert load(archive).input_names == ("input_0", "input_1")


def test_loading_raises_no_torch_jit_deprecation_warning(tmp_path: Path) -> None:
    archive = save_archive(tiny_mlp(), [torch.randn(2, 4)], tmp_path / "m.pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(archive)
    assert [str(w.message) for w in caught if "torch.jit" in str(w.message)] == []


def test_other_deprecation_warnings_are_not_silenced() -> None:
    from converter._jit import quiet_jit

    with warnings.catch_warnings(record=True) as caught, quiet_jit():
        warnings.simplefilter("always")
        warnings.warn("`torch.foo` is deprecated", DeprecationWarning, stacklevel=1)
    assert len(caught) == 1
