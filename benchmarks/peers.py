"""jit2onnx against its peers on every fixture, in one run: conversion, inference and parity.

Run from the repository root: ``python -m benchmarks.peers [--quick] [--fixtures a,b]``. It prints
one markdown table and writes it, with the machine description and a noise estimate, to
``benchmarks/RESULTS.md`` (``--out``). Peers are optional: ``pip install 'jit2onnx[bench]'``.
A script, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from benchmarks.peers_convert import TOOLS, Conversion, byte_compile, error_head, measure
from benchmarks.peers_infer import (
    Budget,
    Latency,
    Runner,
    batched,
    latency,
    max_abs_errors,
    ort_runner,
    reference_outputs,
    torchscript_runner,
)
from benchmarks.peers_report import (
    Row,
    calibrate,
    machine_lines,
    noise_lines,
    results_text,
    table_lines,
)
from converter._io import atomic_path
from converter.options import DEFAULT_OPSET

__all__ = ["Fixture", "main"]

ROOT = Path(__file__).resolve().parent.parent
TORCHSCRIPT = "TorchScript"
_MIB = 2**20


@dataclasses.dataclass(frozen=True)
class Fixture:
    """A fixture folder: ``model.zip`` and ``inputs.npz`` (``arr_0``, ``arr_1``, ...)."""

    folder: Path

    @property
    def name(self) -> str:
        """The folder name."""
        return self.folder.name

    @property
    def model(self) -> Path:
        """The TorchScript archive."""
        return self.folder / "model.zip"

    @property
    def inputs(self) -> Path:
        """The example inputs."""
        return self.folder / "inputs.npz"

    def arrays(self) -> list[np.ndarray]:
        """The example inputs in forward-argument order."""
        with np.load(self.inputs, allow_pickle=False) as data:
            return [data[f"arr_{i}"] for i in range(len(data.files))]


@dataclasses.dataclass
class Measured:
    """What one fixture gave: conversions per tool, then inference figures per tool."""

    conversions: dict[str, list[Conversion]]
    status: dict[str, str] = dataclasses.field(default_factory=dict)
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    latency: dict[str, Latency] = dataclasses.field(default_factory=dict)
    items: dict[tuple[str, int], float] = dataclasses.field(default_factory=dict)
    dynamic: list[bool] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Timing:
    """Timing settings shared by every inference measurement."""

    rounds: int
    budget: Budget
    batch: int
    threads: int


def discover(root: Path, names: str | None) -> list[Fixture]:
    """Fixture folders with model.zip and inputs.npz, all or the comma-separated ``names``."""
    found = {
        p.name: Fixture(p)
        for p in sorted(root.iterdir())
        if (p / "model.zip").is_file() and (p / "inputs.npz").is_file()
    }
    if names is None:
        return list(found.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    missing = [n for n in wanted if n not in found]
    if missing:
        sys.exit(f"{root}: no fixture named {', '.join(missing)} (have {', '.join(found)})")
    return [found[n] for n in wanted]


def _output(work: Path, fixture: Fixture, tool: str) -> Path:
    suffix = ".pnnx.onnx" if tool == "pnnx" else ".onnx"
    return work / fixture.name / tool / f"model{suffix}"


def convert_all(
    fixture: Fixture, work: Path, opset: int, repeat: int
) -> dict[str, list[Conversion]]:
    """``repeat`` fresh-process conversions per tool, interleaved; a failing tool runs once."""
    runs: dict[str, list[Conversion]] = {tool: [] for tool in TOOLS}
    for r in range(repeat):
        for tool in TOOLS:
            if r and not runs[tool][0].ok:
                continue
            result = measure(
                tool, fixture.model, fixture.inputs, _output(work, fixture, tool), opset
            )
            runs[tool].append(result)
            if tool == "jit2onnx" and not result.ok:
                return runs
    return runs


def _runners(fixture: Fixture, work: Path, m: Measured, threads: int) -> dict[str, Runner]:
    """A runner per tool whose output ONNX Runtime loads, plus optimized TorchScript."""
    runners: dict[str, Runner] = {}
    for tool, runs in m.conversions.items():
        if not runs or not runs[0].ok:
            m.status[tool] = f"convert failed: {runs[0].error}" if runs else "not run"
            continue
        try:
            runners[tool], dynamic = ort_runner(_output(work, fixture, tool), threads)
        except Exception as e:
            m.status[tool] = f"converted; ONNX Runtime cannot load it: {error_head(str(e))}"
            continue
        if tool == "jit2onnx":
            m.dynamic = dynamic
    try:
        runners[TORCHSCRIPT] = torchscript_runner(fixture.model)
    except Exception as e:
        m.status[TORCHSCRIPT] = f"optimize_for_inference failed: {error_head(str(e))}"
    return runners


def _check_parity(runners: dict[str, Runner], fixture: Fixture, m: Measured) -> None:
    """Max abs error per output against plain TorchScript; a runner that fails is dropped."""
    feeds = fixture.arrays()
    reference = reference_outputs(fixture.model, feeds)
    for tool, run in list(runners.items()):
        try:
            m.errors[tool] = max_abs_errors(run(feeds), reference)
        except Exception as e:
            m.status[tool] = f"run failed: {error_head(str(e))}"
            del runners[tool]


def _throughput(
    runners: dict[str, Runner], feeds: list[np.ndarray], size: int, m: Measured, timing: Timing
) -> None:
    """Items per second at batch ``size`` for each runner that takes that batch."""
    able = {}
    for tool, run in runners.items():
        try:
            run(feeds)
        except Exception as e:
            m.status[tool] = f"{m.status.get(tool, 'ok')}; batch {size} fails: {error_head(str(e))}"
            continue
        able[tool] = run
    for tool, lat in latency(able, feeds, timing.rounds, timing.budget).items():
        m.items[(tool, size)] = size / lat.median


def infer(fixture: Fixture, work: Path, m: Measured, timing: Timing) -> None:
    """Parity, latency on the fixture's input, and throughput at batch 1 and ``timing.batch``."""
    runners = _runners(fixture, work, m, timing.threads)
    _check_parity(runners, fixture, m)
    feeds = fixture.arrays()
    m.latency = latency(runners, feeds, timing.rounds, timing.budget)
    if not any(m.dynamic):
        return
    for size in (1, timing.batch):
        _throughput(runners, batched(feeds, m.dynamic, size), size, m, timing)


