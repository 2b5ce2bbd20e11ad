"""Example inputs and symbolic dims: what the API works out before translating."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from converter.errors import InputError, error_line
from converter.frontend.layout import LayoutError, layout_for_examples
from converter.frontend.load import TorchScriptModel
from converter.frontend.probes import DimGroup
from converter.inputs import load_inputs, random_inputs
from converter.options import ConvertOptions, InputSpec
from converter.translate import dtypes
from converter.translate.graph_input import GraphInput

__all__ = [
    "ArrayLike",
    "Examples",
    "check_reference",
    "dim_groups",
    "bind_examples",
    "graph_inputs",
]

ArrayLike = np.ndarray | torch.Tensor

# Tensor dtypes with a numpy twin that ONNX Runtime's Python API accepts as a feed.
_NUMPY_DTYPES = frozenset(
    {
        torch.float16,
        torch.float32,
        torch.float64,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint8,
        torch.bool,
    }
)
# Example inputs: arrays or tensors in forward order, or a .npz/.npy file.
Examples = Sequence[ArrayLike] | str | os.PathLike[str]


def bind_examples(
    ts: TorchScriptModel, example_inputs: Examples | None, input_specs: Sequence[InputSpec] | None
) -> tuple[TorchScriptModel, list[np.ndarray]]:
    """The model laid out for the examples, and the examples as flat numpy arrays."""
    if isinstance(example_inputs, str | os.PathLike):
        arrays = load_inputs(example_inputs, ts.input_names)
    elif example_inputs is not None:
        try:
            layout = layout_for_examples(ts.schema_args(), ts.arg_names, list(example_inputs))
        except LayoutError as e:
            raise InputError(f"{ts.path}: {e}") from e
        ts = ts.with_layout(layout)
        arrays = [_array(ts, i, x) for i, x in enumerate(layout.flatten(list(example_inputs)))]
    elif input_specs is not None:
        arrays = random_inputs(input_specs)
    else:
        raise InputError(
            f"{ts.path}: example inputs are needed to fix input shapes and dtypes: "
            "pass --inputs FILE.npz or --shape"
        )
    if len(arrays) != len(ts.input_names):
        raise InputError(
            f"{ts.path}: the model takes {len(ts.input_names)} input(s) "
            f"({', '.join(ts.input_names)}) but {len(arrays)} were given"
        )
    return ts, arrays


def _array(ts: TorchScriptModel, index: int, value: object) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.dtype not in _NUMPY_DTYPES:
            name = ts.input_names[index] if index < len(ts.input_names) else f"input_{index}"
            raise InputError(
                f"{ts.path}: input {name!r} is {str(value.dtype).removeprefix('torch.')}, which "
                "ONNX Runtime's Python API cannot feed; cast the model's inputs to float32 "
                "(cast back inside forward to keep its arithmetic)"
            )
        return value.detach().cpu().numpy()
    if isinstance(value, bool):
        return np.asarray(value, dtype=np.bool_)
    if isinstance(value, int):
        return np.asarray(value, dtype=np.int64)
    if isinstance(value, float):
        return np.asarray(value, dtype=np.float64)
    return np.asarray(value)


def check_reference(ts: TorchScriptModel, arrays: Sequence[np.ndarray]) -> None:
    """Run the module once on the examples; InputError if it rejects them."""
    try:
        ts.run_arrays(arrays)
    except Exception as e:
        first = error_line(e)
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in arrays)
        raise InputError(
            f"{ts.path}: the module rejects the example inputs ({shapes}): {first}"
        ) from e


def dim_groups(
    ts: TorchScriptModel, arrays: Sequence[np.ndarray], opts: ConvertOptions
) -> list[DimGroup]:
    """The symbolic dims asked for: dim 0 of rank>=2 inputs by default, plus --dynamic ones."""
    explicit = _explicit_dims(ts, arrays, opts)
    default = {i for i, a in enumerate(arrays) if opts.dynamic_batch and a.ndim >= 2}
    batch = sorted(default | {i for i, dims in explicit.items() if 0 in dims})
    groups: list[DimGroup] = []
    if batch and len({arrays[i].shape[0] for i in batch}) == 1:
        is_explicit = any(0 in explicit.get(i, ()) for i in batch)
        members = tuple((i, 0) for i in batch)
        groups.append(DimGroup("batch", int(arrays[batch[0]].shape[0]), members, is_explicit))
        taken = set(members)
    else:
        taken = set()
    for i, array in enumerate(arrays):
        for d in sorted(explicit.get(i, set()) | ({0} if i in batch else set())):
            if (i, d) not in taken:
                name = f"{ts.input_names[i]}_dim{d}"
                groups.append(
                    DimGroup(name, int(array.shape[d]), ((i, d),), d in explicit.get(i, ()))
                )
    return groups


def graph_inputs(
    ts: TorchScriptModel, arrays: Sequence[np.ndarray], groups: Sequence[DimGroup]
) -> list[GraphInput]:
    """ONNX graph inputs with the given groups' dims symbolic."""
    result = []
    for i, (name, array) in enumerate(zip(ts.input_names, arrays, strict=True)):
        dims: list[int | str] = [int(d) for d in array.shape]
        for group in groups:
            for j, d in group.members:
                if j == i:
                    dims[d] = group.name
        try:
            dtype = dtypes.from_numpy(array.dtype)
        except Exception as e:
            raise InputError(
                f"{ts.path}: input {name!r} has dtype {array.dtype}, which ONNX cannot take"
            ) from e
        result.append(GraphInput(name, dtype, tuple(dims)))
    return result


def _explicit_dims(
    ts: TorchScriptModel, arrays: Sequence[np.ndarray], opts: ConvertOptions
) -> dict[int, set[int]]:
    wanted: dict[int, set[int]] = {}
    for key, dims in opts.dynamic_dims.items():
        index = key if isinstance(key, int) else _input_index(ts, key)
        if not 0 <= index < len(arrays):
            raise InputError(
                f"{ts.path}: --dynamic names input {key}, but the model has {len(arrays)}"
            )
        rank = arrays[index].ndim
        for d in dims:
            if not -rank <= d < rank:
                raise InputError(
                    f"{ts.path}: --dynamic {key}:{d}: input {ts.input_names[index]!r} "
                    f"has rank {rank}"
                )
            wanted.setdefault(index, set()).add(d % rank)
    return wanted


def _input_index(ts: TorchScriptModel, name: str) -> int:
    if name not in ts.input_names:
        raise InputError(
            f"{ts.path}: --dynamic names input {name!r}; inputs are {', '.join(ts.input_names)}"
        )
    return ts.input_names.index(name)
