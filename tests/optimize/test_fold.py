"""Constant folding: shapes known statically fold, symbolic dims never do, files never grow."""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from converter.optimize.fold import FoldConstantsPass, LiftConstantsPass
from converter.optimize.reshape_dims import CopyReshapeDimsPass
from tests.optimize.helpers import apply, ops

RNG = np.random.default_rng(0)


def test_static_shape_computation_folds_to_a_constant() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 3, 4] x) => (float[N, 12] y) {
          s = Shape(x)
          i = Constant <value = int64[2] {1, 2}> ()
          d = Gather <axis = 0> (s, i)
          p = ReduceProd <keepdims = 1> (d)
          m = Constant <value = int64[1] {-1}> ()
          t = Concat <axis = 0> (m, p)
          y = Reshape(x, t)
        }
        """,
        FoldConstantsPass(),
        {"x": RNG.standard_normal((2, 3, 4)).astype(np.float32)},
    )
    assert ops(model) == {"Reshape": 1}
    shape = ir.convenience.get_const_tensor(model.graph.node(0).inputs[1])
    assert shape is not None and shape.numpy().tolist() == [-1, 12]


def test_a_symbolic_dim_is_never_baked_in() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (int64[1] y) {
          s = Shape(x)
          i = Constant <value = int64[1] {0}> ()
          y = Gather <axis = 0> (s, i)
        }
        """,
        FoldConstantsPass(),
        {"x": RNG.standard_normal((5, 4)).astype(np.float32)},
    )
    assert ops(model)["Shape"] == ops(model)["Gather"] == 1


def test_a_shared_weight_is_not_copied_by_folding() -> None:
    weights = ", ".join(str(float(v)) for v in RNG.standard_normal(40 * 32))
    text = f"""
        <ir_version: 10, opset_import: ["" : 18]>
        g (int64[N] ids, float[N, 32] h) => (float[N, 32] e, float[N, 40] logits)
        <float[40, 32] w = {{{weights}}}> {{
          e = Gather <axis = 0> (w, ids)
          wt = Transpose <perm = [1, 0]> (w)
          logits = MatMul(h, wt)
        }}
        """
    feeds = {
        "ids": np.array([1, 7, 3], np.int64),
        "h": RNG.standard_normal((3, 32)).astype(np.float32),
    }
    model = apply(text, FoldConstantsPass(), feeds)
    assert ops(model)["Transpose"] == 1
    assert len(model.graph.initializers) == 1


def test_reshape_dims_copied_from_the_input_become_zero() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[B, S, 8] x) => (float[B, S, 2, 4] y) {
          s = Shape(x)
          i0 = Constant <value = int64[1] {0}> ()
          i1 = Constant <value = int64[1] {1}> ()
          b = Gather <axis = 0> (s, i0)
          t = Gather <axis = 0> (s, i1)
          rest = Constant <value = int64[2] {2, 4}> ()
          shape = Concat <axis = 0> (b, t, rest)
          y = Reshape(x, shape)
        }
        """,
        CopyReshapeDimsPass(),
        {"x": RNG.standard_normal((2, 3, 8)).astype(np.float32)},
    )
    FoldConstantsPass()(model)
    LiftConstantsPass()(model)
    ir.passes.common.RemoveUnusedNodesPass()(model)
    assert ops(model) == {"Reshape": 1}
    shape = ir.convenience.get_const_tensor(model.graph.node(0).inputs[1])
    assert shape is not None and shape.numpy().tolist() == [0, 0, 2, 4]
