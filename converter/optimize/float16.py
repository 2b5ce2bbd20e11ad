"""Optional float16 conversion: float32 weights and computation to float16, inputs and outputs
kept float32 (a Cast at each boundary), a few operators kept float32 with Casts around them.

ONNX Runtime's ``onnxruntime.transformers.float16`` does not fit: it appends the Casts of
float32-kept nodes to the main graph even when the node sits in an If/Loop body, leaves the
graph unsorted, and its output for a model with an LSTM is refused by the ONNX checker
(inconsistent types) and crashes ONNX Runtime 1.32's session creation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import onnx_ir as ir
from onnx_ir.passes import common

from converter.options import Tolerance

__all__ = [
    "FLOAT16_KEPT_FLOAT32",
    "PRECISION_KEY",
    "ConvertFloat16Pass",
    "float16_tolerance",
    "is_float16",
]

# Operators computed in float32 (their float16 inputs cast up, float outputs cast down), why:
FLOAT16_KEPT_FLOAT32 = frozenset(
    {
        # Recurrences accumulate rounding over time steps; ONNX Runtime's CPU provider has no
        # float16 kernels for them.
        "LSTM",
        "GRU",
        "RNN",
        # Index arithmetic and running sums: float16 has integers exactly only up to 2048.
        "Range",
        "CumSum",
        # Selections whose result changes with rounding ties.
        "TopK",
        "NonMaxSuppression",
        "RoiAlign",
        # ONNX Runtime's fused convolution (--onnxruntime-contrib-ops) has a float32 CPU kernel.
        "FusedConv",
        # Output type set by a ``dtype`` attribute.
        "EyeLike",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Bernoulli",
        "Multinomial",
    }
)
# Inputs and outputs the standard types as float32 whatever the node computes in.
_FLOAT_INPUTS = {"Resize": frozenset({2}), "Upsample": frozenset({1})}
_FLOAT_OUTPUTS = {"LayerNormalization": frozenset({1, 2})}
_SOURCES = frozenset({"Constant", "Cast"})
_FLOAT16_MAX = float(np.finfo(np.float16).max)
PRECISION_KEY = "jit2onnx.precision"
_TOLERANCES_KEY = "jit2onnx.tolerances"
_F32, _F16 = ir.DataType.FLOAT, ir.DataType.FLOAT16


def float16_tolerance(dtype: np.dtype) -> Tolerance:
    """The parity tolerance of an output of a float16-computed model (Tolerance.for_float16)."""
    return Tolerance.for_float16(dtype)


def is_float16(model: ir.Model) -> bool:
    """True when ``model`` was converted to float16 computation."""
    return model.metadata_props.get(PRECISION_KEY) == "float16"


def _graphs(graph: ir.Graph) -> Iterator[ir.Graph]:
    yield graph
    for node in graph:
        for attr in node.attributes.values():
            if attr.type == ir.AttributeType.GRAPH:
                yield from _graphs(attr.as_graph())
            elif attr.type == ir.AttributeType.GRAPHS:
                for sub in attr.as_graphs():
                    yield from _graphs(sub)


def _to_float16(array: np.ndarray) -> ir.TensorProtocol:
    """float16 values; magnitudes beyond float16's range (mask fills such as -1e9) saturate."""
    clipped = np.clip(array, -_FLOAT16_MAX, _FLOAT16_MAX)
    return ir.tensor(np.where(np.isfinite(array), clipped, array).astype(np.float16))


