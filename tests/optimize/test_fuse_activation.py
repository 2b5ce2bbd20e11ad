"""Gelu (20), HardSwish and Clip fusions."""

from __future__ import annotations

import numpy as np

from converter.optimize.fuse_activation import FuseClipPass, FuseHardSwishPass
from converter.optimize.fuse_gelu import FuseGeluPass
from tests.optimize.helpers import apply, ops

X = {"x": np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32) * 4}

GELU_ERF = """
    <ir_version: 10, opset_import: ["" : {opset}]>
    g (float[N, 8] x) => (float[N, 8] y) {{
      r2 = Constant <value = float {{1.4142135}}> ()
      half = Constant <value = float {{0.5}}> ()
      one = Constant <value = float {{1.0}}> ()
      a = Div(x, r2)
      e = Erf(a)
      s = Add(one, e)
      h = Mul(half, x)
      p = Mul(h, s)
      y = Relu(p)
    }}
"""

GELU_TANH = """
    <ir_version: 10, opset_import: ["" : 20]>
    g (float[N, 8] x) => (float[N, 8] y) {
      c = Constant <value = float {0.7978845608}> ()
      k = Constant <value = float {0.044715}> ()
      three = Constant <value = float {3.0}> ()
      half = Constant <value = float {0.5}> ()
      one = Constant <value = float {1.0}> ()
      cube = Pow(x, three)
      kc = Mul(k, cube)
      inner = Add(x, kc)
      arg = Mul(inner, c)
      t = Tanh(arg)
      s = Add(t, one)
      xs = Mul(x, s)
      p = Mul(xs, half)
      y = Relu(p)
    }
"""


def test_erf_gelu_fuses_at_opset_20_and_stays_below() -> None:
    model = apply(GELU_ERF.format(opset=20), FuseGeluPass(), X, rtol=1e-5, atol=1e-5)
    assert ops(model) == {"Gelu": 1, "Relu": 1}
    assert model.graph.node(0).attributes.get_string("approximate") == "none"
    older = apply(GELU_ERF.format(opset=18), FuseGeluPass(), X)
    assert "Gelu" not in ops(older)


def test_tanh_gelu_fuses_with_the_half_last() -> None:
    model = apply(GELU_TANH, FuseGeluPass(), X, rtol=1e-5, atol=1e-5)
    assert ops(model) == {"Gelu": 1, "Relu": 1}
    assert model.graph.node(0).attributes.get_string("approximate") == "tanh"


def test_wrong_constant_is_not_gelu() -> None:
    model = apply(GELU_TANH.replace("0.044715", "0.05"), FuseGeluPass(), X)
    assert "Gelu" not in ops(model)


def test_hardswish_from_its_formula() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 8] x) => (float[N, 8] y) {
          three = Constant <value = float {3.0}> ()
          zero = Constant <value = float {0.0}> ()
          six = Constant <value = float {6.0}> ()
          a = Add(x, three)
          c = Clip(a, zero, six)
          m = Mul(x, c)
          y = Div(m, six)
        }
        """,
        FuseHardSwishPass(),
        X,
    )
    assert ops(model) == {"HardSwish": 1}


def test_relu6_written_with_max_and_min_becomes_one_clip() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 8] x) => (float[N, 8] y) {
          zero = Constant <value = float {0.0}> ()
          six = Constant <value = float {6.0}> ()
          a = Max(x, zero)
          y = Min(a, six)
        }
        """,
        FuseClipPass(),
        X,
    )
    assert ops(model) == {"Clip": 1}