def _median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def fixture_rows(fixture: Fixture, m: Measured, batch: int) -> list[Row]:
    """The table rows of one fixture: jit2onnx, the peers, then TorchScript."""
    first = m.conversions["jit2onnx"][0]
    size = f"{fixture.name} ({fixture.model.stat().st_size / 1024:.0f} KiB)"
    if not first.ok:
        verb = "refused" if first.refused else "failed"
        reason = first.error.removeprefix(f"{fixture.model}: ")
        return [Row(size, "jit2onnx", status=f"jit2onnx {verb}: {reason}; peers skipped")]
    rows = []
    for tool in (*TOOLS, TORCHSCRIPT):
        ok = [c for c in m.conversions.get(tool, []) if c.ok]
        lat = m.latency.get(tool)
        rows.append(
            Row(
                fixture=size if tool == "jit2onnx" else fixture.name,
                tool=tool,
                convert_s=_median_or_none([c.seconds for c in ok]),
                peak_mib=_median_or_none([c.peak_bytes / _MIB for c in ok]),
                latency_ms=lat.median * 1e3 if lat else None,
                p90_ms=lat.p90 * 1e3 if lat else None,
                items_b1=m.items.get((tool, 1)),
                items_bn=m.items.get((tool, batch)),
                errors=m.errors.get(tool, ""),
                status=m.status.get(tool, "ok"),
            )
        )
    return rows


def _cv(values: Sequence[float]) -> float | None:
    if len(values) < 2 or statistics.mean(values) <= 0:
        return None
    return statistics.stdev(values) / statistics.mean(values)


def spreads(results: Sequence[Measured]) -> tuple[list[float], list[float]]:
    """CVs of repeated identical timings: latency blocks' medians, and conversion repeats."""
    lat = [x.cv for m in results for x in m.latency.values() if x.cv is not None]
    conv = [
        cv
        for m in results
        for runs in m.conversions.values()
        if (cv := _cv([c.seconds for c in runs if c.ok])) is not None
    ]
    return lat, conv


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", help="comma-separated fixture names (default: all)")
    parser.add_argument("--repeat", type=int, help="conversions per tool and latency rounds")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--batch", type=int, default=8, help="the larger batch (default 8)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke check")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 2 if args.quick else 5
    if args.repeat < 1 or args.threads < 1 or args.batch < 2:
        parser.error("--repeat and --threads must be >= 1, --batch >= 2")
    return args


def _timing(args: argparse.Namespace) -> Timing:
    if args.quick:
        budget = Budget(warmup=5, runs=5, seconds=0.1)
    else:
        budget = Budget(warmup=20, runs=30, seconds=1.0)
    return Timing(rounds=args.repeat, budget=budget, batch=args.batch, threads=args.threads)


def measure_all(fixtures: Sequence[Fixture], args: argparse.Namespace) -> list[Measured]:
    """Convert and then run every fixture; progress goes to standard error."""
    results = []
    with tempfile.TemporaryDirectory(prefix="jit2onnx-peers-") as tmp:
        for fixture in fixtures:
            print(f"{fixture.name}: converting", file=sys.stderr, flush=True)
            m = Measured(convert_all(fixture, Path(tmp), args.opset, args.repeat))
            if m.conversions["jit2onnx"][0].ok:
                print(f"{fixture.name}: running", file=sys.stderr, flush=True)
                infer(fixture, Path(tmp), m, _timing(args))
            results.append(m)
    return results


def _busy(load: float) -> str:
    """Why the machine counts as busy (load average above its usable cores), or ''."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"load average {load:.2f} on {cores} usable cores" if load > (cores or 1) else ""


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the table, write RESULTS.md."""
    args = _parse(argv)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    fixtures = discover(ROOT / "fixtures", args.fixtures)
    byte_compile()
    load_before, before = os.getloadavg(), calibrate()
    results = measure_all(fixtures, args)
    after, load_after = calibrate(), os.getloadavg()
    rows = [
        r for f, m in zip(fixtures, results, strict=True) for r in fixture_rows(f, m, args.batch)
    ]
    table = table_lines(rows, args.batch)
    print("\n".join(table))
    text = results_text(
        command=" ".join(["python -m benchmarks.peers", *(argv or sys.argv[1:])]),
        quick=args.quick,
        table=table,
        machine=machine_lines(ROOT, load_before, load_after),
        noise=noise_lines(before, after, *spreads(results)),
        settings=f"{args.threads} intra-op threads, {args.repeat} repeats, opset {args.opset}",
        busy=_busy(load_before[0]),
    )
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
