"""Parity of tensor creation: zeros/ones/full/empty and new_*, arange, linspace, eye, tensor
literals, meshgrid, repeat_interleave, tile, pixel_shuffle/unshuffle, unfold and im2col; sizes
taken from inputs stay dynamic."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from converter import ConvertOptions, convert
from converter.errors import TranslationError
from tests.harness import OpCase, assert_parity, save_archive
from tests.models import fn


def _f(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(*shape),)


def _img(n: int = 2, c: int = 8, h: int = 4, w: int = 6) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randn(n, c, h, w),)


# ---- scripted modules ------------------------------------------------------------------------
class FillsScripted(nn.Module):
    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        n = x.size(0)
        return (
            torch.full([n, 2], True),
            torch.zeros(n, 3) + torch.ones([n, 3], dtype=torch.int32),
            torch.full([n, 2], 3),
            torch.full([n, 2], x.sum()),
            torch.full([2, n], 1.5, dtype=torch.float64),
            x.new_zeros([n, 2]) + x.new_ones([n, 1]) + x.new_full([n, 2], 0.25),
        )


class RangesScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        n = x.size(0)
        return [
            torch.arange(n),
            torch.arange(1, n + 5, 2),
            torch.arange(0.0, float(n), 0.5),
            torch.arange(n, dtype=torch.float32) * x[:, 0],
            torch.linspace(-1.0, 1.0, n),
            torch.eye(n),
            torch.eye(n, 3, dtype=torch.int64),
            torch.arange(-0.5, n, 1.5, dtype=torch.int64),
        ]


class LiteralsScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        n = x.size(0)
        return [
            torch.tensor([1.0, 2.0]) * x[:, :2],
            torch.tensor(n),
            torch.tensor([n, 2 * n, 7]),
            torch.tensor([[n, 1], [2, n]], dtype=torch.float32),
            torch.scalar_tensor(n),
            torch.tensor(True) & (x > 0),
            torch.tensor(2.5, dtype=torch.float64) * x,
        ]


class EmptyFilled(nn.Module):
    """torch.empty overwritten in place before use (fill_ and zero_)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.empty(x.size(0), 3).fill_(2.0)
        b = torch.empty_like(x).zero_()
        c = x.new_empty((x.size(0), 3)).fill_(1.0)
        return a + b[:, :3] + c


