"""Optimizer benchmark: jit2onnx's optimizer against onnxsim and onnxslim on the fixtures.

For each fixture: node count and file size of the unoptimized export and of each optimizer's
output, optimization time, ONNX Runtime CPU latency with all graph optimizations disabled and
enabled, and TorchScript latency on the same input. Prints a markdown table, then which of the
targets hold. Needs the ``bench`` extra (onnxsim, onnxslim). Single-threaded; each latency is
the best median over five rounds that take turns, for stable numbers on a busy machine.

    python benchmarks/optimize.py [--seconds 0.5] [--only convnet,bert_encoder:18]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from converter import ConvertOptions, convert, optimize
from converter._jit import quiet_jit

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# (fixture, opset, extra symbolic dims)
MODELS: list[tuple[str, int, dict[str | int, tuple[int, ...]]]] = [
    ("convnet", 18, {}),
    ("resnet_block", 18, {}),
    ("mobilenet", 18, {}),
    ("unet", 18, {}),
    ("lstm", 18, {0: (1,)}),
    ("bert_encoder", 18, {0: (1,)}),
    ("bert_encoder", 23, {0: (1,)}),
    ("gpt_decoder", 18, {0: (1,)}),
    ("gpt_decoder", 23, {0: (1,)}),
]
Optimizer = Callable[[onnx.ModelProto], onnx.ModelProto]


def _jit2onnx(model: onnx.ModelProto) -> onnx.ModelProto:
    optimized, _ = optimize(model, 2)
    import onnx_ir as ir

    return ir.serde.serialize_model(optimized)


def _onnxsim(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnxsim

    with contextlib.redirect_stdout(io.StringIO()):
        simplified, ok = onnxsim.simplify(model)
    if not ok:
        raise RuntimeError("onnxsim's own check failed")
    return simplified


def _onnxslim(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnxslim

    with contextlib.redirect_stdout(io.StringIO()):
        return onnxslim.slim(model)


OPTIMIZERS: dict[str, Optimizer] = {
    "jit2onnx": _jit2onnx,
    "onnxsim": _onnxsim,
    "onnxslim": _onnxslim,
}


def _median_ms(run: Callable[[], object], seconds: float) -> float:
    run()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 5 or (time.perf_counter() < deadline and len(times) < 500):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _interleaved(
    runs: dict[str, Callable[[], object]], seconds: float, rounds: int
) -> dict[str, float]:
    """Each run's best median over rounds that take turns (the machine's load drifts)."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for key, run in runs.items():
            best[key] = min(best[key], _median_ms(run, seconds / rounds))
    return best


def _ort_run(path: Path, feeds: dict[str, np.ndarray], level: str) -> Callable[[], object]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, feeds)


def _torchscript_run(name: str, arrays: list[np.ndarray]) -> Callable[[], object]:
    torch.set_num_threads(1)
    with quiet_jit():
        module = torch.jit.load(str(FIXTURES / name / "model.zip"))
    module.eval()
    tensors = [torch.from_numpy(a) for a in arrays]

    def run() -> object:
        with torch.no_grad():
            return module(*tensors)

    return run


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def bench(
    name: str, opset: int, dims: dict[str | int, tuple[int, ...]], seconds: float, tmp: Path
) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Rows of one model, and (nodes, bytes) per pipeline for the target check."""
    folder = FIXTURES / name
    with np.load(folder / "inputs.npz") as data:
        arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
    export = tmp / f"{name}{opset}.onnx"
    options = ConvertOptions(opset=opset, dynamic_dims=dims, optimize_level=0)
    convert(folder / "model.zip", export, folder / "inputs.npz", options=options)
    base = onnx.load(export)
    feeds = {i.name: a for i, a in zip(base.graph.input, arrays, strict=True)}
    files: dict[str, tuple[Path, float | None]] = {"export": (export, None)}
    rows, sizes = [], {}
    for label, fn in OPTIMIZERS.items():
        start = time.perf_counter()
        try:
            out = fn(onnx.load(export))
        except Exception as e:  # a peer that cannot handle the model is reported, not fatal
            why = f"failed: {str(e).splitlines()[0][:50]}"
            rows.append(_row([f"{name} ({opset})", label, why, *[""] * 7]))
            continue
        path = tmp / f"{name}{opset}.{label}.onnx"
        onnx.save(out, path)
        files[label] = (path, time.perf_counter() - start)
    runs = {"torchscript": _torchscript_run(name, arrays)}
    for label, (path, _) in files.items():
        for level in ("ORT_DISABLE_ALL", "ORT_ENABLE_ALL"):
            runs[f"{label}/{level}"] = _ort_run(path, feeds, level)
    ms = _interleaved(runs, seconds * len(runs), rounds=5)
    ts_ms = ms["torchscript"]
    for label, (path, opt_s) in files.items():
        model = onnx.load(path)
        nodes, size = len(model.graph.node), path.stat().st_size
        sizes[label] = (nodes, size)
        off, on = ms[f"{label}/ORT_DISABLE_ALL"], ms[f"{label}/ORT_ENABLE_ALL"]
        ops = sorted(
            {n.op_type for n in model.graph.node} & {"Attention", "Gelu", "LayerNormalization"}
        )
        rows.append(
            _row(
                [
                    f"{name} ({opset})",
                    label,
                    nodes,
                    f"{size / 1024:.1f}",
                    "" if opt_s is None else f"{opt_s:.2f}",
                    f"{off:.3f}",
                    f"{on:.3f}",
                    f"{ts_ms:.3f}" if label == "export" else "",
                    f"{on / ts_ms:.2f}x",
                    ", ".join(ops),
                ]
            )
        )
    return rows, sizes


def _names() -> list[str]:
    return list(dict.fromkeys(f"{name}:{opset}" for name, opset, _ in MODELS))


def main() -> None:
    """Print the table and the target check."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5, help="timing budget per run")
    parser.add_argument(
        "--only",
        default="",
        metavar="NAME[:OPSET],...",
        help="only these fixtures (all opsets of a name without :OPSET)",
    )
    args = parser.parse_args()
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    models = [m for m in MODELS if not wanted or {m[0], f"{m[0]}:{m[1]}"} & wanted]
    if not models:
        parser.error(f"--only {args.only}: no such fixture; fixtures: {', '.join(_names())}")
    print(
        _row(
            [
                "model (opset)",
                "pipeline",
                "nodes",
                "KiB",
                "optimize s",
                "ORT_DISABLE_ALL ms",
                "ORT_ENABLE_ALL ms",
                "TorchScript ms",
                "ENABLE_ALL / TorchScript",
                "fused ops",
            ]
        )
    )
    print(_row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"]))
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, opset, dims in models:
            rows, sizes = bench(name, opset, dims, args.seconds, Path(tmp))
            print("\n".join(rows), flush=True)
            peers = [sizes[p][0] for p in ("onnxsim", "onnxslim") if p in sizes]
            ours = sizes["jit2onnx"]
            checks.append(
                (
                    f"{name} ({opset})",
                    ours[0],
                    min(peers) if peers else None,
                    ours[1] <= sizes["export"][1],
                )
            )
    print()
    for label, nodes, best, smaller in checks:
        verdict = "ok" if best is None or nodes <= best else "MISSED"
        print(
            f"- {label}: nodes {nodes} vs best peer {best}: {verdict}; "
            f"file not larger than the export: {'ok' if smaller else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
