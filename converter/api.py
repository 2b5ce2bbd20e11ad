"""The public pipeline: load -> translate -> check -> write, plus verify, run and inspect."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnx_ir as ir
import torch

from converter import __version__
from converter._io import atomic_path
from converter.errors import InputError, InternalError, SourceLocation
from converter.frontend.load import TorchScriptModel, load
from converter.frontend.ts_ir import walk
from converter.options import ConvertOptions, InputSpec, Provider, VerifyOptions
from converter.runtime.inputs import load_inputs, random_inputs
from converter.runtime.session import Session
from converter.runtime.verify import VerifyReport, verify_session
from converter.translate import dtypes
from converter.translate.ops import default_registry
from converter.translate.registry import OpRegistry
from converter.translate.translator import GraphInput, op_histogram, translate

__all__ = [
    "ConvertResult",
    "InspectReport",
    "convert",
    "example_arrays",
    "inspect",
    "run",
    "save_outputs",
    "summarize_outputs",
    "verify",
]

ArrayLike = np.ndarray | torch.Tensor
PathLike = str | os.PathLike[str]
# Example inputs: arrays or tensors in forward order, or a .npz/.npy file.
Examples = Sequence[ArrayLike] | PathLike


@dataclasses.dataclass(frozen=True)
class ConvertResult:
    """What ``convert`` wrote: the file, its inputs and outputs, warnings and timing."""

    output: Path
    opset: int
    inputs: tuple[GraphInput, ...]
    outputs: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    op_histogram: dict[str, int]
    seconds: float

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``convert --json``)."""
        return {
            "output": str(self.output),
            "opset": self.opset,
            "inputs": [
                {"name": i.name, "dtype": i.dtype.name.lower(), "shape": list(i.dims)}
                for i in self.inputs
            ],
            "outputs": list(self.outputs),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "op_histogram": self.op_histogram,
            "seconds": round(self.seconds, 3),
        }


@dataclasses.dataclass(frozen=True)
class InspectReport:
    """An archive's inputs, operator histogram and the operators that have no handler."""

    model: Path
    inputs: tuple[str, ...]
    op_histogram: dict[str, int]
    unsupported: dict[str, list[SourceLocation | None]]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``inspect --json``)."""
        return {
            "model": str(self.model),
            "inputs": list(self.inputs),
            "op_histogram": self.op_histogram,
            "unsupported": {
                k: [str(loc) if loc else None for loc in v] for k, v in self.unsupported.items()
            },
            "notes": list(self.notes),
        }


def convert(
    model: PathLike,
    output: PathLike,
    example_inputs: Examples | None = None,
    *,
    input_specs: Sequence[InputSpec] | None = None,
    options: ConvertOptions | None = None,
    registry: OpRegistry | None = None,
) -> ConvertResult:
    """Convert a TorchScript archive to an ONNX file; returns what was written."""
    start = time.perf_counter()
    opts = options or ConvertOptions()
    ts = load(model)
    arrays = example_arrays(ts, example_inputs, input_specs)
    _check_reference(ts, arrays)
    reg = registry or default_registry()
    static: set[str] = set()
    warnings: list[str] = []
    for _ in range(len(arrays) * 8 + 2):
        graph_inputs, sizes = _graph_inputs(ts, arrays, opts, static)
        translation = translate(ts, graph_inputs, reg, opts.opset, sizes)
        if not translation.baked:
            break
        for baked in translation.baked:
            warnings.append(
                f"dim {baked.dim!r} kept static: {baked.node} at {baked.location} uses the "
                f"constant size {baked.size}, the traced size of that dim"
            )
            static.add(baked.dim)
    onnx_model = translation.model
    _add_metadata(onnx_model, ts, warnings)
    proto = ir.serde.serialize_model(onnx_model)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:  # the translator built an invalid model: a bug
        raise InternalError(f"{output}: the generated ONNX model fails the checker: {e}") from e
    with atomic_path(output) as tmp:
        onnx.save_model(proto, tmp)
    return ConvertResult(
        output=Path(output),
        opset=opts.opset,
        inputs=tuple(graph_inputs),
        outputs=tuple(o.name or "" for o in onnx_model.graph.outputs),
        warnings=tuple(warnings),
        notes=ts.notes,
        op_histogram=op_histogram(ts.graph),
        seconds=time.perf_counter() - start,
    )


def verify(
    model: PathLike,
    onnx_model: PathLike,
    example_inputs: Examples | None = None,
    *,
    input_specs: Sequence[InputSpec] | None = None,
    options: VerifyOptions | None = None,
) -> VerifyReport:
    """Compare an ONNX model with its TorchScript original on several feeds; returns a report."""
    opts = options or VerifyOptions()
    ts = load(model)
    arrays = example_arrays(ts, example_inputs, input_specs)
    session = Session(onnx_model, opts.provider, opts.device_id)
    if len(session.input_names) != len(arrays):
        raise InputError(
            f"{onnx_model}: the ONNX model takes {len(session.input_names)} input(s), "
            f"the archive {len(arrays)}"
        )
    return verify_session(ts, session, arrays, opts, ts.notes)


def run(
    onnx_model: PathLike,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray] | PathLike,
    *,
    provider: Provider = "cpu",
    device_id: int = 0,
) -> dict[str, np.ndarray]:
    """Run an ONNX model in ONNX Runtime; returns outputs by name."""
    session = Session(onnx_model, provider, device_id)
    if isinstance(inputs, str | os.PathLike):
        inputs = load_inputs(inputs, session.input_names)
    if isinstance(inputs, Mapping):
        feeds = dict(inputs)
    else:
        if len(inputs) != len(session.input_names):
            raise InputError(
                f"{onnx_model}: the model takes {len(session.input_names)} input(s) "
                f"({', '.join(session.input_names)}) but {len(inputs)} were given"
            )
        feeds = dict(zip(session.input_names, inputs, strict=True))
    return dict(zip(session.output_names, session.run(feeds), strict=True))


def inspect(model: PathLike, *, opset: int | None = None) -> InspectReport:
    """Describe an archive: inputs, operator histogram and unsupported operators."""
    ts = load(model)
    target = opset or ConvertOptions().opset
    reg = default_registry()
    unsupported: dict[str, list[SourceLocation | None]] = {}
    for node in walk(ts.graph):
        if reg.lookup(node.kind, node.overload, target) is None:
            unsupported.setdefault(node.qualified_kind, []).append(node.location)
    return InspectReport(ts.path, ts.input_names, op_histogram(ts.graph), unsupported, ts.notes)


def example_arrays(
    ts: TorchScriptModel,
    example_inputs: Examples | None,
    input_specs: Sequence[InputSpec] | None,
) -> list[np.ndarray]:
    """The example inputs as numpy arrays, checked against the model's input count."""
    if isinstance(example_inputs, str | os.PathLike):
        arrays = load_inputs(example_inputs, ts.input_names)
    elif example_inputs is not None:
        arrays = [
            x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
            for x in example_inputs
        ]
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
    return arrays


