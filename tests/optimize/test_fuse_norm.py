"""LayerNormalization (17) and RMSNormalization (23) from their spelled-out forms."""

from __future__ import annotations

import numpy as np

from converter.optimize.fuse_norm import FuseLayerNormPass, FuseRMSNormPass
from tests.optimize.helpers import apply, ops

RNG = np.random.default_rng(0)
X = {"x": RNG.standard_normal((2, 3, 8)).astype(np.float32)}


def _floats(n: int) -> str:
    return ", ".join(f"{v:.6f}" for v in RNG.uniform(0.5, 1.5, n))


LAYER_NORM = """
    <ir_version: 10, opset_import: ["" : {opset}]>
    g (float[N, 3, 8] x) => (float[N, 3, 8] y)
    <float[8] w = {{{w}}}, float[8] b = {{{b}}}, int64[1] ax = {{-1}}, float two = {{2.0}},
     float eps = {{1e-5}}> {{
      m = ReduceMean <keepdims = 1> (x, ax)
      d = Sub(x, m)
      sq = Pow(d, two)
      v = ReduceMean <keepdims = 1> (sq, ax)
      ve = Add(v, eps)
      s = Sqrt(ve)
      n = Div(d, s)
      sc = Mul(w, n)
      y = Add(b, sc)
    }}
"""


def test_layer_norm_with_weight_first_fuses_at_opset_18() -> None:
    text = LAYER_NORM.format(opset=18, w=_floats(8), b=_floats(8))
    model = apply(text, FuseLayerNormPass(), X, rtol=1e-4, atol=1e-5)
    assert ops(model) == {"LayerNormalization": 1}
    node = model.graph.node(0)
    assert len(node.inputs) == 3
    assert abs(node.attributes.get_float("epsilon") - 1e-5) < 1e-12


def test_layer_norm_over_the_wrong_axis_stays() -> None:
    text = LAYER_NORM.format(opset=18, w=_floats(8), b=_floats(8)).replace(
        "m = ReduceMean <keepdims = 1> (x, ax)",
        "a1 = Constant <value = int64[1] {1}> ()\n      m = ReduceMean <keepdims = 1> (x, a1)",
    )
    model = apply(text, FuseLayerNormPass(), X)
    assert "LayerNormalization" not in ops(model)


RMS_NORM = """
    <ir_version: 10, opset_import: ["" : {opset}]>
    g (float[N, 3, 8] x) => (float[N, 3, 8] y)
    <float[8] w = {{{w}}}, int64[1] ax = {{-1}}, float eps = {{1e-6}}> {{
      sq = Mul(x, x)
      ms = ReduceMean <keepdims = 1> (sq, ax)
      e = Add(ms, eps)
      r = Sqrt(e)
      inv = Reciprocal(r)
      n = Mul(x, inv)
      y = Mul(w, n)
    }}
"""


def test_rms_norm_fuses_at_opset_23_only() -> None:
    w = _floats(8)
    model = apply(RMS_NORM.format(opset=23, w=w), FuseRMSNormPass(), X, rtol=1e-4, atol=1e-5)
    assert ops(model) == {"RMSNormalization": 1}
    older = apply(RMS_NORM.format(opset=22, w=w), FuseRMSNormPass(), X)
    assert "RMSNormalization" not in ops(older)