class _Converter:
    """One conversion: float32 sources (inputs, constants, kept nodes) and Casts made once."""

    def __init__(self, model: ir.Model, kept: frozenset[str]) -> None:
        self.model = model
        self.kept = kept
        self.f32: dict[int, ir.Value] = {}  # id(float16 value) -> its float32 twin
        self.casts: dict[tuple[int, int], ir.Value] = {}  # (value, graph) -> Cast to float32
        self.names = {v.name for v in self._values(list(_graphs(model.graph))) if v.name}
        self.names.update(v.name for v in model.graph.inputs if v.name)

    def fp32_use(self, node: ir.Node, index: int) -> bool:
        return node.op_type in self.kept or index in _FLOAT_INPUTS.get(node.op_type, ())

    def fresh(self, base: str) -> str:
        """``base``, or ``base_<n>`` when the model already has that name."""
        name, n = base, 1
        while name in self.names:
            name, n = f"{base}_{n}", n + 1
        self.names.add(name)
        return name

    def cast(self, value: ir.Value, to: ir.DataType, suffix: str) -> ir.Node:
        """``Cast(value, to)``; its output named after the value, typed, shaped."""
        node = ir.node("Cast", [value], {"to": to})
        out = node.outputs[0]
        out.name = self.fresh(f"{value.name}_{suffix}")
        node.name = f"{out.name}_cast"
        out.dtype, out.shape = to, value.shape
        return node

    def run(self) -> bool:
        graphs = list(_graphs(self.model.graph))
        floats = [
            v
            for v in self._values(graphs)
            if v.dtype == _F32 and not self._stays_float(v) and not self._only_fp32_uses(v)
        ]
        if not floats and not any(v.dtype == _F32 for v in self.model.graph.inputs):
            return False
        for graph in graphs:
            for node in list(graph):
                self._retype_node(node)
        for value in floats:
            self._retype(value)
        self._cast_inputs()
        for graph in graphs:
            for node in list(graph):
                if node.op_type in self.kept or node.op_type in _FLOAT_INPUTS:
                    self._keep_float32(node)
        self._cast_outputs()
        return True

    def _values(self, graphs: list[ir.Graph]) -> Iterator[ir.Value]:
        for graph in graphs:
            if graph is not self.model.graph:
                yield from graph.inputs
            yield from graph.initializers.values()
            for node in graph:
                yield from node.outputs

    def _only_fp32_uses(self, value: ir.Value) -> bool:
        """A constant or a cast read only where float32 is kept stays float32 (no rounding of,
        say, a length cast from an integer on its way to Range)."""
        uses = value.uses()
        source = value.is_initializer() or getattr(value.producer(), "op_type", "") in _SOURCES
        if not source or not uses or value.is_graph_output():
            return False
        return all(self.fp32_use(n, i) for n, i in uses)

    def _stays_float(self, value: ir.Value) -> bool:
        node = value.producer()
        if node is None:
            return False
        return node.op_type in self.kept or value.index() in _FLOAT_OUTPUTS.get(node.op_type, ())

    def _retype_node(self, node: ir.Node) -> None:
        """Attributes that fix a float32 result: Cast's ``to``, constants' values."""
        if node.op_type in self.kept:
            return
        attrs = node.attributes
        if node.op_type == "Cast" and attrs.get_int("to") == _F32:
            if self._only_fp32_uses(node.outputs[0]):
                return
            attrs["to"] = ir.AttrInt64("to", _F16)
        elif node.op_type == "ConstantOfShape":
            value = attrs.get_tensor("value")
            if value is None or value.dtype == _F32:
                array = np.zeros(1, np.float32) if value is None else value.numpy()
                attrs["value"] = ir.AttrTensor("value", _to_float16(array))
        elif node.op_type == "Constant" and not self._only_fp32_uses(node.outputs[0]):
            self._retype_constant(node)

    def _retype_constant(self, node: ir.Node) -> None:
        attrs = node.attributes
        tensor = attrs.get_tensor("value")
        if tensor is not None and tensor.dtype == _F32:
            self.f32[id(node.outputs[0])] = self._initializer(node.outputs[0], tensor.numpy())
            attrs["value"] = ir.AttrTensor("value", _to_float16(tensor.numpy()))
        for key in ("value_float", "value_floats"):
            if key in attrs:
                array = np.array(attrs.pop(key).value, np.float32)
                self.f32[id(node.outputs[0])] = self._initializer(node.outputs[0], array)
                attrs["value"] = ir.AttrTensor("value", _to_float16(array))

    def _initializer(self, value: ir.Value, array: np.ndarray) -> ir.Value:
        """A float32 copy of a constant, made only for a float32 use."""
        if not any(self.fp32_use(n, i) for n, i in value.uses()):
            return value
        twin = ir.Value(name=self.fresh(f"{value.name}_float32"), const_value=ir.tensor(array))
        twin.shape = ir.Shape(array.shape)
        twin.dtype = _F32
        self.model.graph.register_initializer(twin)
        return twin

    def _retype(self, value: ir.Value) -> None:
        tensor = value.const_value
        if value.is_initializer() and tensor is not None:
            self.f32[id(value)] = self._initializer(value, tensor.numpy())
            value.const_value = _to_float16(tensor.numpy())
        value.dtype = _F16

    def _float32_of(self, value: ir.Value, before: ir.Node) -> ir.Value:
        """The float32 twin of a float16 value, casting up once when there is none."""
        if id(value) in self.f32:
            return self.f32[id(value)]
        graph = before.graph
        assert graph is not None
        key = (id(value), id(graph))
        if key not in self.casts:
            cast = self.cast(value, _F32, "float32")
            graph.insert_before(before, cast)
            self.casts[key] = cast.outputs[0]
        return self.casts[key]

    def _keep_float32(self, node: ir.Node) -> None:
        """Float32 inputs where the node reads float32; Casts down after a kept node."""
        for i, value in enumerate(node.inputs):
            if value is not None and value.dtype == _F16 and self.fp32_use(node, i):
                node.replace_input_with(i, self._float32_of(value, node))
        if node.op_type not in self.kept:
            return
        for out in node.outputs:
            if out.dtype == _F32 and out.index() not in _FLOAT_OUTPUTS.get(node.op_type, ()):
                self._cast_down(out, node)

    def _cast_down(self, out: ir.Value, after: ir.Node) -> None:
        """Float16 uses of a float32 result read a Cast of it."""
        uses = [(n, i) for n, i in out.uses() if not self.fp32_use(n, i)]
        sub_outputs = [g for g in _graphs(self.model.graph) if g is not self.model.graph]
        in_sub_output = any(out in g.outputs for g in sub_outputs)
        if not uses and not in_sub_output:
            return
        cast = self.cast(out, _F16, "float16")
        low = cast.outputs[0]
        after.graph.insert_after(after, cast)  # type: ignore[union-attr]
        for n, i in uses:
            n.replace_input_with(i, low)
        for g in sub_outputs:
            g.outputs[:] = [low if v is out else v for v in g.outputs]
        self.f32[id(low)] = out

    def _cast_inputs(self) -> None:
        graph = self.model.graph
        for value in graph.inputs:
            if value.dtype != _F32:
                continue
            uses = [(n, i) for n, i in value.uses() if not self.fp32_use(n, i)]
            cast = self.cast(value, _F16, "float16")
            low = cast.outputs[0]
            graph.insert_before(graph[0], cast) if len(graph) else graph.append(cast)
            for n, i in uses:
                n.replace_input_with(i, low)
            self.f32[id(low)] = value

    def _cast_outputs(self) -> None:
        graph = self.model.graph
        for k, value in enumerate(graph.outputs):
            if value.dtype != _F16:
                continue
            up = self.f32.get(id(value))
            if up is None:
                if (id(value), id(graph)) not in self.casts:
                    cast = self.cast(value, _F32, "float32")
                    graph.append(cast)
                    self.casts[(id(value), id(graph))] = cast.outputs[0]
                up = self.casts[(id(value), id(graph))]
                # The output keeps its name; the float16 value inside takes another.
                name = value.name
                if value.is_initializer():  # an output the optimizer folded to a constant
                    graph.initializers.pop(name or "")
                    value.name = self.fresh(f"{name}_float16")
                    graph.register_initializer(value)
                else:
                    value.name = self.fresh(f"{name}_float16")
                up.name = name
                self.f32[id(value)] = up
            graph.outputs[k] = up