class MeshScripted(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gx, gy = torch.meshgrid(x, y, indexing="xy")
        return gx, gy


class RepeatScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n = x.size(1)
        return (
            x.repeat_interleave(2, dim=1),
            torch.repeat_interleave(x, n, dim=0),
            x.tile([2]),
        )


class LocalResponseNorm(nn.Module):
    """nn.LocalResponseNorm, scripted: its code asks input.numel()."""

    def __init__(self) -> None:
        super().__init__()
        self.lrn = nn.LocalResponseNorm(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lrn(x)


class PixelScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return F.pixel_shuffle(x, 2), F.pixel_unshuffle(x, 2)


class UnfoldScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.unfold(2, 3, 1), F.unfold(x, 2, stride=2)


def _ints(*shape: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    return lambda: (torch.randint(-9, 10, shape),)


CASES = [
    # fills with dynamic sizes
    OpCase(
        "zeros_dynamic",
        fn(lambda x: torch.zeros(x.size(0), 3) + x[:, :1]),
        _f(4, 5),
        expect_ops=frozenset(
            {"Shape", "Gather", "Reshape", "Concat", "ConstantOfShape", "Add", "Slice"}
        ),
    ),
    OpCase("ones_int_dtype", fn(lambda x: torch.ones(x.shape, dtype=torch.int32)), _f(4, 5)),
    OpCase("ones_bool", fn(lambda x: torch.ones(x.size(0), 2, dtype=torch.bool)), _f(4, 5)),
    OpCase("full_float", fn(lambda x: torch.full((x.size(0), 2), 2.5)), _f(4, 5)),
    OpCase("full_int", fn(lambda x: torch.full((x.size(0), 2), 7)), _f(4, 5)),
    OpCase("full_runtime_scalar", fn(lambda x: torch.full((x.size(0), 3), x.sum())), _f(4, 5)),
    OpCase("full_runtime_int_scalar", fn(lambda x: torch.full((2, 3), x.size(0))), _f(4, 5)),
    OpCase(
        "new_zeros_ones_full",
        fn(
            lambda x: (
                x.new_zeros(x.shape),
                x.new_ones((2, x.size(1))),
                x.new_full((x.size(0),), 1.5),
            )
        ),
        _f(4, 5),
    ),
    OpCase("new_zeros_int_like", fn(lambda x: x.new_zeros((x.size(0), 2))), _ints(4, 5)),
    OpCase("fills_scripted", FillsScripted, _f(4, 5), mode="script"),
    OpCase("empty_filled", EmptyFilled, _f(4, 5)),
    OpCase("empty_filled_scripted", EmptyFilled, _f(4, 5), mode="script"),
    OpCase("empty_no_elements", fn(lambda x: torch.cat([torch.empty(0, 5), x])), _f(4, 5)),
    # ranges
    OpCase(
        "arange_dynamic_end", fn(lambda x: torch.arange(x.size(0)) + x[:, 0].long()), _ints(6, 3)
    ),
    OpCase("arange_start_step", fn(lambda x: torch.arange(2, x.size(0) * 3, 3)), _f(6, 3)),
    OpCase("arange_float_step", fn(lambda x: torch.arange(0.5, x.size(0), 0.25)), _f(6, 3)),
    OpCase("arange_negative_step", fn(lambda x: torch.arange(x.size(0), -3, -2)), _f(6, 3)),
    OpCase(
        "arange_float_dtype",
        fn(lambda x: torch.arange(x.size(0), dtype=torch.float32) / x.size(0)),
        _f(6, 3),
    ),
    OpCase("arange_int_dtype", fn(lambda x: torch.arange(x.size(0), dtype=torch.int32)), _f(6, 3)),
    OpCase(
        "arange_int_dtype_fractional",
        fn(lambda x: torch.arange(-0.5, x.size(0) + 0.7, 1.5, dtype=torch.int64)),
        _f(6, 3),
    ),
    OpCase("ranges_scripted", RangesScripted, _f(6, 3), mode="script"),
    OpCase("linspace_dynamic", fn(lambda x: torch.linspace(0, 1, x.size(0))), _f(7, 3)),
    OpCase(
        "linspace_odd_even",
        fn(lambda x: torch.linspace(-3, 5, x.size(1))),
        _f(3, 8),
        dynamic_dims={0: (1,)},
    ),
    OpCase(
        "linspace_int", fn(lambda x: torch.linspace(0, 10, x.size(0), dtype=torch.int64)), _f(7, 3)
    ),
    OpCase("eye_dynamic", fn(lambda x: torch.eye(x.size(0)) @ x), _f(4, 4)),
    OpCase("eye_rect_bool", fn(lambda x: torch.eye(x.size(0), 3, dtype=torch.bool)), _f(4, 4)),
    # literals
    OpCase("literals_scripted", LiteralsScripted, _f(4, 5), mode="script"),
    # grids, repeats, tiles
    OpCase(
        "meshgrid_ij",
        fn(lambda x, y: torch.meshgrid(x, y, indexing="ij")),
        lambda: (torch.randn(3), torch.randn(4)),
    ),
    OpCase(
        "meshgrid_xy_three",
        fn(lambda x, y, z: torch.meshgrid(x, y, z, indexing="xy")),
        lambda: (torch.randn(3), torch.randn(4), torch.randn(2)),
    ),
    OpCase(
        "meshgrid_dynamic",
        fn(lambda x: torch.meshgrid(torch.arange(x.size(0)).float(), x[0], indexing="ij")),
        _f(3, 5),
    ),
    OpCase(
        "meshgrid_scripted", MeshScripted, lambda: (torch.randn(3), torch.randn(4)), mode="script"
    ),
    OpCase("repeat_interleave_dim", fn(lambda x: x.repeat_interleave(3, dim=1)), _f(2, 3, 4)),
    OpCase("repeat_interleave_batch", fn(lambda x: x.repeat_interleave(2, dim=0)), _f(2, 3, 4)),
    OpCase("repeat_interleave_flat", fn(lambda x: x.repeat_interleave(2)), _f(2, 3)),
    OpCase(
        "repeat_interleave_tensor_const",
        fn(lambda x: x.repeat_interleave(torch.tensor([1, 0, 3]), dim=1)),
        _f(2, 3, 4),
    ),
    OpCase(
        "repeat_interleave_tensor_runtime",
        fn(lambda x, r: torch.repeat_interleave(x, r, dim=1)),
        lambda: (torch.randn(2, 3, 4), torch.tensor([2, 0, 1])),
    ),
    OpCase(
        "repeat_interleave_indices",
        fn(lambda r: torch.repeat_interleave(r)),
        lambda: (torch.tensor([1, 3, 0, 2]),),
    ),
    OpCase(
        "repeat_interleave_dynamic_count",
        fn(lambda x: x.repeat_interleave(x.size(0), dim=1)),
        _f(2, 3),
    ),
    OpCase("repeat_scripted", RepeatScripted, _f(2, 3), mode="script"),
    OpCase("tile_short", fn(lambda x: x.tile((2,))), _f(2, 3, 4), expect_ops=frozenset({"Tile"})),
    OpCase("tile_long", fn(lambda x: x.tile((2, 1, 1, 3))), _f(2, 3, 4)),
    OpCase("tile_dynamic", fn(lambda x: x[0].tile((x.size(0), 1))), _f(2, 3)),
    OpCase("tile_bool", fn(lambda x: (x > 0).tile((2, 2))), _f(2, 3)),
    # pixel shuffles
    OpCase(
        "pixel_shuffle",
        fn(lambda x: F.pixel_shuffle(x, 2)),
        _img(),
        expect_ops=frozenset({"DepthToSpace"}),
    ),
    OpCase("pixel_shuffle_3", fn(lambda x: F.pixel_shuffle(x, 3)), _img(2, 18, 3, 2)),
    OpCase(
        "pixel_shuffle_3d_input",
        fn(lambda x: F.pixel_shuffle(x, 2)),
        _f(8, 3, 5),
        dynamic_batch=False,
    ),
    OpCase("pixel_shuffle_5d_input", fn(lambda x: F.pixel_shuffle(x, 2)), _f(2, 3, 8, 2, 3)),
    OpCase(
        "pixel_shuffle_int",
        fn(lambda x: F.pixel_shuffle(x, 2)),
        lambda: (torch.randint(0, 100, (2, 8, 3, 3)),),
    ),
    OpCase(
        "pixel_shuffle_dynamic_hw",
        fn(lambda x: F.pixel_shuffle(x, 2)),
        _img(),
        dynamic_dims={0: (2, 3)},
    ),
    OpCase("pixel_unshuffle", fn(lambda x: F.pixel_unshuffle(x, 2)), _img()),
    OpCase(
        "pixel_unshuffle_3d_input",
        fn(lambda x: F.pixel_unshuffle(x, 2)),
        _f(3, 4, 6),
        dynamic_batch=False,
    ),
    OpCase(
        "pixel_unshuffle_dynamic_hw",
        fn(lambda x: F.pixel_unshuffle(x, 2)),
        _img(),
        dynamic_dims={0: (2, 3)},
    ),
    OpCase(
        "pixel_roundtrip",
        fn(lambda x: F.pixel_shuffle(F.pixel_unshuffle(x, 2), 2)),
        _img(2, 3, 4, 6),
    ),
    OpCase("pixel_scripted", PixelScripted, _img(), mode="script"),
    # sliding windows
    OpCase("unfold_last", fn(lambda x: x.unfold(-1, 3, 2)), _f(2, 3, 7)),
    OpCase("unfold_middle", fn(lambda x: x.unfold(1, 2, 1)), _f(2, 5, 4)),
    OpCase("unfold_batch_dim", fn(lambda x: x.unfold(0, 2, 2)), _f(4, 3)),
    OpCase(
        "unfold_dynamic_length",
        fn(lambda x: x.unfold(1, 3, 2)),
        _f(2, 9, 4),
        dynamic_dims={0: (1,)},
    ),
    OpCase("im2col", fn(lambda x: F.unfold(x, 3)), _img(2, 3, 5, 6)),
    OpCase(
        "im2col_padded_strided",
        fn(lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1), dilation=(1, 2))),
        _img(2, 3, 5, 6),
    ),
    OpCase(
        "im2col_dynamic_hw",
        fn(lambda x: F.unfold(x, 2, stride=2)),
        _img(2, 3, 4, 6),
        dynamic_dims={0: (2, 3)},
    ),
    OpCase("im2col_unbatched", fn(lambda x: F.unfold(x, 2)), _f(3, 4, 5), dynamic_batch=False),
    OpCase("unfold_scripted", UnfoldScripted, _img(2, 3, 5, 6), mode="script"),
    OpCase("local_response_norm_scripted", LocalResponseNorm, _img(2, 6, 4, 4), mode="script"),
    OpCase("local_response_norm_traced", LocalResponseNorm, _img(2, 6, 4, 4)),
    # bfloat16 results (computed through float32, exactly)
    OpCase(
        "bfloat16_creation",
        fn(
            lambda x: (
                torch.zeros(x.size(0), 2, dtype=torch.bfloat16).float(),
                torch.arange(x.size(0), dtype=torch.bfloat16).float(),
                torch.full((x.size(0),), x.sum(), dtype=torch.bfloat16).float(),
                x.bfloat16().repeat_interleave(2, 1).float(),
                x.bfloat16().tile((2,)).float(),
                torch.meshgrid(x[0].bfloat16(), x[1].bfloat16(), indexing="xy")[1].float(),
                F.unfold(x.bfloat16()[None, None], 2, padding=1).float(),
                F.pixel_shuffle(x.bfloat16().reshape(1, 4, 3, 1), 2).float(),
            )
        ),
        _f(3, 4),
        dynamic_batch=False,
    ),
    # float16 data through creation ops
    OpCase(
        "half_creation",
        fn(
            lambda x: (
                torch.zeros_like(x) + x.new_full((x.size(0), 4, 1, 1), 0.5),
                F.pixel_shuffle(x, 2),
                x.repeat_interleave(2, dim=1),
            )
        ),
        lambda: (torch.randn(2, 4, 2, 2).half(),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def test_sizes_stay_dynamic(tmp_path: Path) -> None:
    """zeros/arange sized by x.size(0) follow the batch dim at run time."""
    case = OpCase(
        "dyn",
        fn(lambda x: (torch.zeros(x.size(0), 2), torch.arange(x.size(0)), torch.eye(x.size(0)))),
        _f(4, 3),
    )
    assert_parity(case, tmp_path)
    graph = onnx.load(str(tmp_path / "dyn.onnx")).graph
    dims = [
        [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output
    ]
    assert (
        dims[0][0]
        == dims[1][0]
        == dims[2][0]
        == dims[2][1]
        == graph.input[0].type.tensor_type.shape.dim[0].dim_param
    )


# ---- refusals --------------------------------------------------------------------------------
class EmptyRead(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.empty(x.size(0), 5) + x


REFUSALS = [
    ("empty_read", EmptyRead, _f(4, 5), "uninitialized"),
    ("empty_returned", fn(lambda x: torch.empty_like(x)), _f(4, 5), "uninitialized"),
]


@pytest.mark.parametrize(
    ("name", "make", "inputs", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused(
    name: str,
    make: Callable[[], nn.Module],
    inputs: Callable[[], tuple[torch.Tensor, ...]],
    reason: str,
    tmp_path: Path,
) -> None:
    xs = inputs()
    archive = save_archive(make().eval(), xs, tmp_path / f"{name}.pt")
    with pytest.raises(TranslationError, match=reason):
        convert(archive, tmp_path / f"{name}.onnx", xs, options=ConvertOptions())
