"""ONNX Runtime sessions on CPU or CUDA, created once and reused; IO binding for devices."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from converter.errors import InputError, RuntimeSessionError, error_line
from converter.options import Provider
from converter.runtime.model_file import check_domains, check_onnx_file
from converter.threads import session_threads

__all__ = [
    "EXECUTION_PROVIDERS",
    "FLOAT16_DISABLED_OPTIMIZERS",
    "BoundRun",
    "Session",
    "resolve_providers",
]

EXECUTION_PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
}

ProviderList = list[tuple[str, dict[str, str]]]
# ONNX Runtime 1.32's CPU NCHWc layout transformer crashes the process on some float16 graphs
# (Transpose -> Reshape -> Transpose -> MatMul); it rewrites float32 convolutions only, so a
# float16 model loses nothing without it.
FLOAT16_DISABLED_OPTIMIZERS = ("NchwcTransformer",)


def _computes_float16(proto: Any) -> bool:
    return any(p.key == "jit2onnx.precision" and p.value == "float16" for p in proto.metadata_props)


def resolve_providers(provider: str, device_id: int, available: Sequence[str]) -> ProviderList:
    """Execution providers for ``provider``; an error lists what is available instead."""
    key = provider.lower()
    if key not in EXECUTION_PROVIDERS:
        raise RuntimeSessionError(
            f"unknown provider {provider!r}: choose one of {', '.join(EXECUTION_PROVIDERS)}"
        )
    name = EXECUTION_PROVIDERS[key]
    if name not in available:
        hint = " (install jit2onnx[gpu], which brings onnxruntime-gpu)" if key == "cuda" else ""
        raise RuntimeSessionError(
            f"provider {key!r} needs {name}, which this onnxruntime does not have; "
            f"available: {', '.join(available)}{hint}"
        )
    if key == "cuda":
        return [(name, {"device_id": str(device_id)}), ("CPUExecutionProvider", {})]
    return [(name, {})]


class Session:
    """One ONNX Runtime inference session bound to a provider and device.

    ``threads``: intra-op threads; None takes the enclosing ``compute_threads`` setting, and
    outside one ONNX Runtime's default.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | bytes,
        provider: Provider = "cpu",
        device_id: int = 0,
        *,
        threads: int | None = None,
        io_binding: bool | None = None,
        disabled: Sequence[str] = (),
    ) -> None:
        ort = _onnxruntime()
        self.provider = provider
        self.device_id = device_id
        self.device = "cuda" if provider == "cuda" else "cpu"
        self.io_binding = provider == "cuda" if io_binding is None else io_binding
        label = "<in-memory model>" if isinstance(model, bytes) else str(model)
        providers = resolve_providers(provider, device_id, ort.get_available_providers())
        options = ort.SessionOptions()
        options.log_severity_level = 3
        threads = session_threads() if threads is None else threads
        if threads is not None:
            options.intra_op_num_threads = threads
        if isinstance(model, bytes):
            source: str | bytes = model
        else:
            source = str(Path(model))
            proto = check_onnx_file(model)
            check_domains(model, proto)
            if _computes_float16(proto):
                disabled = (*disabled, *FLOAT16_DISABLED_OPTIMIZERS)
        try:
            self._session = ort.InferenceSession(
                source, options, providers=providers, disabled_optimizers=list(disabled) or None
            )
        except Exception as e:
            first = error_line(e)
            raise RuntimeSessionError(
                f"{label}: ONNX Runtime cannot load the model: {first}"
            ) from e
        active = self._session.get_providers()
        if providers[0][0] not in active:
            raise RuntimeSessionError(
                f"{label}: ONNX Runtime did not enable {providers[0][0]} (active: "
                f"{', '.join(active)}); check the CUDA and cuDNN libraries"
            )
        self.label = label
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        self.input_shapes = tuple(tuple(i.shape) for i in self._session.get_inputs())
        self.input_types = tuple(str(i.type) for i in self._session.get_inputs())
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)

    def check_feeds(self, feeds: Mapping[str, np.ndarray]) -> None:
        """InputError naming the first feed whose name, dtype, rank or static size is wrong."""
        for name, shape, kind in zip(
            self.input_names, self.input_shapes, self.input_types, strict=True
        ):
            if name not in feeds:
                raise InputError(f"{self.label}: input {name!r} is missing")
            array = np.asarray(feeds[name])
            expected = _ONNX_TYPES.get(kind)
            if expected is not None and array.dtype != expected:
                raise InputError(
                    f"{self.label}: input {name!r} must be {expected}, got {array.dtype}"
                )
            if len(shape) != array.ndim:
                raise InputError(
                    f"{self.label}: input {name!r} must have rank {len(shape)} {list(shape)}, "
                    f"got shape {list(array.shape)}"
                )
            for dim, (want, got) in enumerate(zip(shape, array.shape, strict=True)):
                if isinstance(want, int) and want != got:
                    raise InputError(
                        f"{self.label}: input {name!r} dim {dim} must be {want}, "
                        f"got shape {list(array.shape)}"
                    )

    def symbolic_dims(self) -> dict[int, tuple[int, ...]]:
        """Input index -> the dims that are symbolic (named or unknown) in the model."""
        dims = {}
        for i, shape in enumerate(self.input_shapes):
            named = tuple(d for d, size in enumerate(shape) if not isinstance(size, int))
            if named:
                dims[i] = named
        return dims

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Run once; with IO binding (the default on CUDA) through device buffers."""
        self.check_feeds(feeds)
        if self.io_binding:
            return self.bind(feeds).run()
        try:
            return list(self._session.run(None, dict(feeds)))
        except Exception as e:
            raise RuntimeSessionError(f"{self.label}: run failed: {error_line(e)}") from e

    def bind(self, feeds: Mapping[str, np.ndarray]) -> BoundRun:
        """Copy inputs to the session's device once, for repeated runs without host copies."""
        return BoundRun(self, feeds)


