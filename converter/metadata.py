"""Model-level metadata: what a service in any language needs to call the model and check it.

Every key is prefixed ``jit2onnx.``; values are plain text or JSON (see the README):

- ``version``, ``opset``, ``source_sha256``: plain text
- ``inputs``, ``outputs``: JSON lists of ``{"name", "dtype", "shape"}`` in graph order; ``dtype`` is
  a numpy-style name (``float32``, ``int64``, ``bool``), ``shape`` holds ints, names of dynamic
  dims, or null for a size the graph computes
- ``tolerances``: JSON ``{output name: {"rtol": r, "atol": a}}``, the parity tolerances
  (verify uses them unless given others; looser for a float16 model)
- ``precision``: ``float16`` when the computation was converted to float16 (absent otherwise)
- ``findings``: JSON list of validation findings; ``notes``: plain text, one note a line
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnx

from converter.errors import ModelLoadError
from converter.frontend.findings import Finding
from converter.options import Tolerance
from converter.runtime.model_file import check_onnx_file

if TYPE_CHECKING:
    import onnx_ir as ir

__all__ = [
    "ModelDescription",
    "TensorInfo",
    "default_tolerances",
    "describe",
    "recorded_tolerances",
    "is_onnx_file",
    "model_properties",
    "tolerance_text",
]

PREFIX = "jit2onnx."
Dim = int | str | None


@dataclasses.dataclass(frozen=True)
class TensorInfo:
    """A graph input or output: name, numpy-style dtype name and shape (named dims as str)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    @classmethod
    def of_value(cls, value: ir.Value) -> TensorInfo:
        """The description of an ONNX IR graph input or output."""
        dtype = value.dtype
        name = _dtype_name(dtype) if dtype is not None else "unknown"
        shape: tuple[Dim, ...] = ()
        if value.shape is not None:
            shape = tuple(d if isinstance(d, int) else d.value for d in value.shape.dims)
        return cls(value.name or "", name, shape)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclasses.dataclass(frozen=True)
class ModelDescription:
    """What an ONNX file says about itself (the metadata convert wrote, else its graph alone)."""

    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opset: int | None
    version: str | None = None
    source_sha256: str | None = None
    precision: str | None = None
    tolerances: Mapping[str, Tolerance] = dataclasses.field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the schema of ``inspect MODEL.onnx --json``)."""
        return {
            "model": str(self.path),
            "jit2onnx_version": self.version,
            "opset": self.opset,
            "source_sha256": self.source_sha256,
            "inputs": [i.to_dict() for i in self.inputs],
            "outputs": [o.to_dict() for o in self.outputs],
            "tolerances": {k: dataclasses.asdict(v) for k, v in self.tolerances.items()},
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "precision": self.precision,
        }


def default_tolerances(
    outputs: Sequence[TensorInfo], float16: bool = False
) -> dict[str, Tolerance]:
    """The tolerance verify applies by default to each output, by its dtype (and whether the
    model computes in float16)."""
    result = {}
    for out in outputs:
        try:
            dtype = np.dtype(out.dtype)
        except TypeError:
            dtype = np.dtype(np.float32)
        result[out.name] = Tolerance.for_float16(dtype) if float16 else Tolerance.for_dtype(dtype)
    return result


def recorded_tolerances(props: Mapping[str, str]) -> dict[str, Tolerance]:
    """The ``jit2onnx.tolerances`` of a model's metadata (keys with their prefix); ValueError,
    KeyError or TypeError when malformed."""
    return {
        k: Tolerance(rtol=float(v["rtol"]), atol=float(v["atol"]))
        for k, v in json.loads(props.get(PREFIX + "tolerances", "{}")).items()
    }


def tolerance_text(tolerances: Mapping[str, Tolerance]) -> str:
    """The ``jit2onnx.tolerances`` value."""
    return json.dumps({k: {"rtol": t.rtol, "atol": t.atol} for k, t in tolerances.items()})


def model_properties(
    model: ir.Model,
    *,
    version: str,
    opset: int,
    source_sha256: str,
    findings: Sequence[Finding],
    notes: Sequence[str],
) -> dict[str, str]:
    """The model-level ``metadata_props`` for a translated model."""
    inputs = [TensorInfo.of_value(v) for v in model.graph.inputs]
    outputs = [TensorInfo.of_value(v) for v in model.graph.outputs]
    float16 = model.metadata_props.get(PREFIX + "precision") == "float16"
    props = {
        "version": version,
        "opset": str(opset),
        "source_sha256": source_sha256,
        "inputs": json.dumps([i.to_dict() for i in inputs]),
        "outputs": json.dumps([o.to_dict() for o in outputs]),
        "tolerances": tolerance_text(default_tolerances(outputs, float16)),
        "findings": json.dumps([f.to_dict() for f in findings]),
    }
    if notes:
        props["notes"] = "\n".join(notes)
    return {PREFIX + k: v for k, v in props.items()}


def is_onnx_file(path: str | os.PathLike[str]) -> bool:
    """True for an existing ``.onnx`` file, or another file that parses as an ONNX model."""
    p = Path(path)
    if not p.is_file():
        return False
    if p.suffix.lower() == ".onnx":
        return True
    with p.open("rb") as f:
        head = f.read(4)
    if not head or head.startswith((b"PK", b"\x80")):  # zip (TorchScript) or pickle
        return False
    try:
        return bool(onnx.load(str(p), load_external_data=False).HasField("graph"))
    except Exception:  # not a protobuf at all
        return False


def describe(onnx_model: str | os.PathLike[str]) -> ModelDescription:
    """Read an ONNX file's inputs, outputs and jit2onnx metadata."""
    import onnx_ir as ir  # only here: listing results needs no IR

    path = Path(onnx_model)
    proto = check_onnx_file(path)  # refuses malformed files and escaping external data
    try:
        model = ir.serde.deserialize_model(proto)
    except Exception as e:
        raise ModelLoadError(f"{path}: not a readable ONNX model: {_first_line(e)}") from e
    props = {p.key.removeprefix(PREFIX): p.value for p in proto.metadata_props}
    opsets = {o.domain: o.version for o in proto.opset_import}
    try:
        inputs = _infos(props.get("inputs")) or tuple(map(TensorInfo.of_value, model.graph.inputs))
        outputs = _infos(props.get("outputs")) or tuple(
            map(TensorInfo.of_value, model.graph.outputs)
        )
        tolerances = recorded_tolerances({p.key: p.value for p in proto.metadata_props})
        findings = tuple(Finding.from_dict(d) for d in json.loads(props.get("findings", "[]")))
    except (ValueError, KeyError, TypeError) as e:
        raise ModelLoadError(f"{path}: malformed jit2onnx metadata: {_first_line(e)}") from e
    return ModelDescription(
        path=path,
        inputs=inputs,
        outputs=outputs,
        opset=opsets.get("", opsets.get("ai.onnx")),
        version=props.get("version"),
        source_sha256=props.get("source_sha256"),
        precision=props.get("precision"),
        tolerances=tolerances,
        findings=findings,
        notes=tuple(props["notes"].splitlines()) if props.get("notes") else (),
    )


def _infos(text: str | None) -> tuple[TensorInfo, ...]:
    if not text:
        return ()
    return tuple(
        TensorInfo(str(d["name"]), str(d["dtype"]), tuple(d["shape"])) for d in json.loads(text)
    )


def _dtype_name(dtype: ir.DataType) -> str:
    try:
        return np.dtype(dtype.numpy()).name
    except Exception:  # types without a numpy twin (bfloat16, float8): the ONNX name
        return dtype.name.lower()


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
