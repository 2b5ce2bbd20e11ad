"""No-op elimination and no-op reshapes."""

from __future__ import annotations

import numpy as np

from converter.optimize.eliminate import EliminateNoOpsPass, RemoveNoOpReshapePass
from tests.optimize.helpers import apply, ops

X = {"x": np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)}


def test_mul_by_one_add_zero_identity_and_same_type_cast_go() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 4] y) {
          one = Constant <value = float {1.0}> ()
          zero = Constant <value = float {0.0}> ()
          a = Mul(x, one)
          b = Identity(a)
          c = Cast <to = 1> (b)
          d = Add(zero, c)
          y = Relu(d)
        }
        """,
        EliminateNoOpsPass(),
        X,
    )
    assert ops(model) == {"Relu": 1}
    assert model.graph.node(0).inputs[0] is model.graph.inputs[0]


def test_add_of_a_broadcasting_zero_stays() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[3, N, 4] y) {
          zero = Constant <value = float[3, 1, 1] {0.0, 0.0, 0.0}> ()
          y = Add(x, zero)
        }
        """,
        EliminateNoOpsPass(),
        X,
    )
    assert ops(model)["Add"] == 1


def test_reshape_to_the_same_static_shape_goes_symbolic_stays() -> None:
    text = """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[%s, 4] x) => (float[%s, 4] y) {
          s = Constant <value = int64[2] {2, 4}> ()
          r = Reshape(x, s)
          y = Relu(r)
        }
        """
    static = apply(text % (2, 2), RemoveNoOpReshapePass(), X)
    assert ops(static) == {"Relu": 1}
    symbolic = apply(text % ("N", "N"), RemoveNoOpReshapePass(), X)
    assert ops(symbolic)["Reshape"] == 1


def test_a_tiny_epsilon_is_not_zero() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 4] y) {
          eps = Constant <value = float {1e-12}> ()
          one = Constant <value = float {1.000001}> ()
          a = Add(x, eps)
          b = Mul(a, one)
          y = Sqrt(b)
        }
        """,
        EliminateNoOpsPass(),
        {"x": np.zeros((2, 4), np.float32)},
    )
    assert ops(model) == {"Constant": 2, "Add": 1, "Mul": 1, "Sqrt": 1}


def test_an_identity_between_two_graph_outputs_stays() -> None:
    # The state and scan outputs of a Scan body are written this way: merging them breaks it.
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 4] y, float[N, 4] z) {
          y = Relu(x)
          z = Identity(y)
        }
        """,
        EliminateNoOpsPass(),
        X,
    )
    assert [v.name for v in model.graph.outputs] == ["y", "z"]
    assert ops(model) == {"Relu": 1, "Identity": 1}


def test_an_identity_feeding_a_graph_output_is_removed_keeping_the_name() -> None:
    model = apply(
        """
        <ir_version: 10, opset_import: ["" : 18]>
        g (float[N, 4] x) => (float[N, 4] z) {
          y = Relu(x)
          z = Identity(y)
        }
        """,
        EliminateNoOpsPass(),
        X,
    )
    assert [v.name for v in model.graph.outputs] == ["z"]
    assert ops(model) == {"Relu": 1}
