"""One conversion in a fresh process: wall time and peak RSS above the ``import torch`` baseline.

The parent calls ``measure(tool, ...)``, which starts ``python -m benchmarks.peers_convert TOOL
MODEL INPUTS OUTPUT OPSET``. That child imports torch, records its peak RSS (the baseline), then
starts the clock and runs the tool: its own imports, loading the archive and writing the file all
count. The result is one JSON line on standard output.

- ``jit2onnx``: ``converter.convert`` in-process (``WorkerOptions(isolate=False)``), so the figures
  are the conversion itself; the default worker process would add one Python start and its own
  ``import torch``.
- ``torch.onnx``: ``torch.jit.load`` then the legacy ``torch.onnx.export(..., dynamo=False)``,
  same opset, batch axis (dim 0 of each input) dynamic.
- ``pnnx``: the ``pnnx`` executable as a child process; its whole peak RSS counts (it embeds
  its own libtorch, so no Python baseline applies), as does the time to start it. It also
  writes its ncnn files.

Peak memory = the child's peak RSS (``VmHWM``) minus the baseline, plus the peak RSS of the
largest process it waited for. ``ru_maxrss`` of the process itself is not used: on Linux it
carries over the parent's high-water mark through fork and exec. For the same reason the pnnx
child does not import torch first: the pnnx process inherits its starter's high-water mark,
which must stay below its own. Only the standard library is imported at module level.
"""

from __future__ import annotations

import compileall
import dataclasses
import functools
import importlib.util
import json
import re
import resource
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TOOLS", "Conversion", "byte_compile", "error_head", "measure"]

TOOLS = ("jit2onnx", "torch.onnx", "pnnx")
ROOT = Path(__file__).resolve().parent.parent
_PNNX_TYPES = {
    "float32": "f32",
    "float64": "f64",
    "float16": "f16",
    "int64": "i64",
    "int32": "i32",
    "int16": "i16",
    "int8": "i8",
    "uint8": "u8",
}
# torch 2.13 warns "`torch.jit.load` is deprecated ..." on every call (as converter/_jit.py);
# the child does not import converter for torch.onnx, so it filters the same text itself.
_JIT_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"


@dataclasses.dataclass(frozen=True)
class Conversion:
    """One conversion run: success, wall seconds, peak bytes above the baseline, error head."""

    tool: str
    ok: bool
    seconds: float = 0.0
    peak_bytes: int = 0
    error: str = ""
    refused: bool = False


class _Refused(Exception):
    """jit2onnx refused the archive with a ConversionError (as opposed to crashing)."""


