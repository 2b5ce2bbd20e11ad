"""The machine description, the noise estimate and the markdown table of benchmarks/peers.py."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "Calibration",
    "Row",
    "calibrate",
    "machine_lines",
    "noise_lines",
    "results_text",
    "table_lines",
]

_PACKAGES = ("torch", "onnxruntime", "onnx", "onnx-ir", "numpy", "pnnx")


@dataclasses.dataclass(frozen=True)
class Row:
    """One table row: a tool on a fixture (``None``: not measured)."""

    fixture: str
    tool: str
    convert_s: float | None = None
    peak_mib: float | None = None
    latency_ms: float | None = None
    p90_ms: float | None = None
    items_b1: float | None = None
    items_bn: float | None = None
    errors: str = ""
    status: str = "ok"


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Seconds of a fixed single-threaded Python workload, repeated."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        """Median seconds."""
        return statistics.median(self.samples)

    @property
    def cv(self) -> float:
        """Coefficient of variation."""
        return statistics.stdev(self.samples) / statistics.mean(self.samples)


def calibrate(repeats: int = 7) -> Calibration:
    """Time a fixed pure-Python loop ``repeats`` times (the machine's own speed and noise)."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        sum(i * i for i in range(400_000))
        samples.append(time.perf_counter() - start)
    return Calibration(tuple(samples))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> str:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return "unknown"
    return f"{pages / 2**30:.1f} GiB"


def _versions() -> str:
    found = []
    for name in _PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _commit(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def machine_lines(
    root: Path, load_before: Sequence[float], load_after: Sequence[float]
) -> list[str]:
    """Markdown bullet lines describing the machine and the software."""
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = "{:.2f} {:.2f} {:.2f}"
    return [
        f"- CPU: {_cpu_model()}, {cores} logical cores ({usable} usable), RAM {_ram_gib()}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; {_versions()}; jit2onnx at {_commit(root)}",
        f"- Load average (1, 5, 15 min): before {load.format(*load_before)}, "
        f"after {load.format(*load_after)}",
    ]


def _num(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or base <= 0:
        return "—"
    return f"{value / base:.2f}x"


def _cells(row: Row, base: Row | None) -> list[str]:
    ref = base if base is not None and row is not base else None
    return [
        row.fixture,
        row.tool,
        _num(row.convert_s, ".2f"),
        _ratio(row.convert_s, ref.convert_s) if ref else "",
        _num(row.peak_mib, ".0f"),
        _ratio(row.peak_mib, ref.peak_mib) if ref else "",
        f"{_num(row.latency_ms, '.3f')} / {_num(row.p90_ms, '.3f')}",
        _ratio(row.latency_ms, ref.latency_ms) if ref else "",
        _num(row.items_b1, ".0f"),
        _num(row.items_bn, ".0f"),
        row.errors or "—",
        row.status,
    ]


def table_lines(rows: Sequence[Row], batch: int) -> list[str]:
    """The markdown table; ratios are this row over the fixture's jit2onnx row."""
    header = [
        "fixture",
        "tool",
        "convert s",
        "x j2o",
        "peak MiB",
        "x j2o",
        "latency ms median / p90",
        "x j2o",
        "items/s b1",
        f"items/s b{batch}",
        "max abs err",
        "status",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base: Row | None = None
    for row in rows:
        if row.tool == "jit2onnx":
            base = row
        lines.append("| " + " | ".join(_cells(row, base)) + " |")
    return lines


_METHOD = [
    "- **Conversion**: each tool converts in a fresh Python process; for the Python tools that "
    "process first imports torch, and wall time and peak RSS are counted from there (the tool's "
    "own imports, loading the archive, writing the file). Memory = peak RSS (`VmHWM`) above that "
    "`import torch` baseline plus the peak RSS of any process the tool starts. jit2onnx is the "
    "library call `convert(...)` with "
    "`worker=WorkerOptions(isolate=False)` (in-process; the default worker adds one Python start "
    "and its own `import torch`), which validates the archive and optimizes the model as the "
    "command line does, with its default of one thread for its TorchScript runs; its modules are "
    "byte-compiled first, as installing its wheel does. torch.onnx is "
    "`torch.jit.load` then the legacy "
    "`torch.onnx.export(..., dynamo=False)`, same opset, dim 0 of each input dynamic. pnnx is its "
    "command-line converter, `inputshape`/`inputshape2` from the fixture (batch changed in the "
    "second), `fp16=0`, started from a process without torch; its figures are the whole `pnnx` "
    "process (start, its embedded libtorch, writing its ncnn files too). Its `*.pnnx.onnx` holds "
    "pnnx's own operators (`nn.Conv2d`, ...) and no ONNX opset, so ONNX Runtime cannot run it. "
    "Median over the repeats.",
    "- **Inference**: ONNX Runtime CPU (sequential, fixed intra-op threads, one inter-op thread) "
    "on each tool's ONNX file; TorchScript is `torch.jit.load` -> `eval` -> `torch.jit.freeze` -> "
    "`torch.jit.optimize_for_inference` with the same thread count. Latency is on the fixture's "
    "own input, in interleaved blocks (one per repeat) after warm-up: median and 90th "
    "percentile of all calls. Throughput = batch / median latency at batch 1 and the larger "
    "batch, where jit2onnx's model has a dynamic batch (fixture rows repeated).",
    "- **Parity**: max abs error of each output (comma-separated) against the archive run as "
    "loaded (`torch.jit.load(...).eval()`, no freezing), on the fixture's input.",
    "- **Ratios** (x j2o) are the row's value over the jit2onnx row of the same fixture: "
    "below 1 the peer is faster or smaller.",
]


def _percent(values: Sequence[float]) -> str:
    if not values:
        return "n/a (one repeat)"
    return f"median {statistics.median(values):.1%}, max {max(values):.1%} over {len(values)}"


def noise_lines(
    before: Calibration,
    after: Calibration,
    latency_cvs: Sequence[float],
    convert_cvs: Sequence[float],
) -> list[str]:
    """How noisy the machine was: a fixed workload before and after, and repeat spreads."""
    return [
        f"- Calibration (fixed pure-Python loop, {len(before.samples)} runs): before "
        f"{before.median * 1e3:.1f} ms (CV {before.cv:.1%}), after {after.median * 1e3:.1f} ms "
        f"(CV {after.cv:.1%}); after/before {after.median / before.median:.2f}",
        f"- CV of the per-block latency medians of one tool on one input: {_percent(latency_cvs)}",
        f"- CV of repeated conversion times: {_percent(convert_cvs)}",
    ]


def results_text(
    *,
    command: str,
    quick: bool,
    busy: str,
    table: Sequence[str],
    machine: Sequence[str],
    noise: Sequence[str],
    settings: str,
) -> str:
    """The whole of RESULTS.md."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# jit2onnx against its peers", ""]
    if quick:
        lines += ["> **Smoke run (`--quick`)**: few runs; these are not benchmark numbers.", ""]
    if busy:
        lines += [
            f"> **The machine was busy** ({busy}): times and ratios are not reliable. "
            "Multi-threaded TorchScript suffers most: its OpenMP threads wait at barriers for "
            "peers the scheduler has put aside.",
            "",
        ]
    lines += [f"`{command}` at {stamp}; {settings}.", "", *table, "", "## Machine", "", *machine]
    lines += ["", "## Noise", "", *noise, "", "## How it is measured", "", *_METHOD, ""]
    return "\n".join(lines)
