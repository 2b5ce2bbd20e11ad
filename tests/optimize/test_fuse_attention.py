"""Scaled dot-product attention into Attention (opset 23)."""

from __future__ import annotations

import numpy as np

from converter.optimize.fuse_attention import FuseAttentionPass
from tests.optimize.helpers import apply, ops

RNG = np.random.default_rng(0)

PLAIN = """
    <ir_version: 10, opset_import: ["" : {opset}]>
    g (float[B, 2, 5, 4] q, float[B, 2, 5, 4] k, float[B, 2, 5, 4] v) => (float[B, 2, 5, 4] y) {{
      c = Constant <value = float {{2.0}}> ()
      kt = Transpose <perm = [0, 1, 3, 2]> (k)
      s = MatMul(q, kt)
      d = Div(s, c)
      p = Softmax <axis = -1> (d)
      y = MatMul(p, v)
    }}
"""


def _qkv() -> dict[str, np.ndarray]:
    return {n: RNG.standard_normal((2, 2, 5, 4)).astype(np.float32) for n in "qkv"}


def test_plain_attention_fuses_at_opset_23_and_stays_below() -> None:
    feeds = _qkv()
    model = apply(PLAIN.format(opset=23), FuseAttentionPass(), feeds, rtol=1e-5, atol=1e-5)
    assert ops(model) == {"Attention": 1}
    assert model.graph.node(0).attributes.get_float("scale") == 0.5
    older = apply(PLAIN.format(opset=22), FuseAttentionPass(), feeds)
    assert "Attention" not in ops(older)


def test_causal_where_mask_and_head_moving_transpose() -> None:
    feeds = {
        "q": RNG.standard_normal((2, 2, 5, 4)).astype(np.float32),
        "kraw": RNG.standard_normal((2, 5, 2, 4)).astype(np.float32),
        "v": RNG.standard_normal((2, 2, 5, 4)).astype(np.float32),
        "m": np.triu(np.ones((5, 5), bool), 1),
    }
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 23]>
        g (float[B, 2, 5, 4] q, float[B, 5, 2, 4] kraw, float[B, 2, 5, 4] v, bool[5, 5] m)
          => (float[B, 2, 5, 4] y) {
          c = Constant <value = float {0.5}> ()
          inf = Constant <value = float {-inf}> ()
          kt = Transpose <perm = [0, 2, 3, 1]> (kraw)
          s = MatMul(q, kt)
          d = Mul(s, c)
          w = Where(m, inf, d)
          p = Softmax <axis = -1> (w)
          y = MatMul(p, v)
        }
        """,
        FuseAttentionPass(),
        feeds,
        rtol=1e-5,
        atol=1e-5,
    )
    assert ops(model) == {"Attention": 1, "Not": 1, "Transpose": 1}
    transpose = next(n for n in model.graph if n.op_type == "Transpose")
    assert transpose.attributes.get_ints("perm") == (0, 2, 1, 3)


def test_softmax_over_another_axis_is_not_attention() -> None:
    text = PLAIN.format(opset=23).replace("<axis = -1>", "<axis = 2>")
    model = apply(text, FuseAttentionPass(), _qkv())
    assert "Attention" not in ops(model)
