"""Inference measurements: ONNX Runtime and TorchScript runners, latency series, parity."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from converter._jit import quiet_jit

__all__ = [
    "Budget",
    "Latency",
    "Runner",
    "batched",
    "latency",
    "max_abs_errors",
    "ort_runner",
    "reference_outputs",
    "torchscript_runner",
]

Runner = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


@dataclasses.dataclass(frozen=True)
class Budget:
    """How many timed calls make one block: at least ``runs`` and ``seconds``, at most ``cap``."""

    warmup: int
    runs: int
    seconds: float
    cap: int = 20000


@dataclasses.dataclass(frozen=True)
class Latency:
    """Seconds per call over every block, and the spread of the blocks' medians."""

    samples: tuple[float, ...]
    block_medians: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median seconds per call."""
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        """90th percentile of seconds per call."""
        return float(np.percentile(self.samples, 90))

    @property
    def cv(self) -> float | None:
        """Coefficient of variation of the blocks' medians (None with one block)."""
        if len(self.block_medians) < 2:
            return None
        return statistics.stdev(self.block_medians) / statistics.mean(self.block_medians)


def ort_runner(path: Path, threads: int) -> tuple[Runner, list[bool]]:
    """An ONNX Runtime CPU session and, per input, whether its dim 0 is symbolic."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        outputs = session.run(None, dict(zip(names, feeds, strict=True)))
        return [np.asarray(o) for o in outputs]

    return run, [bool(i.shape) and not isinstance(i.shape[0], int) for i in session.get_inputs()]


def _flatten(value: object) -> list[np.ndarray]:
    if isinstance(value, torch.Tensor):
        return [value.detach().numpy()]
    if isinstance(value, (list, tuple)):
        return [array for item in value for array in _flatten(item)]
    if isinstance(value, dict):
        return [array for item in value.values() for array in _flatten(item)]
    return [np.asarray(value)]


def _call(module: torch.jit.ScriptModule) -> Runner:
    def run(feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            return _flatten(module(*(torch.from_numpy(f) for f in feeds)))

    return run


def torchscript_runner(model: Path) -> Runner:
    """``torch.jit.load`` -> eval -> ``freeze`` -> ``optimize_for_inference`` (global threads)."""
    with quiet_jit():
        module = torch.jit.load(str(model)).eval()
        module = torch.jit.optimize_for_inference(torch.jit.freeze(module))
    return _call(module)


def reference_outputs(model: Path, feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The archive's own outputs: ``torch.jit.load(...).eval()`` with no optimization."""
    with quiet_jit():
        module = torch.jit.load(str(model)).eval()
    return _call(module)(feeds)


def max_abs_errors(outputs: Sequence[np.ndarray], reference: Sequence[np.ndarray]) -> str:
    """Max abs error of each output against the reference, or why they cannot be compared."""
    if len(outputs) != len(reference):
        return f"{len(outputs)} outputs vs {len(reference)}"
    parts = []
    for got, want in zip(outputs, reference, strict=True):
        if got.shape != want.shape:
            return f"shape {list(got.shape)} vs {list(want.shape)}"
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        parts.append(f"{float(diff.max()) if diff.size else 0.0:.1e}")
    return ", ".join(parts)


def batched(feeds: Sequence[np.ndarray], dynamic: Sequence[bool], size: int) -> list[np.ndarray]:
    """The inputs with ``size`` rows on each dynamic dim 0 (rows repeated cyclically)."""
    return [
        np.ascontiguousarray(f[np.arange(size) % f.shape[0]]) if d else f
        for f, d in zip(feeds, dynamic, strict=True)
    ]


def _block(run: Runner, feeds: Sequence[np.ndarray], budget: Budget) -> list[float]:
    samples: list[float] = []
    spent = 0.0
    while len(samples) < budget.cap and (len(samples) < budget.runs or spent < budget.seconds):
        start = time.perf_counter()
        run(feeds)
        samples.append(time.perf_counter() - start)
        spent += samples[-1]
    return samples


def latency(
    runners: dict[str, Runner], feeds: Sequence[np.ndarray], rounds: int, budget: Budget
) -> dict[str, Latency]:
    """Latency of each runner on the same feeds, in ``rounds`` interleaved blocks after warm-up."""
    for run in runners.values():
        for _ in range(budget.warmup):
            run(feeds)
    blocks: dict[str, list[list[float]]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            blocks[name].append(_block(run, feeds, budget))
    return {
        name: Latency(
            samples=tuple(s for block in series for s in block),
            block_medians=tuple(statistics.median(block) for block in series),
        )
        for name, series in blocks.items()
    }