class BoundRun:
    """Inputs placed on the session's device; ``run()`` can be repeated without copying them."""

    def __init__(self, session: Session, feeds: Mapping[str, np.ndarray]) -> None:
        import onnxruntime as ort

        self._session = session
        self._binding = session._session.io_binding()
        self._inputs = {}
        for name, array in feeds.items():
            value = ort.OrtValue.ortvalue_from_numpy(
                np.ascontiguousarray(array), session.device, session.device_id
            )
            self._inputs[name] = value  # keep the device buffer alive
            self._binding.bind_ortvalue_input(name, value)
        for name in session.output_names:
            self._binding.bind_output(name, session.device, session.device_id)

    def run(self) -> list[np.ndarray]:
        """Run on the bound device buffers and copy the outputs to the host."""
        try:
            self._binding.synchronize_inputs()
            self._session._session.run_with_iobinding(self._binding)
            self._binding.synchronize_outputs()
            return list(self._binding.copy_outputs_to_cpu())
        except Exception as e:
            raise RuntimeSessionError(f"{self._session.label}: run failed: {error_line(e)}") from e

    def run_on_device(self) -> list[object]:
        """Run and leave the outputs on the device (OrtValues), for timing loops."""
        self._session._session.run_with_iobinding(self._binding)
        return list(self._binding.get_outputs())


# ONNX Runtime's input type names and the numpy dtypes that feed them.
_ONNX_TYPES = {
    f"tensor({name})": np.dtype(dtype)
    for name, dtype in {
        "float": "float32",
        "double": "float64",
        "float16": "float16",
        "int8": "int8",
        "int16": "int16",
        "int32": "int32",
        "int64": "int64",
        "uint8": "uint8",
        "uint16": "uint16",
        "uint32": "uint32",
        "uint64": "uint64",
        "bool": "bool",
    }.items()
}


def _onnxruntime() -> Any:
    # ONNX Runtime reads this when it is first imported: no telemetry from jit2onnx's sessions.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
    except ImportError as e:
        raise RuntimeSessionError(
            "ONNX Runtime is not installed: pip install 'jit2onnx[cpu]' (or 'jit2onnx[gpu]')"
        ) from e
    onnxruntime.disable_telemetry_events()
    return onnxruntime
