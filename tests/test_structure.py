"""Structured inputs and outputs: tuples, lists, dicts, numbers, defaults, shared weights."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from converter import InputError, convert
from tests.harness import OpCase, assert_parity, save_archive


class TupleIn(nn.Module):
    def forward(self, pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return pair[0] * pair[1]


class ListIn(nn.Module):
    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return xs[0] + xs[1] * 2 + xs[2]


class DictIn(nn.Module):
    def forward(self, feats: dict[str, torch.Tensor]) -> torch.Tensor:
        return feats["a"] - feats["b"]


class DictOut(nn.Module):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"double": x * 2, "total": x.sum(1)}


class NestedOut(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        return x, (x + 1, x - 1)


class OptionalBias(nn.Module):
    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        if bias is None:
            return x * 2
        return x + bias


class ScaleBy(nn.Module):
    def forward(self, x: torch.Tensor, k: int) -> torch.Tensor:
        return x * k


class TokensAndMask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.register_buffer("scale", torch.full((8,), 0.5))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.emb(ids) * mask.unsqueeze(-1) * self.scale


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.head = nn.Linear(8, 30, bias=False)
        self.head.weight = self.emb.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.emb(ids))


def _x() -> tuple[object, ...]:
    return (torch.randn(2, 3),)


CASES = [
    OpCase(
        "tuple_in_scripted",
        TupleIn,
        lambda: ((torch.randn(2, 3), torch.randn(2, 3)),),
        mode="script",
    ),
    OpCase("tuple_in_traced", TupleIn, lambda: ((torch.randn(2, 3), torch.randn(2, 3)),)),
    OpCase("list_in", ListIn, lambda: ([torch.randn(2, 3) for _ in range(3)],), mode="script"),
    OpCase(
        "dict_in",
        DictIn,
        lambda: ({"a": torch.randn(2, 3), "b": torch.randn(2, 3)},),
        mode="script",
    ),
    OpCase("dict_out", DictOut, _x, mode="script"),
    OpCase("nested_out", NestedOut, _x),
    OpCase("optional_default", OptionalBias, _x, mode="script", expect_ops=frozenset({"Mul"})),
    OpCase(
        "optional_given", OptionalBias, lambda: (torch.randn(2, 3), torch.randn(3)), mode="script"
    ),
    OpCase("int_argument", ScaleBy, lambda: (torch.randn(2, 3), 3), mode="script"),
    OpCase(
        "token_ids_and_float_mask",
        TokensAndMask,
        lambda: (torch.randint(0, 20, (2, 5)), torch.ones(2, 5)),
    ),
    OpCase("tied_weights", Tied, lambda: (torch.randint(0, 30, (2, 5)),)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_flat_names(tmp_path: Path) -> None:
    pair = (torch.randn(2, 3), torch.randn(2, 3))
    archive = save_archive(TupleIn(), [pair], tmp_path / "t.pt", "script")
    result = convert(archive, tmp_path / "t.onnx", [pair])
    assert [i.name for i in result.inputs] == ["pair_0", "pair_1"]
    feats = {"a": torch.randn(2, 3), "b": torch.randn(2, 3)}
    archive = save_archive(DictIn(), [feats], tmp_path / "d.pt", "script")
    assert [i.name for i in convert(archive, tmp_path / "d.onnx", [feats]).inputs] == [
        "feats_a",
        "feats_b",
    ]
    archive = save_archive(NestedOut(), [torch.randn(2, 3)], tmp_path / "n.pt")
    result = convert(archive, tmp_path / "n.onnx", [torch.randn(2, 3)])
    assert result.outputs == ("output_0", "output_1_0", "output_1_1")
    archive = save_archive(DictOut(), [torch.randn(2, 3)], tmp_path / "o.pt", "script")
    assert convert(archive, tmp_path / "o.onnx", [torch.randn(2, 3)]).outputs == (
        "output_double",
        "output_total",
    )


def test_shared_weights_are_stored_once(tmp_path: Path) -> None:
    ids = torch.randint(0, 30, (2, 5))
    archive = save_archive(Tied().eval(), [ids], tmp_path / "t.pt")
    convert(archive, tmp_path / "t.onnx", [ids])
    assert len(onnx.load(str(tmp_path / "t.onnx")).graph.initializer) == 1


def test_missing_argument_without_default(tmp_path: Path) -> None:
    archive = save_archive(ScaleBy(), [torch.randn(2, 3), 3], tmp_path / "s.pt", "script")
    with pytest.raises(InputError, match="no example for argument 'k', which has no default"):
        convert(archive, tmp_path / "s.onnx", [torch.randn(2, 3)])
