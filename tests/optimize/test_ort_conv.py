"""ONNX Runtime's FusedConv (opt-in): Conv + activation into one com.microsoft node."""

from __future__ import annotations

import numpy as np
import pytest

from converter.optimize.ort_conv import FuseConvActivationPass
from tests.optimize.helpers import apply, ops

rng = np.random.default_rng(0)
X = {"x": rng.standard_normal((1, 2, 5, 5)).astype(np.float32) * 3}

TEXT = """
    <ir_version: 10, opset_import: ["" : 18]>
    g (float[N, 2, 5, 5] x) => (float[N, 3, 5, 5] y) {{
      w = Constant <value = float[3, 2, 3, 3] {{{w}}}> ()
      b = Constant <value = float[3] {{0.5, -0.5, 0.25}}> ()
      lo = Constant <value = float {{-1.0}}> ()
      hi = Constant <value = float {{2.0}}> ()
      c = Conv <pads: ints = [1, 1, 1, 1]> (x, w, b)
      y = {act}
    }}
"""
W = ", ".join(f"{v:.4f}" for v in rng.standard_normal(54))


@pytest.mark.parametrize(
    ("act", "params"),
    [
        ("Relu (c)", []),
        ("Sigmoid (c)", []),
        ("LeakyRelu <alpha: float = 0.2> (c)", [0.2]),
        ("HardSigmoid <alpha: float = 0.3, beta: float = 0.4> (c)", [0.3, 0.4]),
        ("Clip (c, lo, hi)", [-1.0, 2.0]),
    ],
)
def test_conv_and_activation_become_one_fused_conv(act: str, params: list[float]) -> None:
    model = apply(TEXT.format(w=W, act=act), FuseConvActivationPass(), X, rtol=1e-5, atol=1e-5)
    assert ops(model) == {"Constant": 2, "FusedConv": 1}
    fused = next(n for n in model.graph if n.op_type == "FusedConv")
    assert fused.domain == "com.microsoft" and model.opset_imports["com.microsoft"] == 1
    assert fused.attributes.get_string("activation") == act.split()[0]
    assert list(fused.attributes.get_floats("activation_params", [])) == pytest.approx(params)
    assert fused.attributes.get_ints("pads") == (1, 1, 1, 1)
    assert model.graph.outputs[0].name == "y"


def test_a_conv_output_used_twice_or_a_non_activation_stays() -> None:
    relu = TEXT.format(w=W, act="Relu (c)")
    twice = relu.replace("y = Relu (c)", "r = Relu (c)\n y = Add (r, c)")
    model = apply(twice, FuseConvActivationPass(), X)
    assert ops(model)["Conv"] == 1 and "FusedConv" not in ops(model)
    model = apply(TEXT.format(w=W, act="Abs (c)"), FuseConvActivationPass(), X)
    assert "FusedConv" not in ops(model)
