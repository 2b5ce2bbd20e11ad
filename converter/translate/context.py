"""TranslationContext: maps TorchScript values to ONNX values and emits ONNX nodes."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import onnx_ir as ir
import torch

from converter.frontend.ts_ir import TSNode
from converter.translate import dtypes
from converter.translate.inference import FOLD_LIMIT, infer_node
from converter.translate.values import Entry, RuntimeList, Unsupported, is_tensor_list

# Entry, RuntimeList, Unsupported and is_tensor_list are defined in values.py; the handlers
# import them from here, next to the context they are used with.
__all__ = ["Entry", "RuntimeList", "TranslationContext", "Unsupported", "is_tensor_list"]


class TranslationContext:
    """State of one translation: value map, emitted nodes, initializers and the opset."""

    def __init__(self, opset: int, symbolic_sizes: dict[str, int] | None = None) -> None:
        self.opset = opset
        self.symbolic_sizes = dict(symbolic_sizes or {})
        self.nodes: list[ir.Node] = []
        self.initializers: dict[str, ir.Value] = {}
        self.node: TSNode | None = None
        self._entries: dict[int, Entry] = {}
        self._same: dict[int, torch._C.Value] = {}
        self._const_cache: dict[tuple[object, ...], ir.Value] = {}
        self._ids = itertools.count()
        # Set by the translator: translates one node with the registry (used for sub-blocks).
        self.translate_node: Callable[[TSNode], None] = _no_translator
        # Keys of nodes the translator leaves out (argument checks that only decide a raise).
        self.skip: set[tuple[int, ...]] = set()

    # ---- value map -------------------------------------------------------------------------
    def bind(self, ts_value: torch._C.Value, entry: Entry) -> None:
        """Record what a TorchScript value translated to."""
        self._entries[ts_value.unique()] = entry

    def same_object(self, ts_value: torch._C.Value, of: torch._C.Value) -> None:
        """Record that ``ts_value`` is the very object ``of`` is (for ``is`` checks)."""
        self._same[ts_value.unique()] = self.origin(of)

    def origin(self, ts_value: torch._C.Value) -> torch._C.Value:
        """The value ``ts_value`` was recorded to be the same object as (or itself)."""
        return self._same.get(ts_value.unique(), ts_value)

    def entry(self, ts_value: torch._C.Value) -> Entry:
        """What a TorchScript value translated to (constants are read on first use)."""
        key = ts_value.unique()
        if key not in self._entries:
            node = ts_value.node()
            if node.kind() != "prim::Constant":
                raise KeyError(f"value %{ts_value.debugName()} used before it was defined")
            self._entries[key] = self._constant_entry(ts_value)
        return self._entries[key]

    def _constant_entry(self, ts_value: torch._C.Value) -> Entry:
        value = ts_value.toIValue()
        if isinstance(value, torch.Tensor):
            return self.initializer(ts_value.debugName(), value)
        return value

    @contextlib.contextmanager
    def at(self, node: TSNode) -> Iterator[None]:
        """Attribute emitted ONNX nodes to this TorchScript node."""
        previous, self.node = self.node, node
        try:
            yield
        finally:
            self.node = previous

    # ---- sub-blocks --------------------------------------------------------------------------
    def inline_block(self, block: torch._C.Block) -> tuple[Entry, ...]:
        """Translate a block's nodes into the current graph; return its outputs' entries."""
        for raw in block.nodes():
            self.translate_node(TSNode(raw))
        return tuple(self.entry(v) for v in block.outputs())

    def block_graph(
        self,
        block: torch._C.Block,
        name: str,
        inputs: Sequence[ir.Value] = (),
        block_inputs: Sequence[Entry] = (),
        written: Sequence[torch._C.Value] = (),
        written_inputs: Sequence[Entry] = (),
    ) -> ir.Graph:
        """An ONNX subgraph for a block; ``block_inputs`` stand for the block's own inputs.

        ``written`` are tensors (and lists) defined outside the block that it writes in place:
        the subgraph gives their final values as extra outputs (starting from ``written_inputs``
        when given, as in a loop body), and their bindings outside the block are kept. A
        ``List[Tensor]`` output is given as an ONNX sequence.
        """
        outer = [self.entry(v) for v in written]
        saved = self.nodes, self._const_cache
        self.nodes, self._const_cache = [], {}
        try:
            for ts_value, value in zip(block.inputs(), block_inputs, strict=True):
                self.bind(ts_value, value)
            for ts_value, value in zip(written, written_inputs, strict=False):
                self.bind(ts_value, value)
            entries = self.inline_block(block) + tuple(self.entry(v) for v in written)
            ts_outputs = [*block.outputs(), *written]
            outputs = [
                self.op("Identity", self.as_sequence(e) if is_tensor_list(v) else self.as_tensor(e))
                for v, e in zip(ts_outputs, entries, strict=True)
            ]
            return ir.Graph(inputs, outputs, nodes=self.nodes, name=name)
        finally:
            self.nodes, self._const_cache = saved
            for ts_value, entry in zip(written, outer, strict=True):
                self.bind(ts_value, entry)

    # ---- constants -------------------------------------------------------------------------
    def is_const(self, ts_value: torch._C.Value) -> bool:
        """True if the value is known at translation time."""
        try:
            self.const(ts_value)
        except Unsupported:
            return False
        return True

    def const(self, ts_value: torch._C.Value) -> object:
        """The Python value of a constant argument; Unsupported if it is computed at run time."""
        return self._entry_const(self.entry(ts_value), ts_value.debugName())

    def _entry_const(self, entry: Entry, name: str) -> object:
        if isinstance(entry, ir.Value):
            if entry.const_value is None:
                raise Unsupported(f"argument %{name} must be a constant, but is computed")
            array = entry.const_value.numpy()
            return array.item() if array.ndim == 0 else array.tolist()
        if isinstance(entry, list | tuple):
            return type(entry)(self._entry_const(e, name) for e in entry)
        if isinstance(entry, torch.Tensor):
            return entry.item() if entry.dim() == 0 else entry.tolist()
        return entry

    def const_int(self, ts_value: torch._C.Value) -> int:
        """A constant integer argument."""
        value = self.const(ts_value)
        if not isinstance(value, int | float | bool):
            raise Unsupported(f"argument %{ts_value.debugName()} must be an integer constant")
        return int(value)

    def const_ints(self, ts_value: torch._C.Value) -> list[int]:
        """A constant int-list argument (a single int becomes a one-element list)."""
        value = self.const(ts_value)
        return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]  # type: ignore[call-overload]

    def is_none(self, ts_value: torch._C.Value) -> bool:
        """True if the argument is None."""
        return self.entry(ts_value) is None

    def constant(self, value: object, dtype: ir.DataType | None = None) -> ir.Value:
        """An ONNX constant for a Python number, list or numpy array (cached per graph)."""
        array = np.asarray(value)
        if dtype is None:
            dtype = _default_dtype(array)
        array = array.astype(dtypes.to_numpy(dtype))
        key = (dtype, array.shape, array.tobytes())
        if key not in self._const_cache:
            tensor = ir.tensor(array, dtype=dtype)
            out = self.op("Constant", value=tensor)
            out.const_value = tensor
            self._const_cache[key] = out
        return self._const_cache[key]

    def initializer(self, name: str, value: torch.Tensor) -> ir.Value:
        """A graph initializer holding a weight tensor."""
        name = self._unique_name(name.replace(".", "_") or "weight")
        array = value.detach().cpu().contiguous()
        dtype = dtypes.from_torch(array.dtype)
        np_array = (
            array.view(torch.int16).numpy().view(dtypes.to_numpy(dtype))
            if array.dtype == torch.bfloat16
            else array.numpy()
        )
        tensor = ir.tensor(np_array, dtype=dtype, name=name)
        out = ir.Value(name=name, shape=ir.Shape(np_array.shape), type=ir.TensorType(dtype))
        out.const_value = tensor
        self.initializers[name] = out
        return out

    # ---- tensors ---------------------------------------------------------------------------
    def tensor(self, ts_value: torch._C.Value, dtype: ir.DataType | None = None) -> ir.Value:
        """The value as an ONNX tensor, cast to ``dtype`` if given."""
        value = self.as_tensor(self.entry(ts_value), ts_value.debugName())
        return value if dtype is None else self.cast(value, dtype)

    def as_tensor(self, entry: Entry, name: str = "value") -> ir.Value:
        """Materialize an entry (Python number, list, tensor) as an ONNX tensor."""
        if isinstance(entry, ir.Value):
            return entry
        if isinstance(entry, torch.Tensor):
            return self.initializer(name, entry)
        if isinstance(entry, list | tuple):
            if all(not isinstance(e, ir.Value) for e in entry):
                return self.constant(list(entry))
            parts = [self.op("Reshape", self.as_tensor(e), self.constant([1])) for e in entry]
            return self.op("Concat", *[self.cast(p, ir.DataType.INT64) for p in parts], axis=0)
        if isinstance(entry, bool | int | float):
            return self.constant(entry)
        raise Unsupported(f"%{name} ({type(entry).__name__}) cannot be used as a tensor")

    def as_sequence(self, entry: Entry, dtype: ir.DataType | None = None) -> ir.Value:
        """Materialize a list of tensors as an ONNX sequence (``dtype`` types an empty one)."""
        if isinstance(entry, RuntimeList):
            return entry.value
        if not isinstance(entry, list | tuple):
            raise Unsupported(f"a {type(entry).__name__} where a list of tensors is expected")
        items = [self.as_tensor(e) for e in entry]
        if not items:
            if dtype is None:
                raise Unsupported("an empty list whose element type is not known")
            out = self.op("SequenceEmpty", dtype=dtype)
        else:
            if len({self.dtype(t) for t in items}) != 1:
                raise Unsupported(
                    "a list of tensors of different dtypes (an ONNX sequence has one)"
                )
            out = self.op("SequenceConstruct", *items)
        ranks = {None if t.shape is None else len(t.shape) for t in items}
        rank = ranks.pop() if len(ranks) == 1 else None
        out.shape = None if rank is None else ir.Shape([None] * rank)
        return out

    def size_list(self, ts_value: torch._C.Value) -> list[int] | ir.Value:
        """An int-list argument (a shape): a Python list if constant, else a 1-D INT64 tensor."""
        if self.is_const(ts_value):
            return self.const_ints(ts_value)
        return self.cast(self.tensor(ts_value), ir.DataType.INT64)

    def cast(self, value: ir.Value, dtype: ir.DataType) -> ir.Value:
        """Cast unless the value already has that type (constants are cast at build time)."""
        if value.dtype == dtype:
            return value
        if value.const_value is not None and value.const_value.size <= FOLD_LIMIT:
            return self.constant(value.const_value.numpy(), dtype)
        return self.op("Cast", value, to=dtype)

    def dtype(self, value: ir.Value) -> ir.DataType:
        """The element type of an ONNX value (known for everything the handlers build)."""
        if value.dtype is None:
            raise Unsupported(f"element type of {value.name} is unknown")
        return value.dtype

    def rank(self, value: ir.Value) -> int:
        """The rank of an ONNX value; Unsupported if shape inference could not tell."""
        if value.shape is None:
            raise Unsupported(f"rank of {value.name} is unknown")
        return len(value.shape)

    def static_dim(self, value: ir.Value, dim: int) -> int | None:
        """The size of ``dim`` if it is a known integer."""
        if value.shape is None:
            return None
        size = value.shape[dim]
        return size if isinstance(size, int) else None

    def kind_of(self, ts_value: torch._C.Value) -> str:
        """Promotion category of an operand: "tensor", "zerodim" or "scalar"."""
        if not isinstance(ts_value.type(), torch._C.TensorType) or _wrapped_number(ts_value):
            return "scalar"
        entry = self.entry(ts_value)
        if isinstance(entry, ir.Value) and entry.shape is not None and len(entry.shape) == 0:
            return "zerodim"
        return "tensor"

    def promote(self, *ts_values: torch._C.Value) -> ir.DataType:
        """PyTorch's result dtype for these operands."""
        operands = []
        for v in ts_values:
            kind = self.kind_of(v)
            entry = self.entry(v)
            if isinstance(entry, ir.Value):
                operands.append((self.dtype(entry), kind))
            else:
                operands.append((_default_dtype(np.asarray(entry)), kind))
        return dtypes.result_type(operands)

    def operands(
        self, *ts_values: torch._C.Value, dtype: ir.DataType | None = None
    ) -> tuple[list[ir.Value], ir.DataType]:
        """Materialize operands cast to their promoted (or the given) dtype."""
        target = dtype or self.promote(*ts_values)
        return [self.tensor(v, target) for v in ts_values], target

    # ---- emission --------------------------------------------------------------------------
    def op(self, op_type: str, *inputs: ir.Value | None, **attrs: object) -> ir.Value:
        """Emit one single-output ONNX node and return its output."""
        return self.op_multi(op_type, *inputs, num_outputs=1, attributes=attrs)[0]

    def op_multi(
        self,
        op_type: str,
        *inputs: ir.Value | None,
        num_outputs: int,
        attributes: Mapping[str, object] | None = None,
        **attrs: object,
    ) -> tuple[ir.Value, ...]:
        """Emit one ONNX node with several outputs.

        ``attributes`` holds attributes whose names clash with this method's parameters,
        such as Split's own ``num_outputs``.
        """
        merged = {**attrs, **(attributes or {})}
        converted = ir.convenience.convert_attributes(
            {k: v for k, v in merged.items() if v is not None}  # type: ignore[misc]
        )
        meta = self._provenance()
        ident = next(self._ids)
        while inputs and inputs[-1] is None:  # trailing optional inputs are left out
            inputs = inputs[:-1]
        node = ir.Node(
            "",
            op_type,
            inputs,
            converted,
            num_outputs=num_outputs,
            name=f"{op_type}_{ident}",
            metadata_props=meta,
        )
        for i, out in enumerate(node.outputs):
            out.name = f"{op_type.lower()}_{ident}" + (f"_{i}" if num_outputs > 1 else "")
        self.nodes.append(node)
        infer_node(node, self.opset)
        return tuple(node.outputs)

    def _provenance(self) -> dict[str, str]:
        if self.node is None:
            return {}
        meta = {"jit2onnx.node": self.node.qualified_kind}
        if self.node.location is not None:
            meta["jit2onnx.source"] = str(self.node.location)
        if self.node.scope:
            meta["jit2onnx.scope"] = self.node.scope
        return meta

    def fresh_name(self, base: str) -> str:
        """A value name no other value of this translation has (subgraph inputs must not
        shadow the names of enclosing graphs)."""
        return f"{base}_{next(self._ids)}"

    def _unique_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.initializers:
            name, n = f"{base}_{n}", n + 1
        return name


def _wrapped_number(ts_value: torch._C.Value) -> bool:
    """A Python number the tracer recorded as a 0-dim double/long/bool tensor constant.

    TorchScript keeps such constants as "wrapped numbers" for type promotion: an int tensor
    times the constant 0.5 is float32, not float64.
    """
    if ts_value.node().kind() != "prim::Constant":
        return False
    value = ts_value.toIValue()
    return (
        isinstance(value, torch.Tensor)
        and value.dim() == 0
        and value.dtype in (torch.float64, torch.int64, torch.bool)
    )


def _no_translator(node: TSNode) -> None:
    raise Unsupported(f"{node.kind} inside a block needs the translator, which is not attached")


def _default_dtype(array: np.ndarray) -> ir.DataType:
    if array.dtype == np.bool_:
        return ir.DataType.BOOL
    if np.issubdtype(array.dtype, np.integer):
        return ir.DataType.INT64
    if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float64:
        return dtypes.from_numpy(array.dtype)
    return ir.DataType.FLOAT