def error_head(text: str, limit: int = 110) -> str:
    """The informative first line of an error, without ONNX Runtime's source locations."""
    text = re.sub(r"\[ONNXRuntimeError\] : \d+ : \w+ : (Load model from \S+ failed:)?", "", text)
    text = re.sub(r"/onnxruntime_src/\S+ (\S+::)+\S+\(.*?\)(?= [A-Z])", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    head = " ".join(lines[0].split()) if lines else "(no message)"
    return head if len(head) <= limit else head[: limit - 3] + "..."


def byte_compile() -> None:
    """Byte-compile jit2onnx's own modules, as installing its wheel does.

    An editable install writes them on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set;
    then every conversion would compile about a hundred source files (0.1-0.3 s) that the
    peers, installed from wheels, never do.
    """
    for package in ("converter", "cli"):
        compileall.compile_dir(ROOT / package, quiet=1)


def measure(tool: str, model: Path, inputs: Path, output: Path, opset: int) -> Conversion:
    """Run one conversion by ``tool`` in a fresh Python process and return its figures."""
    cmd = [sys.executable, "-m", "benchmarks.peers_convert", tool]
    cmd += [str(model), str(inputs), str(output), str(opset)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        return Conversion(tool, ok=False, error="timed out after 1800 s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return Conversion(tool, ok=False, error=error_head(last[-1]))
    return Conversion(**json.loads(lines[-1]))


def _own_peak_bytes() -> int:
    """This process's peak RSS since its exec (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _load_arrays(inputs: Path) -> list[np.ndarray]:
    import numpy as np

    with np.load(inputs, allow_pickle=False) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _run_jit2onnx(model: Path, inputs: Path, output: Path, opset: int) -> None:
    from converter import ConversionError, ConvertOptions, WorkerOptions, convert

    try:
        convert(
            model,
            output,
            inputs,
            options=ConvertOptions(opset=opset),
            worker=WorkerOptions(isolate=False),
            overwrite=True,
        )
    except ConversionError as e:
        raise _Refused(str(e)) from e


def _run_legacy(model: Path, inputs: Path, output: Path, opset: int) -> None:
    import torch

    arrays = [torch.from_numpy(a) for a in _load_arrays(inputs)]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_DEPRECATION, category=DeprecationWarning)
        module = torch.jit.load(str(model)).eval()
    names = [f"input_{i}" for i in range(len(arrays))]
    axes = {n: {0: "batch"} for n, a in zip(names, arrays, strict=True) if a.dim() > 0}
    torch.onnx.export(
        module,
        tuple(arrays),
        str(output),
        dynamo=False,
        opset_version=opset,
        input_names=names,
        dynamic_axes=axes,
    )


def _pnnx_shapes(arrays: list[np.ndarray], batch: int | None) -> str:
    """pnnx's ``[d0,d1,...]f32,...`` syntax; ``batch`` replaces dim 0 when given."""
    parts = []
    for a in arrays:
        dims = list(a.shape)
        if batch is not None and dims:
            dims[0] = batch
        kind = _PNNX_TYPES.get(str(a.dtype))
        if kind is None:
            raise ValueError(f"pnnx takes no {a.dtype} inputs")
        parts.append(f"[{','.join(map(str, dims))}]{kind}")
    return ",".join(parts)


def _pnnx_command(model: Path, inputs: Path, output: Path) -> list[str]:
    spec = importlib.util.find_spec("pnnx")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("pnnx is not installed (pip install 'jit2onnx[bench]')")
    exe = Path(spec.origin).parent / "pnnx"
    arrays = _load_arrays(inputs)
    first = arrays[0].shape[0] if arrays and arrays[0].shape else 1
    base = output.parent / "model"
    cmd = [str(exe), str(model), f"inputshape={_pnnx_shapes(arrays, None)}"]
    cmd.append(f"inputshape2={_pnnx_shapes(arrays, 1 if first != 1 else 2)}")
    cmd += [f"pnnxparam={base}.pnnx.param", f"pnnxbin={base}.pnnx.bin", f"pnnxpy={base}_pnnx.py"]
    cmd += [f"ncnnparam={base}.ncnn.param", f"ncnnbin={base}.ncnn.bin", f"ncnnpy={base}_ncnn.py"]
    return [*cmd, f"pnnxonnx={output}", "fp16=0"]


def _prepare_pnnx(model: Path, inputs: Path, output: Path) -> list[str]:
    """Before the clock: a copy of the archive where pnnx may write beside it, and the command."""
    local = output.parent / "model.pt"  # pnnx writes side files next to its input
    shutil.copyfile(model, local)
    return _pnnx_command(local, inputs, output)


def _pnnx_error(stderr: str) -> str:
    """The line of pnnx's output that says what went wrong (not a C++ backtrace frame)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "what():" in line:
            return line.split("what():", 1)[1].strip()
    plain = [line for line in lines if not line.startswith(("frame #", "Exception raised from"))]
    return plain[-1] if plain else "(no output)"


def _run_pnnx(command: list[str], output: Path) -> None:
    done = subprocess.run(command, capture_output=True, text=True, cwd=output.parent)
    if done.returncode != 0:
        raise RuntimeError(f"pnnx exit {done.returncode}: {_pnnx_error(done.stderr)}")
    if not output.is_file():
        raise RuntimeError("pnnx wrote no ONNX file")


def _job(tool: str, model: Path, inputs: Path, output: Path, opset: int) -> Callable[[], None]:
    """The conversion to time; what only the benchmark needs happens here, before the clock."""
    if tool == "pnnx":
        command = _prepare_pnnx(model, inputs, output)
        return functools.partial(_run_pnnx, command, output)
    import torch  # noqa: F401  (the baseline of the Python tools)

    run = _run_jit2onnx if tool == "jit2onnx" else _run_legacy
    return functools.partial(run, model, inputs, output, opset)


def _child(tool: str, model: Path, inputs: Path, output: Path, opset: int) -> Conversion:
    """Inside the fresh process: the baseline, then one timed conversion."""
    output.parent.mkdir(parents=True, exist_ok=True)
    job = _job(tool, model, inputs, output, opset)
    baseline = _own_peak_bytes()
    start = time.perf_counter()
    error, refused = "", False
    try:
        job()
    except _Refused as e:
        error, refused = error_head(str(e)), True
    except Exception as e:
        error = error_head(f"{type(e).__name__}: {e}")
    seconds = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    peak = _own_peak_bytes() - baseline + children
    return Conversion(tool, not error, seconds, peak, error, refused)


if __name__ == "__main__":
    name, model_arg, inputs_arg, output_arg, opset_arg = sys.argv[1:6]
    result = _child(name, Path(model_arg), Path(inputs_arg), Path(output_arg), int(opset_arg))
    print(json.dumps(dataclasses.asdict(result)))
