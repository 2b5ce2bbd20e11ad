"""Parity of convolutions, transposed convolutions, padding ops and embedding."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.harness import OpCase, assert_parity


def _x1() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 10),)


def _x2() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 8, 8),)


def _x3() -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, 3, 5, 6, 6),)


def _tokens() -> tuple[torch.Tensor, ...]:
    return (torch.randint(0, 10, (2, 5)),)


class _Wrap(nn.Module):
    """Calls a submodule with one argument (scripted ConvTranspose takes an optional second)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class _Lookup(nn.Module):
    """Embedding of |indices|.

    Workaround: convert() probes the module with negated integer inputs
    (converter/frontend/probes.py, _negated), and an embedding rejects negative indices.
    """

    def __init__(self, embed: nn.Module) -> None:
        super().__init__()
        self.embed = embed

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embed(tokens.abs())


class _FunctionalEmbedding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.randn(10, 3))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(tokens.abs(), self.table)


class _FunctionalConv(nn.Module):
    """F.conv2d with a weight of its own, stride 2 and asymmetric dilation."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, None, 2, 1, (1, 2))


class _CircularPad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 2, 0, 3), mode="circular")


class _ConstPad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (1, 0, 2, 1), value=-2.5)


class _CropPad(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (-1, 2, 1, -2))


_CONV = frozenset({"Conv"})
_PAD_CONV = frozenset({"Pad", "Conv"})

CASES = [
    OpCase("conv2d", lambda: nn.Conv2d(3, 4, 3, padding=1), _x2, expect_ops=_CONV),
    OpCase("conv2d_no_bias", lambda: nn.Conv2d(3, 4, 3, bias=False), _x2, expect_ops=_CONV),
    OpCase("conv2d_stride", lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0)), _x2),
    OpCase("conv2d_dilation", lambda: nn.Conv2d(3, 4, 3, dilation=2, padding=2), _x2),
    OpCase("conv2d_groups", lambda: nn.Conv2d(3, 6, 3, groups=3), _x2, expect_ops=_CONV),
    OpCase("conv2d_depthwise", lambda: nn.Conv2d(3, 3, 3, groups=3, padding=1), _x2),
    OpCase("conv2d_same", lambda: nn.Conv2d(3, 4, 4, padding="same"), _x2, expect_ops=_CONV),
    OpCase("conv2d_same_dilated", lambda: nn.Conv2d(3, 4, 3, padding="same", dilation=2), _x2),
    OpCase("conv2d_valid", lambda: nn.Conv2d(3, 4, 3, padding="valid"), _x2),
    OpCase("conv2d_functional", _FunctionalConv, _x2, expect_ops=_CONV),
    OpCase("conv2d_reflect", lambda: nn.Conv2d(3, 4, 3, 1, 1, padding_mode="reflect"), _x2,
           expect_ops=_PAD_CONV),
    OpCase("conv2d_replicate", lambda: nn.Conv2d(3, 4, 3, 1, 2, padding_mode="replicate"), _x2,
           expect_ops=_PAD_CONV),
    OpCase("conv2d_circular", lambda: nn.Conv2d(3, 4, 3, 1, 1, padding_mode="circular"), _x2,
           expect_ops=frozenset({"Slice", "Concat", "Conv"})),
    OpCase("conv2d_circular_opset17", lambda: nn.Conv2d(3, 4, 3, 1, 1, padding_mode="circular"),
           _x2, opset=17, expect_ops=frozenset({"Slice", "Concat", "Conv"})),
    OpCase("conv2d_circular_opset19", lambda: nn.Conv2d(3, 4, 3, 1, 1, padding_mode="circular"),
           _x2, opset=19, expect_ops=_PAD_CONV),
    # traced, an unbatched conv records unsqueeze/squeeze around it; scripted it stays conv2d
    OpCase("conv2d_unbatched_scripted", lambda: nn.Conv2d(3, 4, 3),
           lambda: (torch.randn(3, 8, 8),), mode="script", dynamic_batch=False,
           expect_ops=frozenset({"Unsqueeze", "Conv", "Squeeze"})),
    OpCase("conv2d_opset17", lambda: nn.Conv2d(3, 4, 3, padding=1), _x2, opset=17),
    OpCase("conv2d_opset23", lambda: nn.Conv2d(3, 4, 3, padding=1), _x2, opset=23),
    OpCase("conv2d_dynamic_hw", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), _x2,
           dynamic_dims={0: (2, 3)}),
    OpCase("conv1d", lambda: nn.Conv1d(3, 4, 3, padding=1), _x1, expect_ops=_CONV),
    OpCase("conv1d_stride_groups", lambda: nn.Conv1d(3, 6, 4, stride=2, groups=3), _x1),
    OpCase("conv1d_same", lambda: nn.Conv1d(3, 4, 4, padding="same", dilation=3), _x1),
    OpCase("conv1d_reflect", lambda: nn.Conv1d(3, 4, 3, padding=2, padding_mode="reflect"), _x1),
    OpCase("conv3d", lambda: nn.Conv3d(3, 4, 3, padding=1), _x3, expect_ops=_CONV),
    OpCase("conv3d_stride", lambda: nn.Conv3d(3, 2, (1, 3, 3), stride=(1, 2, 2)), _x3),
    OpCase("conv3d_replicate", lambda: nn.Conv3d(3, 2, 3, padding=1, padding_mode="replicate"),
           _x3, expect_ops=_PAD_CONV),
    OpCase("conv_transpose2d", lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1), _x2,
           expect_ops=frozenset({"ConvTranspose"})),
    OpCase("conv_transpose2d_output_padding",
           lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), _x2),
    OpCase("conv_transpose2d_groups_dilation",
           lambda: nn.ConvTranspose2d(3, 6, 3, stride=2, groups=3, dilation=2, bias=False), _x2),
    OpCase("conv_transpose2d_output_padding_dilation",
           lambda: nn.ConvTranspose2d(3, 2, 2, stride=3, output_padding=(2, 1), dilation=2), _x2),
    OpCase("conv_transpose1d", lambda: nn.ConvTranspose1d(3, 4, 4, stride=2, padding=1), _x1),
    OpCase("conv_transpose3d", lambda: nn.ConvTranspose3d(3, 2, 2, stride=2), _x3),
    OpCase("conv_transpose2d_dynamic_hw",
           lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1), _x2,
           dynamic_dims={0: (2, 3)}),
    OpCase("reflection_pad2d", lambda: nn.ReflectionPad2d((1, 2, 3, 0)), _x2,
           expect_ops=frozenset({"Pad"})),
    OpCase("replication_pad1d", lambda: nn.ReplicationPad1d((2, 1)), _x1),
    OpCase("circular_pad_functional", _CircularPad, _x2),
    OpCase("circular_pad_functional_opset20", _CircularPad, _x2, opset=20,
           expect_ops=frozenset({"Pad"})),
    OpCase("zero_pad2d", lambda: nn.ZeroPad2d((1, 1, 2, 0)), _x2, expect_ops=frozenset({"Pad"})),
    OpCase("constant_pad_value", _ConstPad, _x2),
    OpCase("constant_pad_negative", _CropPad, _x2),
    OpCase("constant_pad3d", lambda: nn.ConstantPad3d(1, 0.5), _x3),
    OpCase("embedding", lambda: _Lookup(nn.Embedding(10, 4)), _tokens,
           expect_ops=frozenset({"Abs", "Gather"})),
    OpCase("embedding_padding_idx", lambda: _Lookup(nn.Embedding(10, 4, padding_idx=0)),
           _tokens),
    OpCase("embedding_functional", _FunctionalEmbedding, _tokens),
    OpCase("embedding_3d_indices", lambda: _Lookup(nn.Embedding(10, 4)),
           lambda: (torch.randint(0, 10, (2, 3, 4)),)),
    # scripted: aten::conv1d/2d/3d, the .padding overloads, conv_transpose2d.input, aten::pad
    OpCase("conv2d_scripted", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), _x2,
           mode="script", expect_ops=_CONV),
    OpCase("conv2d_same_scripted", lambda: nn.Conv2d(3, 4, 4, padding="same"), _x2,
           mode="script", expect_ops=_CONV),
    OpCase("conv1d_valid_scripted", lambda: nn.Conv1d(3, 4, 3, padding="valid"), _x1,
           mode="script"),
    OpCase("conv3d_scripted", lambda: nn.Conv3d(3, 2, 3, groups=1, dilation=(1, 2, 1)), _x3,
           mode="script"),
    OpCase("conv2d_functional_scripted", _FunctionalConv, _x2, mode="script"),
    OpCase("conv2d_reflect_scripted", lambda: nn.Conv2d(3, 4, 3, 1, 1, padding_mode="reflect"),
           _x2, mode="script", expect_ops=_PAD_CONV),
    OpCase("conv_transpose2d_scripted",
           lambda: _Wrap(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)),
           _x2, mode="script", expect_ops=frozenset({"ConvTranspose"})),
    OpCase("conv_transpose1d_scripted", lambda: _Wrap(nn.ConvTranspose1d(3, 4, 3, stride=2)),
           _x1, mode="script"),
    OpCase("circular_pad_scripted", _CircularPad, _x2, mode="script"),
    OpCase("embedding_scripted", lambda: _Lookup(nn.Embedding(10, 4)), _tokens, mode="script",
           expect_ops=frozenset({"Abs", "Gather"})),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parity(case: OpCase, tmp_path: Path) -> None:
    assert_parity(case, tmp_path)
