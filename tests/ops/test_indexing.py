"""Parity of advanced indexing, index_select, gather/scatter, index_put, masked_select, roll,
flip, tril/triu, nonzero, take and index_fill/index_add/index_copy."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from tests.harness import OpCase, assert_parity, save_archive
from tests.models import fn

pytestmark = pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")


def _x() -> tuple[torch.Tensor, ...]:
    return (torch.randn(4, 5, 6),)


def _x_idx() -> tuple[torch.Tensor, ...]:
    """An index into dim 1 or 2 (sizes 5 and 6): its random probes stay in [0, 4]."""
    return torch.randn(4, 5, 6), torch.tensor([0, 4, 2])


def _x_neg() -> tuple[torch.Tensor, ...]:
    """Negative indices into dim 1 (size 5): probes stay in [-5, 2]."""
    return torch.randn(4, 5, 6), torch.tensor([-1, 2, -5, 0])


def _x_neg_apart() -> tuple[torch.Tensor, ...]:
    """Negative indices into dims 0 and 2 (size 6), the batch dim kept static."""
    return torch.randn(6, 5, 6), torch.tensor([-1, 2, -6, 0])


def _x_dup() -> tuple[torch.Tensor, ...]:
    """An index into dim 1 with a repeated entry."""
    return torch.randn(4, 5, 6), torch.tensor([3, 1, 3])


def _x_batch_idx() -> tuple[torch.Tensor, ...]:
    """An index into the batch dim: its values stay below the resized batch (2)."""
    return torch.randn(4, 5, 6), torch.tensor([1, 0, 1])


def _x_idx2d() -> tuple[torch.Tensor, ...]:
    return torch.randn(4, 5, 6), torch.tensor([[0, 4], [3, 1], [2, 2]])


def _x_mask() -> tuple[torch.Tensor, ...]:
    return torch.randn(4, 5, 6), torch.rand(4, 5) > 0.5


def _x_gather() -> tuple[torch.Tensor, ...]:
    """A gather/scatter index shaped like x along dim 1 (values in [0, 4]), batch shared."""
    return torch.randn(4, 5, 6), torch.randint(0, 5, (4, 3, 6))


def _x_gather_small() -> tuple[torch.Tensor, ...]:
    """An index smaller than x in every dim: gather reads, scatter writes, only that corner."""
    return torch.randn(4, 5, 6), torch.randint(0, 6, (4, 2, 3))


def _x_src() -> tuple[torch.Tensor, ...]:
    return torch.randn(4, 5, 6), torch.randint(0, 5, (4, 3, 6)), torch.randn(4, 3, 6)


def _x_zeros() -> tuple[torch.Tensor, ...]:
    x = torch.randn(4, 5, 6)
    x[x.abs() < 0.5] = 0.0
    return (x,)


def _ints() -> tuple[torch.Tensor, ...]:
    return (torch.randint(-2, 3, (4, 5, 6)),)


def _square() -> tuple[torch.Tensor, ...]:
    return (torch.randn(3, 5, 5),)


def _wide() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 4, 7),)


# ---- functions with assignments (lambdas cannot assign) ------------------------------------
def _put_cols(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[:, i] = 0.0
    return y


def _put_rows_neg(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x * 2
    y[:, i] = x[:, :1] - 1.0
    return y


def _put_mask_scalar(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[y > 0.5] = 0.5
    return y


def _put_mask_row(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[m] = torch.arange(6, dtype=torch.float32)
    return y


def _put_mask_values(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[y < 0] = y[y < 0] * 10.0
    return y


def _put_mask_mid(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[:, x[0, :, 0] > 0] = 7.0
    return y


def _put_mask_mid_values(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    m = x[0, :, 0] > 0
    y[:, m] = y[:, m].flip(0) * 2.0
    return y


def _put_extra_dims(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[:, i, 0] = torch.arange(3.0).view(1, 1, 3)
    return y


def _put_two(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[:, i, i] = -3.0
    return y


def _put_apart(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[i, :, i] = torch.arange(5, dtype=torch.float32)
    return y


def _put_select(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[1, i] += 1.0
    return y


def _put_slice_mask(x: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[:, 1:4][y[:, 1:4] > 0] = 5.0
    return y


def _put_accumulate(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    return x.index_put((i,), torch.ones(5, 6), accumulate=True)


def _put_accumulate_cols(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    return torch.index_put(x, (torch.tensor([[0], [1]]), i), torch.tensor(2.0), accumulate=True)


def _put_inplace(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x + 1
    y.index_put_((i,), torch.tensor(9.0))
    return y


def _put_impl(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    torch.ops.aten._index_put_impl_(y, [None, i], torch.tensor(4.0), True, False)
    return y


def _put_bool_mask_input(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    y = x.clone()
    y[m] += 100.0
    return y


# ---- scripted modules ------------------------------------------------------------------------
class IndexScripted(nn.Module):
    def forward(
        self, x: torch.Tensor, i: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return x[:, i], x[:, i, i], x[x > 0], x[..., -1][:, i], x[:, ::2][:, :, i]


class IndexApartScripted(nn.Module):
    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return x[i, :, i]


class PutScripted(nn.Module):
    """y[:, i] = v scripts to index_put_ on a full slice of y: written back to y."""

    def forward(self, x: torch.Tensor, i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x.clone()
        y[:, i] = x[:, :1] * 3.0
        z = x * 1.0
        z[z > 0] = x[x > 0] + 1.0
        return y, z


class PutSelectScripted(nn.Module):
    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        y[0, i] = y[0, i] + y[1, i]
        return y


class PutViewScripted(nn.Module):
    """Writes through a transposed view and a reshaped view."""

    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        t = y.transpose(1, 2)
        t[:, :, i] = x[:, i].transpose(1, 2) * 0.0
        v = y.view(-1)
        v[v < 0] = v[v < 0] * 0.5
        return y


class PutAliasScripted(nn.Module):
    """Writes through .float() of a float tensor (the same tensor), .double() (a copy),
    reshape of a fresh tensor, narrow with a negative start, and select-then-slice."""

    def forward(self, x: torch.Tensor, i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = x * 1.0
        f = y.float()
        f[:, i] = x[:, i] * 0.0
        d = y.double()
        d[d > 0] = d[d > 0] * 0.0
        r = y.reshape(-1, 6)
        r[r[:, 0] > 0] = r[r[:, 0] > 0] + 1.0
        n = y.narrow(2, -2, 2)
        n[n < 0] = n[n < 0] * 2.0
        s = y[1][1:4]
        s[:, i[:2]] = s[:, i[:2]] - 5.0
        return y, d


class GatherScatterScripted(nn.Module):
    def forward(
        self, x: torch.Tensor, g: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        perm = x.argsort(1)
        return (
            x.gather(1, g),
            torch.zeros_like(x).scatter(1, perm, x),
            x.scatter_add(1, g, x[:, :3]),
            x.index_select(2, g[0, 0]),
        )


class RollFlipScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.roll(1), x.roll([2, -1], [1, 2]), x.flip([0, 2])


class RollRuntimeScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.roll(x.size(0) // 2, 1)


class TriScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.tril(), x.triu(1), torch.tril(x > 0, -1)


class NonzeroScripted(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return x.nonzero(), torch.masked_select(x, x > 0), torch.argwhere(x)


class MiscScripted(nn.Module):
    def forward(
        self, x: torch.Tensor, i: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            x.index_fill(1, i, -1.0),
            x.index_add(1, i, x[:, :3], alpha=2.0),
            x.take(i),
            x.scatter_reduce(1, x.argsort(1)[:, :2], x[:, :2], "amax", include_self=False),
        )


class InPlaceTril(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x * 2
        y.tril_()
        return y + 1


_G = frozenset({"Gather"})

CASES = [
    # advanced indexing
    OpCase("index_input", fn(lambda x, i: x[:, i]), _x_idx, expect_ops=_G),
    OpCase("index_last_dim", fn(lambda x, i: x[..., i]), _x_idx, expect_ops=_G),
    OpCase("index_const_list", fn(lambda x: x[:, [0, 2, -1]]), _x, expect_ops=_G),
    OpCase("index_negative", fn(lambda x, i: x[:, i]), _x_neg, expect_ops=_G),
    OpCase("index_batch", fn(lambda x, i: x[i]), _x_batch_idx, expect_ops=_G),
    OpCase("index_int32", fn(lambda x, i: x[:, :, i.int()]), _x_idx),
    OpCase("index_opset17", fn(lambda x, i: x[:, i, i]), _x_idx, opset=17),
    OpCase("index_opset23", fn(lambda x, i: x[i, :, i]), _x_batch_idx, opset=23),
    OpCase("index_2d", fn(lambda x, i: x[:, i]), _x_idx2d),
    OpCase("index_adjacent", fn(lambda x, i: x[:, i, i]), _x_idx),
    OpCase("index_adjacent_front", fn(lambda x, i: x[i, i]), _x_batch_idx),
    OpCase("index_apart", fn(lambda x, i: x[i, :, i]), _x_batch_idx),
    OpCase("index_apart_neg", fn(lambda x, i: x[i, :, i]), _x_neg_apart, dynamic_batch=False),
    OpCase(
        "index_broadcast",
        fn(lambda x: x[:, torch.tensor([[0], [2]]), torch.tensor([1, 3, 5])]),
        _x,
    ),
    OpCase(
        "index_broadcast_apart",
        fn(lambda x, i: x[torch.tensor([[1], [0]]), :, i]),
        _x_idx,
    ),
    OpCase("index_after_select", fn(lambda x, i: x[:, -1][:, i]), _x_idx),
    OpCase("index_after_step", fn(lambda x, i: x[:, 1::2][..., i[:2]]), _x_idx),
    OpCase("index_mask_full", fn(lambda x: x[x > 0]), _x),
    OpCase("index_mask_lead", fn(lambda x: x[x[..., 0] > 0]), _x),
    OpCase("index_mask_mid", fn(lambda x: x[:, x[0, :, 0] > 0]), _x),
    OpCase("index_mask_input", fn(lambda x, m: x[m]), _x_mask),
    OpCase("index_mask_then_index", fn(lambda x, i: x[x[:, 0, 0] > -9][:, i]), _x_idx),
    OpCase("index_scripted", IndexScripted, _x_idx, mode="script"),
    OpCase("index_apart_scripted", IndexApartScripted, _x_batch_idx, mode="script"),
    # index_select, take
    OpCase("index_select", fn(lambda x, i: x.index_select(1, i)), _x_idx, expect_ops=_G),
    OpCase(
        "index_select_const",
        fn(lambda x: torch.index_select(x, -1, torch.tensor([5, 0, 0]))),
        _x,
        expect_ops=_G,
    ),
    OpCase("take", fn(lambda x, i: x.take(i * 7)), _x_idx),
    # gather and scatter
    OpCase(
        "gather",
        fn(lambda x, g: x.gather(1, g)),
        _x_gather,
        expect_ops=frozenset({"GatherElements"}),
    ),
    OpCase("gather_small", fn(lambda x, g: torch.gather(x, 2, g)), _x_gather_small),
    OpCase("gather_argsort", fn(lambda x: x.gather(-1, x.argsort(-1, descending=True))), _x),
    OpCase(
        "scatter_src_perm",
        fn(lambda x: torch.zeros_like(x).scatter(1, x.argsort(1), x * 2)),
        _x,
    ),
    OpCase("scatter_value", fn(lambda x: x.scatter(2, x.argsort(2)[..., :2], 0.5)), _x),
    OpCase(
        "scatter_small_src",
        fn(lambda x: x.scatter(1, x.argsort(1)[:, :2, :3], x[:, 1:, 1:] * -1)),
        _x,
    ),
    OpCase(
        "scatter_reduce_add",
        fn(lambda x, g, s: x.scatter(1, g, s, reduce="add")),
        _x_src,
    ),
    OpCase(
        "scatter_add",
        fn(lambda x, g, s: x.scatter_add(1, g, s)),
        _x_src,
        expect_ops=frozenset({"ScatterElements"}),
    ),
    OpCase("scatter_add_small", fn(lambda x, g: x.scatter_add(2, g, x * 3)), _x_gather_small),
    OpCase(
        "scatter_reduce_sum",
        fn(lambda x, g, s: x.scatter_reduce(1, g, s, "sum", include_self=False)),
        _x_src,
    ),
    OpCase("scatter_reduce_prod", fn(lambda x, g, s: x.scatter_reduce(1, g, s, "prod")), _x_src),
    OpCase(
        "scatter_reduce_amin",
        fn(lambda x, g, s: x.scatter_reduce(1, g, s, "amin", include_self=False)),
        _x_src,
    ),
    OpCase(
        "scatter_reduce_mean",
        fn(lambda x, g, s: x.scatter_reduce(1, g, s, "mean", include_self=False)),
        _x_src,
    ),
    OpCase(
        "scatter_reduce_mean_self",
        fn(lambda x, g, s: x.scatter_reduce(1, g, s, "mean")),
        _x_src,
    ),
    OpCase(
        "scatter_reduce_mean_int",
        fn(lambda x, g: (x * 4).long().scatter_reduce(1, g, (x * -7).long()[:, :3], "mean")),
        _x_gather,
    ),
    OpCase(
        "scatter_reduce_mean_int_noself",
        fn(
            lambda x, g: (
                (x * 4)
                .long()
                .scatter_reduce(1, g, (x * 9).long()[:, :3], "mean", include_self=False)
            )
        ),
        _x_gather,
    ),
    OpCase(
        "scatter_reduce_amax_int",
        fn(lambda x, g: (x * 4).int().scatter_reduce(1, g, (x * 9).int()[:, :3], "amax")),
        _x_gather,
    ),
    OpCase("gather_scatter_scripted", GatherScatterScripted, _x_gather, mode="script"),
    # index_put
    OpCase("put_cols", fn(_put_cols), _x_idx),
    OpCase("put_rows_neg", fn(_put_rows_neg), _x_neg),
    OpCase(
        "put_mask_scalar",
        fn(_put_mask_scalar),
        _x,
        expect_ops=frozenset({"Greater", "Where"}),
    ),
    OpCase("put_mask_row", fn(_put_mask_row), _x_mask),
    OpCase("put_mask_values", fn(_put_mask_values), _x),
    OpCase("put_mask_mid", fn(_put_mask_mid), _x),
    OpCase("put_mask_mid_values", fn(_put_mask_mid_values), _x),
    OpCase("put_extra_dims", fn(_put_extra_dims), _x_idx),
    OpCase("put_mask_accumulate", fn(_put_bool_mask_input), _x_mask),
    OpCase("put_two", fn(_put_two), _x_idx),
    OpCase("put_apart", fn(_put_apart), _x_batch_idx),
    OpCase("put_select", fn(_put_select), _x_dup),
    OpCase("put_slice_mask", fn(_put_slice_mask), _x),
    OpCase("put_accumulate_dups", fn(_put_accumulate), _x_batch_idx),
    OpCase("put_accumulate_cols", fn(_put_accumulate_cols), _x_dup),
    OpCase("put_inplace", fn(_put_inplace), _x_batch_idx),
    OpCase("put_impl", fn(_put_impl), _x_dup),
    OpCase("put_opset17", fn(_put_two), _x_idx, opset=17),
    OpCase("put_accumulate_opset23", fn(_put_accumulate_cols), _x_dup, opset=23),
    OpCase("put_scripted", PutScripted, _x_idx, mode="script"),
    OpCase("put_select_scripted", PutSelectScripted, _x_idx, mode="script"),
    OpCase("put_view_scripted", PutViewScripted, _x_idx, mode="script"),
    OpCase("put_alias_scripted", PutAliasScripted, _x_idx, mode="script"),
    # index_fill, index_add, index_copy
    OpCase("index_fill", fn(lambda x, i: x.index_fill(2, i, -2.0)), _x_idx),
    OpCase("index_add", fn(lambda x, i: x.index_add(1, i, x[:, :3] * 2)), _x_dup),
    OpCase(
        "index_copy",
        fn(lambda x: x.index_copy(1, torch.tensor([4, 0]), x[:, 1:3] + 10)),
        _x,
    ),
    OpCase("index_misc_scripted", MiscScripted, _x_idx, mode="script"),
    # masked_select
    OpCase("masked_select", fn(lambda x: x.masked_select(x > 0.2)), _x),
    OpCase("masked_select_broadcast", fn(lambda x: x.masked_select(x[:, :1] > 0)), _x),
    # roll and flip
    OpCase("roll", fn(lambda x: x.roll(2, 1)), _x, expect_ops=frozenset({"Slice", "Concat"})),
    OpCase("roll_neg", fn(lambda x: torch.roll(x, -4, -1)), _x),
    OpCase("roll_dims", fn(lambda x: x.roll((1, -2), (1, 2))), _x),
    OpCase("roll_flat", fn(lambda x: x.roll(7)), _x),
    OpCase("roll_batch", fn(lambda x: x.roll(3, 0)), _x),
    OpCase("roll_batch_neg", fn(lambda x: x.roll(-5, 0)), _x),
    OpCase("roll_big_shift", fn(lambda x: x.roll(-13, 1)), _x),
    OpCase("roll_flip_scripted", RollFlipScripted, _x, mode="script"),
    OpCase("roll_runtime_scripted", RollRuntimeScripted, _x, mode="script"),
    OpCase("flip", fn(lambda x: x.flip(1)), _x, expect_ops=frozenset({"Slice"})),
    OpCase("flip_dims", fn(lambda x: torch.flip(x, (0, -1))), _x),
    OpCase("fliplr_flipud", fn(lambda x: (x.fliplr(), x.flipud())), _x),
    # triangles
    OpCase("tril", fn(lambda x: x.tril()), _square, expect_ops=frozenset({"Trilu"})),
    OpCase("triu_k", fn(lambda x: x.triu(2)), _wide, expect_ops=frozenset({"Trilu"})),
    OpCase("tril_neg_k", fn(lambda x: torch.tril(x, -1)), _wide),
    OpCase("tril_int", fn(lambda x: x.triu(-1) + x.tril(1)), _ints),
    OpCase("tril_bool", fn(lambda x: (x > 0).tril()), _square),
    OpCase("tril_int8", fn(lambda x: (x * 10).to(torch.int8).tril()), _square),
    OpCase("tri_scripted", TriScripted, _square, mode="script"),
    OpCase("tril_inplace_scripted", InPlaceTril, _square, mode="script"),
    # nonzero
    OpCase("nonzero", fn(lambda x: x.nonzero()), _x_zeros),
    OpCase("nonzero_mask", fn(lambda x: torch.nonzero(x > 0.5)), _x),
    OpCase("nonzero_int", fn(lambda x: x.nonzero()), _ints),
    OpCase("nonzero_double", fn(lambda x: x.double().nonzero()), _x_zeros),
    OpCase("nonzero_tuple", fn(lambda x: torch.nonzero(x, as_tuple=True)), _ints),
    OpCase("argwhere", fn(lambda x: torch.argwhere(x > 1)), _ints),
    OpCase("nonzero_scripted", NonzeroScripted, _x_zeros, mode="script"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)


def _refused(fn: object, inputs: tuple[torch.Tensor, ...], tmp_path: Path, match: str) -> None:
    from converter import convert
    from converter.errors import TranslationError

    module = fn().eval()  # type: ignore[operator]
    archive = save_archive(module, inputs, tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError, match=match):
        convert(archive, tmp_path / "m.onnx", inputs)


class StaleView(nn.Module):
    """a is a view of y taken before y is written in place and read after it."""

    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        a = y[0]
        y[:, i] = x[:, i] * 0.0
        return a + y


class ScatterAmax(nn.Module):
    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return x.scatter_reduce(0, i, x, "amax")


def test_scatter_amax_needs_opset_18(tmp_path: Path) -> None:
    from converter import ConvertOptions, convert
    from converter.errors import TranslationError

    inputs = (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0, 0, 1]))
    archive = save_archive(ScatterAmax().eval(), inputs, tmp_path / "m.pt", mode="script")
    with pytest.raises(TranslationError, match="needs opset 18"):
        convert(archive, tmp_path / "m.onnx", inputs, options=ConvertOptions(opset=17))
    case = OpCase("scatter_amax_18", ScatterAmax, lambda: inputs, mode="script")
    assert_parity(case, tmp_path)


def test_write_through_stale_view_is_refused(tmp_path: Path) -> None:
    _refused(StaleView, _x_idx(), tmp_path, "taken before the in-place write")
