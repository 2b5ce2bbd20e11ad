"""Check an ONNX file before ONNX Runtime or onnx open it: protobuf, external data, domains.

ONNX Runtime follows an initializer's external-data ``location`` wherever it points (``../``,
absolute paths, symlinks, ``/proc``) and reads raw process memory for its special
``*/_ORT_MEM_ADDR_/*`` form. Every location must name a regular file inside the model's own
directory, reached without symlinks or hard links, and hold the bytes it claims.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import onnx

from converter.errors import ModelLoadError, RuntimeSessionError

__all__ = ["KNOWN_DOMAINS", "check_domains", "check_onnx_file"]

# Operator domains ONNX Runtime implements without a custom-op library.
KNOWN_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}
)


def check_onnx_file(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """The model's protobuf without external data; ModelLoadError if it is unsafe or malformed."""
    p = Path(path)
    if not p.exists():
        raise ModelLoadError(f"{p}: no such file")
    if not p.is_file():
        raise ModelLoadError(f"{p}: not a regular file, expected an ONNX model")
    if p.stat().st_size == 0:
        raise ModelLoadError(f"{p}: empty file, expected an ONNX model")
    try:
        model = onnx.load_model(str(p), load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and others
        raise ModelLoadError(f"{p}: not an ONNX model (malformed protobuf: {e})") from e
    if not model.HasField("graph"):
        raise ModelLoadError(f"{p}: not an ONNX model (no graph)")
    if not _texts_decode(model):
        raise ModelLoadError(f"{p}: not an ONNX model (malformed protobuf: text that is not UTF-8)")
    for tensor in _tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            _check_external(p, tensor)
    return model


def check_domains(path: str | os.PathLike[str], model: onnx.ModelProto) -> None:
    """RuntimeSessionError naming the first operator from a domain ONNX Runtime lacks."""
    local = {f.domain for f in model.functions}
    for node in _nodes(model.graph):
        if node.domain not in KNOWN_DOMAINS and node.domain not in local:
            raise RuntimeSessionError(
                f"{path}: operator {node.domain}::{node.op_type} needs a custom-op library "
                "that ONNX Runtime does not have"
            )


def _check_external(p: Path, tensor: onnx.TensorProto) -> None:
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    where = f"{p}: initializer {tensor.name!r} external data {location!r}"
    if not location or "_ORT_MEM_ADDR_" in location:
        raise ModelLoadError(f"{where}: not a file name")
    parts = Path(location).parts
    if Path(location).is_absolute() or ".." in parts or location.startswith(("/", "\\")):
        raise ModelLoadError(f"{where}: outside the model's directory")
    base = p.parent.resolve()
    target = base / location
    current = base
    for part in parts:  # no symlink anywhere on the way
        current = current / part
        if current.is_symlink():
            raise ModelLoadError(f"{where}: is a symbolic link")
    if not target.exists():
        raise ModelLoadError(f"{where}: no such file")
    status = target.stat()
    if not stat.S_ISREG(status.st_mode):
        raise ModelLoadError(f"{where}: not a regular file")
    if status.st_nlink > 1:
        raise ModelLoadError(f"{where}: is a hard link")
    try:
        offset = int(info.get("offset", "0") or 0)
        length = int(info.get("length", "0") or 0)
    except ValueError as e:
        raise ModelLoadError(f"{where}: offset or length is not a number") from e
    if offset < 0 or length < 0 or offset + length > status.st_size:
        raise ModelLoadError(f"{where}: claims bytes beyond the end of the file")


def _texts_decode(model: onnx.ModelProto) -> bool:
    """Protobuf hands back bytes, not str, for string fields holding invalid UTF-8."""
    graph = model.graph
    texts = [t for prop in model.metadata_props for t in (prop.key, prop.value)]
    texts += [v.name for v in (*graph.input, *graph.output)]
    texts += [t for node in graph.node for t in (node.op_type, node.domain, node.name)]
    return all(isinstance(t, str) for t in texts)


def _nodes(graph: onnx.GraphProto) -> Iterator[onnx.NodeProto]:
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _nodes(attribute.g)
            for sub in attribute.graphs:
                yield from _nodes(sub)


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for sub in attribute.graphs:
                yield from _tensors(sub)