class ConvertFloat16Pass(ir.passes.InPlacePass):
    """float32 to float16: every float32 initializer, constant and intermediate value becomes
    float16 (values beyond +-65504 saturate); each float32 graph input gets ``Cast(to=FLOAT16)``
    and each output ``Cast(to=FLOAT)``, so callers still exchange float32; operators in
    ``kept`` (default FLOAT16_KEPT_FLOAT32) compute in float32 between Casts, as do the inputs
    and outputs the standard fixes to float32 (Resize's scales, LayerNormalization's mean and
    inverse deviation). If/Loop/Scan bodies are converted with their graph.

    Records ``jit2onnx.precision = float16`` in the model metadata, and loosens a recorded
    ``jit2onnx.tolerances`` to float16_tolerance.
    """

    def __init__(self, kept: frozenset[str] = FLOAT16_KEPT_FLOAT32) -> None:
        super().__init__()
        self.kept = kept

    def call(self, model: ir.Model) -> ir.passes.PassResult:
        """Convert in place (types inferred first, nodes sorted after)."""
        if is_float16(model):
            return ir.passes.PassResult(model, modified=False)
        common.ShapeInferencePass()(model)
        modified = _Converter(model, self.kept).run()
        if modified:
            common.TopologicalSortPass()(model)
            _record(model)
        return ir.passes.PassResult(model, modified=modified)


def _record(model: ir.Model) -> None:
    props = model.metadata_props
    props[PRECISION_KEY] = "float16"
    recorded = props.get(_TOLERANCES_KEY)
    if recorded is None:
        return
    dtypes = {v.name: v.dtype for v in model.graph.outputs}
    loose = {}
    for name, tol in json.loads(recorded).items():
        dtype = dtypes.get(name)
        numpy_dtype = dtype.numpy() if dtype is not None else np.dtype(np.float32)
        new = float16_tolerance(numpy_dtype)
        loose[name] = {
            "rtol": max(new.rtol, float(tol["rtol"])),
            "atol": max(new.atol, float(tol["atol"])),
        }
    props[_TOLERANCES_KEY] = json.dumps(loose)
