"""Parity of views, reshapes, permutes, squeeze, expand, slicing, splitting and joining."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

from converter import ConvertOptions, convert
from tests.harness import OpCase, assert_parity, onnx_op_types, save_archive
from tests.models import Fn, fn


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4),)


def _x4() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 4, 5),)


def _xy() -> tuple[torch.Tensor, ...]:
    return torch.randn(2, 3, 4), torch.randn(2, 3, 4)


def _col() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 1),)


# ---- scripted modules (TorchScript cannot script lambdas) -------------------------------------
class ViewBatch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), -1)


class ViewShapeIndex(nn.Module):
    """x.shape[0] scripts to aten::size + aten::__getitem__.t."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], x.size(1) * x.size(2)) + 1


class UnpackShape(nn.Module):
    """b, c, h = x.size() scripts to aten::size + prim::ListUnpack."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h = x.size()
        return x.view(b, h, c)


class SliceRuntime(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n = x.size(1)
        return x[:, : n - 1], x[..., 1], x[:, None]


class SplitUnpack(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = x.split(3, 2)
        return a, b * 2


class SplitSizesScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = torch.split(x, [1, 3], dim=2)
        return a, b


class ChunkGetItem(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(2, -1)
        return parts[0] + parts[1]


class UnbindScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.unbind(1)
        return rows[0] - rows[2]


class CatStackScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat([x, x * 2], dim=1), torch.stack([x, x], dim=-1)


class ShapeSlice(nn.Module):
    """x.shape[1:] on a list of sizes: aten::slice.t."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view([-1] + x.shape[2:])  # noqa: RUF005 (list + is what it tests)


class SqueezeScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.squeeze(-1), x.unsqueeze(0).squeeze(0)


class ExpandRuntime(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1].expand(x.size(0), 5, -1)


class RepeatScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(1, 2, 1)


