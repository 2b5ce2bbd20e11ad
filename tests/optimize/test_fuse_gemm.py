"""MatMul + Add into Gemm (2-D only) and bias adds into Gemm."""

from __future__ import annotations

import numpy as np

from converter.optimize.fuse_gemm import FuseGemmBiasPass, FuseMatMulAddPass
from tests.optimize.helpers import apply, ops

RNG = np.random.default_rng(0)


def _floats(n: int) -> str:
    return ", ".join(f"{v:.6f}" for v in RNG.uniform(-1, 1, n))


def test_two_d_matmul_add_becomes_gemm() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 3] y)
        <float[4, 3] w = {{{_floats(12)}}}, float[3] b = {{{_floats(3)}}}> {{
          t = MatMul(x, w)
          y = Add(t, b)
        }}
        """,
        FuseMatMulAddPass(),
        {"x": RNG.standard_normal((2, 4)).astype(np.float32)},
    )
    assert ops(model) == {"Gemm": 1}


def test_three_d_matmul_add_stays() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 5, 4] x) => (float[N, 5, 3] y)
        <float[4, 3] w = {{{_floats(12)}}}, float[3] b = {{{_floats(3)}}}> {{
          t = MatMul(x, w)
          y = Add(t, b)
        }}
        """,
        FuseMatMulAddPass(),
        {"x": RNG.standard_normal((2, 5, 4)).astype(np.float32)},
    )
    assert ops(model) == {"MatMul": 1, "Add": 1}


def test_bias_add_after_gemm_joins_its_c() -> None:
    model = apply(
        f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 3] y)
        <float[3, 4] w = {{{_floats(12)}}}, float[3] c = {{{_floats(3)}}},
         float[1, 3] b = {{{_floats(3)}}}> {{
          t = Gemm <transB = 1, beta = 0.5> (x, w, c)
          y = Add(b, t)
        }}
        """,
        FuseGemmBiasPass(),
        {"x": RNG.standard_normal((2, 4)).astype(np.float32)},
    )
    assert ops(model) == {"Gemm": 1}
