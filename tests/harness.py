"""Parity harness: script or trace a module, save, load, convert, run in ONNX Runtime, compare."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import onnx
import torch

from converter import (
    ConvertOptions,
    ConvertResult,
    Tolerance,
    VerifyOptions,
    WorkerOptions,
    convert,
    verify,
)
from converter._jit import quiet_jit
from converter.runtime.verify import VerifyReport

__all__ = [
    "OpCase",
    "assert_parity",
    "assert_runs_at_sizes",
    "case_engine",
    "onnx_op_types",
    "quantized_engine",
    "save_archive",
]


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One table-driven parity case: a module factory, example inputs and expectations."""

    id: str
    make: Callable[[], torch.nn.Module]
    inputs: Callable[[], tuple[torch.Tensor, ...]]
    mode: Literal["trace", "script"] = "trace"
    expect_ops: frozenset[str] | None = None  # exact set of ONNX op types in the output
    tolerance: Tolerance | None = None
    opset: int = 18
    dynamic_batch: bool = True
    dynamic_dims: Mapping[str | int, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    engine: str | None = None  # torch quantized engine the case is built, saved and run on


@contextlib.contextmanager
def case_engine(case: OpCase) -> Iterator[None]:
    """Run the block on the quantized engine ``case`` needs (torch's current one if none)."""
    if case.engine is None:
        yield
        return
    with quantized_engine(case.engine):
        yield


@contextlib.contextmanager
def quantized_engine(name: str) -> Iterator[None]:
    """Run the block with torch's quantized engine set to ``name``; restore it after."""
    engine = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = engine


def save_archive(
    module: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    path: Path,
    mode: Literal["trace", "script"] = "trace",
) -> Path:
    """Trace or script ``module`` and write it with torch.jit.save (tracer warnings muted)."""
    with quiet_jit(), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        if mode == "trace":
            scripted = torch.jit.trace(module, tuple(inputs))
        else:
            scripted = torch.jit.script(module)
        torch.jit.save(scripted, str(path))
    return path


def assert_runs_at_sizes(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    tmp_path: Path,
    rows: Sequence[int],
    scale: float = 1.0,
) -> None:
    """Script and convert ``module`` once, then match TorchScript on random inputs shaped as
    ``example[0]`` with ``n`` rows, for each n in ``rows``."""
    import numpy as np
    import onnxruntime as ort

    archive = save_archive(module, example, tmp_path / "m.pt", mode="script")
    out = tmp_path / "m.onnx"
    convert(archive, out, example, worker=WorkerOptions(isolate=False))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for n in rows:
        x = torch.randn(n, *example[0].shape[1:]) * scale
        (got,) = session.run(None, {name: x.numpy()})
        np.testing.assert_allclose(got, module(x).numpy(), rtol=1e-5, atol=1e-5)


def onnx_op_types(path: Path) -> set[str]:
    """The op types of an ONNX file's main graph, Constant nodes left out."""
    return {n.op_type for n in onnx.load(str(path)).graph.node} - {"Constant"}


def assert_parity(
    case: OpCase, tmp_path: Path, provider: str = "cpu"
) -> tuple[ConvertResult, VerifyReport]:
    """Round-trip ``case`` through an archive and ONNX Runtime; fail with the report on mismatch."""
    with case_engine(case):
        return _round_trip(case, tmp_path, provider)


def _round_trip(case: OpCase, tmp_path: Path, provider: str) -> tuple[ConvertResult, VerifyReport]:
    torch.manual_seed(0)
    module = case.make().eval()
    inputs = case.inputs()
    archive = save_archive(module, inputs, tmp_path / f"{case.id}.pt", case.mode)
    out = tmp_path / f"{case.id}.onnx"
    options = ConvertOptions(
        opset=case.opset, dynamic_batch=case.dynamic_batch, dynamic_dims=dict(case.dynamic_dims)
    )
    # Op cases are this suite's own modules: translation is under test here, not the worker
    # process (tests/test_worker.py and tests/test_hostile.py cover that).
    worker = WorkerOptions(isolate=False)
    result = convert(archive, out, inputs, options=options, worker=worker)
    report = verify(
        archive,
        out,
        inputs,
        options=VerifyOptions(provider=provider, tolerance=case.tolerance),  # type: ignore[arg-type]
        worker=worker,
    )
    assert report.ok, json.dumps(report.to_dict(), indent=1)
    if case.expect_ops is not None:  # the translation's own ops, before the optimizer
        plain = tmp_path / f"{case.id}.plain.onnx"
        plain_options = dataclasses.replace(options, optimize_level=0)
        convert(archive, plain, inputs, options=plain_options, worker=worker)
        found = onnx_op_types(plain)
        assert found == set(case.expect_ops), f"ONNX ops {sorted(found)}"
    return result, report