class NarrowRuntime(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(2, 1, x.size(2) - 2)


class ClsToken(nn.Module):
    """The ViT pattern: a learned token expanded to the batch and prepended."""

    def __init__(self) -> None:
        super().__init__()
        self.cls = nn.Parameter(torch.randn(1, 1, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cls.expand(x.size(0), -1, -1), x], dim=1)


class UnsafeSplitsScripted(nn.Module):
    """Scripted torch.unsafe_* splits, x.T (aten::numpy_T) and movedim."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        a = torch.unsafe_chunk(x, 2, 2)
        b = torch.unsafe_split(x, 2, 1)
        c = torch.unsafe_split_with_sizes(x, [1, 3], 2)
        return [a[1], b[1], c[0], x[0].T, torch.movedim(x, (0, 1), (2, 0))]


_RESHAPE = frozenset({"Reshape"})
_T = frozenset({"Transpose"})

CASES = [
    # reshapes
    OpCase("flatten_1", fn(lambda x: x.flatten(1)), _x4, expect_ops=frozenset({"Flatten"})),
    OpCase("flatten_all", fn(lambda x: x.flatten()), _x4, expect_ops=_RESHAPE),
    OpCase("flatten_mid", fn(lambda x: x.flatten(1, 2)), _x4, expect_ops=_RESHAPE),
    OpCase("flatten_neg", fn(lambda x: x.flatten(-2)), _x4, expect_ops=_RESHAPE),
    OpCase("flatten_module", lambda: nn.Flatten(), _x4, expect_ops=frozenset({"Flatten"})),
    OpCase("flatten_scripted", lambda: nn.Flatten(), _x4, mode="script"),
    OpCase(
        "view_batch",
        fn(lambda x: x.view(x.size(0), -1)),
        _x,
        expect_ops=frozenset({"Shape", "Gather", "Reshape", "Concat"}),
    ),
    OpCase("view_batch_scripted", ViewBatch, _x, mode="script"),
    OpCase("view_shape_index_scripted", ViewShapeIndex, _x, mode="script"),
    OpCase("unpack_shape_scripted", UnpackShape, _x, mode="script"),
    OpCase("reshape_minus_one", fn(lambda x: x.reshape(-1, 4)), _x, expect_ops=_RESHAPE),
    OpCase("reshape_runtime", fn(lambda x: x.reshape(x.size(0), 2, 6)), _x),
    OpCase("view_as", fn(lambda x, y: x.flatten(1).view_as(y)), _xy),
    OpCase("reshape_as", fn(lambda x, y: x.transpose(1, 2).reshape_as(y)), _xy),
    OpCase("unflatten", fn(lambda x: x.unflatten(2, (2, 2))), _x, expect_ops=_RESHAPE),
    OpCase("shape_slice_scripted", ShapeSlice, _x4, mode="script"),
    # axes
    OpCase("permute", fn(lambda x: x.permute(2, 0, 1)), _x, expect_ops=_T),
    OpCase("permute_neg", fn(lambda x: x.permute(0, -1, 1)), _x, expect_ops=_T),
    OpCase("transpose", fn(lambda x: x.transpose(1, 2)), _x, expect_ops=_T),
    OpCase("transpose_neg", fn(lambda x: x.transpose(-1, 0)), _x, expect_ops=_T),
    OpCase("t", fn(lambda x: x.t()), lambda: (torch.randn(2, 5),), expect_ops=_T),
    OpCase(
        "t_1d", fn(lambda x: x.t() + 1), lambda: (torch.randn(5),), expect_ops=frozenset({"Add"})
    ),
    OpCase("mT", fn(lambda x: x.mT), _x4, expect_ops=_T),
    OpCase("movedim", fn(lambda x: x.movedim(1, -1)), _x4, expect_ops=_T),
    OpCase("contiguous", fn(lambda x: x.transpose(1, 2).contiguous()), _x, expect_ops=_T),
    OpCase("unsqueeze", fn(lambda x: x.unsqueeze(1)), _x, expect_ops=frozenset({"Unsqueeze"})),
    OpCase("unsqueeze_neg", fn(lambda x: x.unsqueeze(-1)), _x, expect_ops=frozenset({"Unsqueeze"})),
    OpCase("squeeze_dim", fn(lambda x: x.squeeze(2)), _col, expect_ops=frozenset({"Squeeze"})),
    OpCase("squeeze_noop", fn(lambda x: x.squeeze(1) + 1), _col, expect_ops=frozenset({"Add"})),
    OpCase(
        "squeeze_dims",
        fn(lambda x: x.unsqueeze(1).squeeze((1, 3))),
        _col,
        expect_ops=frozenset({"Unsqueeze", "Squeeze"}),
    ),
    OpCase(
        "squeeze_all_static",
        fn(lambda x: x.squeeze()),
        _col,
        dynamic_batch=False,
        expect_ops=frozenset({"Squeeze"}),
    ),
    OpCase(
        "squeeze_all_dynamic", fn(lambda x: x.squeeze()), _col, expect_ops=frozenset({"Squeeze"})
    ),
    OpCase(
        "squeeze_batch_dynamic",
        fn(lambda x: x.squeeze(0) + 1),
        _col,
        expect_ops=frozenset({"Add"}),
    ),
    OpCase("squeeze_scripted", SqueezeScripted, _col, mode="script"),
    # broadcasting and tiling
    OpCase("expand_keep", fn(lambda x: x[:, :1].expand(-1, 5, -1)), _x),
    OpCase(
        "expand_new_dim",
        fn(lambda x: x.expand(3, -1, -1, -1)),
        _x,
        expect_ops=frozenset({"Expand"}),
    ),
    OpCase("expand_runtime_scripted", ExpandRuntime, _x, mode="script"),
    OpCase("expand_cls_token", ClsToken, _x),
    OpCase("expand_cls_token_scripted", ClsToken, _x, mode="script"),
    OpCase("expand_as", fn(lambda x, y: x[:, :, :1].expand_as(y)), _xy),
    OpCase("repeat", fn(lambda x: x.repeat(1, 2, 3)), _x, expect_ops=frozenset({"Tile"})),
    OpCase(
        "repeat_more_dims",
        fn(lambda x: x.repeat(2, 1, 1, 2)),
        _x,
        expect_ops=frozenset({"Unsqueeze", "Tile"}),
    ),
    OpCase("repeat_scripted", RepeatScripted, _x, mode="script"),
    # slicing
    OpCase("slice_start", fn(lambda x: x[:, 1:]), _x, expect_ops=frozenset({"Slice"})),
    OpCase("slice_neg", fn(lambda x: x[:, -2:, :-1]), _x, expect_ops=frozenset({"Slice"})),
    OpCase("slice_step", fn(lambda x: x[:, ::2, 1::2]), _x, expect_ops=frozenset({"Slice"})),
    OpCase("slice_huge_end", fn(lambda x: x[..., 1:9223372036854775807]), _x),
    OpCase("slice_runtime_scripted", SliceRuntime, _x, mode="script"),
    OpCase("narrow", fn(lambda x: x.narrow(1, 1, 2)), _x, expect_ops=frozenset({"Slice"})),
    OpCase("narrow_neg", fn(lambda x: x.narrow(2, -2, 2)), _x, expect_ops=frozenset({"Slice"})),
    OpCase("narrow_runtime_scripted", NarrowRuntime, _x, mode="script"),
    OpCase("select", fn(lambda x: x[:, 1]), _x, expect_ops=frozenset({"Gather"})),
    OpCase("select_neg", fn(lambda x: x[:, :, -1]), _x, expect_ops=frozenset({"Gather"})),
    OpCase("select_batch", fn(lambda x: x.select(0, -1)), _x, expect_ops=frozenset({"Gather"})),
    # splitting
    OpCase("chunk", fn(lambda x: x.chunk(2, 2)), _x, expect_ops=frozenset({"Split"})),
    OpCase("chunk_uneven", fn(lambda x: x.chunk(3, 2)), _x, expect_ops=frozenset({"Split"})),
    OpCase("chunk_fewer", fn(lambda x: x.chunk(4, 1)), _x, expect_ops=frozenset({"Split"})),
    OpCase("chunk_scripted", ChunkGetItem, _x, mode="script"),
    OpCase("split", fn(lambda x: x.split(3, 2)), _x, expect_ops=frozenset({"Split"})),
    OpCase("split_sizes", fn(lambda x: x.split([1, 3], 2)), _x, expect_ops=frozenset({"Split"})),
    OpCase("split_scripted", SplitUnpack, _x, mode="script"),
    OpCase("split_sizes_scripted", SplitSizesScripted, _x, mode="script"),
    OpCase("unbind", fn(lambda x: x.unbind(1)), _x, expect_ops=frozenset({"Split", "Squeeze"})),
    OpCase("unbind_scripted", UnbindScripted, _x, mode="script"),
    OpCase("unsafe_splits_scripted", UnsafeSplitsScripted, _x, mode="script"),
    # joining
    OpCase(
        "cat", fn(lambda x: torch.cat([x, x * 2], 1)), _x, expect_ops=frozenset({"Mul", "Concat"})
    ),
    OpCase(
        "cat_neg", fn(lambda x, y: torch.cat((x, y), -1)), _xy, expect_ops=frozenset({"Concat"})
    ),
    OpCase(
        "cat_promote",
        fn(lambda x: torch.cat([x, (x > 0).long()], 0)),
        _x,
        expect_ops=frozenset({"Greater", "Cast", "Concat"}),
    ),
    OpCase(
        "stack",
        fn(lambda x, y: torch.stack([x, y], 1)),
        _xy,
        expect_ops=frozenset({"Unsqueeze", "Concat"}),
    ),
    OpCase("stack_last", fn(lambda x, y: torch.stack([x, y], -1)), _xy),
    OpCase("cat_stack_scripted", CatStackScripted, _x, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


# ---- dynamic batch: sizes from x.size(0) stay dynamic, constant sizes pin the dim -----------
def test_view_from_size_stays_dynamic(tmp_path: Path) -> None:
    case = OpCase("view_dynamic", fn(lambda x: x.view(x.size(0), -1)), _x)
    result, report = assert_parity(case, tmp_path)
    assert result.inputs[0].dims[0] == "batch"
    assert not result.warnings
    resized = [c for c in report.cases if c.label.startswith("resized")]
    assert resized and all(c.ok for c in resized)
    assert resized[0].input_shapes[0][0] != 2


def test_view_constant_batch_is_pinned(tmp_path: Path) -> None:
    module = Fn(lambda x: x.view(2, -1)).eval()
    inputs = _x()
    archive = save_archive(module, inputs, tmp_path / "baked.pt")
    out = tmp_path / "baked.onnx"
    result = convert(archive, out, inputs, options=ConvertOptions())
    assert result.inputs[0].dims[0] == 2
    assert any("batch" in w for w in result.warnings), result.warnings
    dim = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 2
    case = OpCase("view_baked", lambda: Fn(lambda x: x.view(2, -1)), _x)
    _, report = assert_parity(case, tmp_path)
    assert not any(c.label.startswith("resized") for c in report.cases)


def test_flatten_keeps_static_features(tmp_path: Path) -> None:
    """flatten(1) then chunk: the flattened size is known though the batch is symbolic."""
    case = OpCase("flatten_chunk", fn(lambda x: x.view(x.size(0), -1).chunk(3, 1)), _x4)
    result, _ = assert_parity(case, tmp_path)
    assert result.inputs[0].dims[0] == "batch"
    assert "Split" in onnx_op_types(tmp_path / "flatten_chunk.onnx")


def test_chunk_of_symbolic_dim_is_refused(tmp_path: Path) -> None:
    from converter.errors import TranslationError

    module = Fn(lambda x: x.chunk(2, 0)).eval()
    inputs = (torch.randn(4, 3),)
    archive = save_archive(module, inputs, tmp_path / "c.pt")
    with pytest.raises(TranslationError, match="run time"):
        convert(archive, tmp_path / "c.onnx", inputs)


def test_squeeze_of_batch_traced_at_one(tmp_path: Path) -> None:
    """Traced at batch 1, squeeze() removes the batch dim only at that size: refused unless
    the batch dim is static."""
    from converter.errors import TranslationError

    module = Fn(lambda x: x.squeeze()).eval()
    inputs = (torch.randn(1, 3, 1),)
    archive = save_archive(module, inputs, tmp_path / "s.pt")
    with pytest.raises(TranslationError, match="traced at size 1"):
        convert(archive, tmp_path / "s.onnx", inputs)
    static = OpCase(
        "squeeze_static_one",
        lambda: Fn(lambda x: x.squeeze()),
        lambda: (torch.randn(1, 3, 1),),
        dynamic_batch=False,
        expect_ops=frozenset({"Squeeze"}),
    )
    assert_parity(static, tmp_path)