def _check_reference(ts: TorchScriptModel, arrays: Sequence[np.ndarray]) -> None:
    try:
        ts.run(*[torch.from_numpy(np.array(a)) for a in arrays])
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in arrays)
        raise InputError(
            f"{ts.path}: the module rejects the example inputs ({shapes}): {first}"
        ) from e


def _graph_inputs(
    ts: TorchScriptModel, arrays: Sequence[np.ndarray], opts: ConvertOptions, static: set[str]
) -> tuple[list[GraphInput], dict[str, int]]:
    wanted = _wanted_dynamic(ts, arrays, opts)
    batch_sizes = {a.shape[0] for i, a in enumerate(arrays) if 0 in wanted[i]}
    sizes: dict[str, int] = {}
    result = []
    for i, (name, array) in enumerate(zip(ts.input_names, arrays, strict=True)):
        dims: list[int | str] = list(array.shape)
        for d in sorted(wanted[i]):
            symbol = "batch" if d == 0 and len(batch_sizes) == 1 else f"{name}_dim{d}"
            if symbol not in static:
                dims[d] = symbol
                sizes[symbol] = int(array.shape[d])
        try:
            dtype = dtypes.from_numpy(array.dtype)
        except Exception as e:
            raise InputError(
                f"{ts.path}: input {name!r} has unsupported dtype {array.dtype}"
            ) from e
        result.append(GraphInput(name, dtype, tuple(dims)))
    return result, sizes


def _wanted_dynamic(
    ts: TorchScriptModel, arrays: Sequence[np.ndarray], opts: ConvertOptions
) -> list[set[int]]:
    wanted = [{0} if opts.dynamic_batch and a.ndim >= 2 else set() for a in arrays]
    for key, dims in opts.dynamic_dims.items():
        index = key if isinstance(key, int) else _input_index(ts, key)
        if not 0 <= index < len(arrays):
            raise InputError(
                f"{ts.path}: --dynamic names input {key}, but the model has {len(arrays)}"
            )
        for d in dims:
            if not -arrays[index].ndim <= d < arrays[index].ndim:
                raise InputError(
                    f"{ts.path}: --dynamic {key}:{d}: input {ts.input_names[index]!r} "
                    f"has rank {arrays[index].ndim}"
                )
            wanted[index].add(d % arrays[index].ndim)
    return wanted


def _input_index(ts: TorchScriptModel, name: str) -> int:
    if name not in ts.input_names:
        raise InputError(
            f"{ts.path}: --dynamic names input {name!r}; inputs are {', '.join(ts.input_names)}"
        )
    return ts.input_names.index(name)


def _add_metadata(model: ir.Model, ts: TorchScriptModel, warnings: Sequence[str]) -> None:
    digest = hashlib.sha256(ts.path.read_bytes()).hexdigest()
    model.metadata_props["jit2onnx.version"] = __version__
    model.metadata_props["jit2onnx.source_sha256"] = digest
    if warnings:
        model.metadata_props["jit2onnx.warnings"] = "\n".join(warnings)
    if ts.notes:
        model.metadata_props["jit2onnx.notes"] = "\n".join(ts.notes)


def save_outputs(path: PathLike, outputs: Mapping[str, np.ndarray]) -> None:
    """Write outputs by name to an .npz file, atomically."""
    with atomic_path(path) as tmp:
        with tmp.open("wb") as f:
            np.savez(f, **dict(outputs))  # type: ignore[arg-type]


def summarize_outputs(outputs: Mapping[str, np.ndarray]) -> list[dict[str, object]]:
    """Name, dtype, shape and value range of each output."""
    summary: list[dict[str, object]] = []
    for name, array in outputs.items():
        values = array.astype(np.float64) if array.size else np.zeros(1)
        summary.append(
            {
                "name": name,
                "dtype": str(array.dtype),
                "shape": list(array.shape),
                "min": float(np.nanmin(values)) if np.isfinite(values).any() else float("nan"),
                "max": float(np.nanmax(values)) if np.isfinite(values).any() else float("nan"),
                "mean": float(np.nanmean(values)) if np.isfinite(values).any() else float("nan"),
            }
        )
    return summary
