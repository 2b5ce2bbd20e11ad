"""Transpose and Reshape chains."""

from __future__ import annotations

import numpy as np

from converter.optimize.fuse_reshape import FuseReshapeChainsPass
from tests.optimize.helpers import apply, ops

X = {"x": np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)}


def test_inverse_transposes_cancel_and_others_merge() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 4] x) => (float[N, 3, 4] y, float[4, 3, N] z) {
          a = Transpose <perm = [0, 2, 1]> (x)
          y = Transpose <perm = [0, 2, 1]> (a)
          b = Transpose <perm = [1, 0, 2]> (x)
          z = Transpose <perm = [2, 1, 0]> (b)
        }
        """,
        FuseReshapeChainsPass(),
        X,
    )
    assert ops(model) == {"Identity": 1, "Transpose": 1}


def test_reshape_of_a_reshape_is_one_reshape() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[2, 3, 4] x) => (float[4, 6] y) {
          s1 = Constant <value = int64[2] {6, 4}> ()
          s2 = Constant <value = int64[2] {4, 6}> ()
          a = Reshape(x, s1)
          y = Reshape(a, s2)
        }
        """,
        FuseReshapeChainsPass(),
        X,
    )
    assert ops(model) == {"Reshape": 1}
