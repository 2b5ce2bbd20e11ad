"""Convolution fusions: BatchNorm, bias Add, Pad."""

from __future__ import annotations

import numpy as np
import pytest

from converter.optimize.fuse_conv import (
    FuseConvBatchNormPass,
    FuseConvBiasPass,
    FusePadIntoConvPass,
    FusePadIntoPoolPass,
)
from tests.optimize.helpers import apply, ops

RNG = np.random.default_rng(0)
X = {"x": RNG.standard_normal((2, 3, 6, 6)).astype(np.float32)}


def _floats(n: int, low: float = -1.0, high: float = 1.0) -> str:
    return ", ".join(f"{v:.6f}" for v in RNG.uniform(low, high, n))


def test_batchnorm_folds_into_conv() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 6, 6] x) => (float[N, 4, 6, 6] y)
        <float[4, 3, 3, 3] w = {{{_floats(108)}}}, float[4] s = {{{_floats(4, 0.5, 1.5)}}},
         float[4] b = {{{_floats(4)}}}, float[4] m = {{{_floats(4)}}},
         float[4] v = {{{_floats(4, 0.5, 1.5)}}}> {{
          c = Conv <pads = [1, 1, 1, 1]> (x, w)
          y = BatchNormalization <epsilon = 0.001> (c, s, b, m, v)
        }}
        """,
        FuseConvBatchNormPass(),
        X,
        rtol=1e-4,
        atol=1e-5,
    )
    assert ops(model) == {"Conv": 1}
    assert len(model.graph.node(0).inputs) == 3


def test_batchnorm_folds_into_conv_transpose() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 6, 6] x) => (float[N, 2, 12, 12] y)
        <float[3, 2, 2, 2] w = {{{_floats(24)}}}, float[2] s = {{{_floats(2, 0.5, 1.5)}}},
         float[2] b = {{{_floats(2)}}}, float[2] m = {{{_floats(2)}}},
         float[2] v = {{{_floats(2, 0.5, 1.5)}}}> {{
          c = ConvTranspose <strides = [2, 2]> (x, w)
          y = BatchNormalization(c, s, b, m, v)
        }}
        """,
        FuseConvBatchNormPass(),
        X,
        rtol=1e-4,
        atol=1e-5,
    )
    assert ops(model) == {"ConvTranspose": 1}


def test_per_channel_add_becomes_the_conv_bias_in_either_order() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 6, 6] x) => (float[N, 4, 4, 4] y)
        <float[4, 3, 3, 3] w = {{{_floats(108)}}}, float[4] b = {{{_floats(4)}}},
         float[1, 4, 1, 1] c = {{{_floats(4)}}}> {{
          t = Conv(x, w, b)
          y = Add(c, t)
        }}
        """,
        FuseConvBiasPass(),
        X,
    )
    assert ops(model) == {"Conv": 1}


def test_an_add_that_is_not_per_channel_stays() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 6, 6] x) => (float[N, 4, 4, 4] y)
        <float[4, 3, 3, 3] w = {{{_floats(108)}}}, float[1, 1, 4, 1] c = {{{_floats(4)}}}> {{
          t = Conv(x, w)
          y = Add(t, c)
        }}
        """,
        FuseConvBiasPass(),
        X,
    )
    assert ops(model) == {"Conv": 1, "Add": 1}


def test_zero_pad_moves_into_the_conv() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 6, 6] x) => (float[N, 4, 6, 6] y)
        <float[4, 3, 3, 3] w = {{{_floats(108)}}},
         int64[8] p = {{0, 0, 1, 1, 0, 0, 1, 1}}> {{
          t = Pad(x, p)
          y = Conv(t, w)
        }}
        """,
        FusePadIntoConvPass(),
        X,
    )
    assert ops(model) == {"Conv": 1}
    assert model.graph.node(0).attributes.get_ints("pads") == (1, 1, 1, 1)


POOL = """
    <ir_version: 10, opset_import: ["" : 18]>
    g (float[N, 3, 6, 6] x) => (float[N, 3, {size}, {size}] y) {{
      p = Constant <value = int64[8] {{0, 0, 1, 1, 0, 0, 1, 1}}> ()
      v = Constant <value = float {{{value}}}> ()
      t = Pad(x, p, v)
      y = {pool} <kernel_shape = [3, 3]{extra}> (t)
    }}
"""


@pytest.mark.parametrize(
    ("pool", "value", "extra", "fused"),
    [
        ("MaxPool", "-inf", "", True),
        ("MaxPool", "0.0", "", False),  # zero padding can beat negative inputs
        ("AveragePool", "0.0", ", count_include_pad = 1", True),
        ("AveragePool", "0.0", "", False),  # the pool would not count the padded zeros
    ],
)
def test_pad_into_pool_only_with_the_pools_own_padding(
    pool: str, value: str, extra: str, fused: bool
) -> None:
    text = POOL.format(size=6, value=value, pool=pool, extra=extra)
    model = apply(text, FusePadIntoPoolPass(), X)
    assert ("Pad" not in ops(model)) == fused
    if fused:
        assert model.graph.node(-1).attributes.get_ints("pads") == (1, 1, 1, 1)
