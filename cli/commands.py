"""The commands: parse options, build option objects, call the API, render."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import converter
from cli import params, render
from converter.frontend.findings import KINDS
from converter.options import (
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_OPSET,
    ArchiveLimits,
    ConvertOptions,
    Provider,
    Tolerance,
    VerifyOptions,
    WorkerOptions,
)
from converter.report import format_convert, format_description, format_inspect, format_verify
from converter.runtime.verify import VerifyReport
from converter.testdata import check_target

__all__ = ["convert", "inspect", "optimize", "run", "verify"]

_EXISTING = click.Path(exists=False, dir_okay=True, path_type=Path)


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--debug", is_flag=True, help="Show tracebacks for errors.")(fn)
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)


def _example_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--dtype", default="float32", show_default=True, help="dtype for --shape without one."
    )(fn)
    fn = click.option(
        "--shape",
        "shapes",
        type=params.SHAPE,
        multiple=True,
        help="Random example input of this shape, once per input in order (1x3x28x28[:float32]).",
    )(fn)
    return click.option(
        "--inputs",
        "inputs_file",
        type=_EXISTING,
        help="Example inputs: .npz (arr_0, arr_1, ... or input names) or .npy.",
    )(fn)


def _provider_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--device-id", default=0, show_default=True, help="CUDA device.")(fn)
    return click.option(
        "--provider",
        type=click.Choice(["cpu", "cuda"], case_sensitive=False),
        default="cpu",
        show_default=True,
        help="ONNX Runtime execution provider.",
    )(fn)


def _test_data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--force",
        is_flag=True,
        help="Replace existing outputs (a file, a non-empty --emit-test-data directory).",
    )(fn)
    return click.option(
        "--emit-test-data",
        "test_data",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="On parity, write DIR/model.onnx and DIR/test_data_set_N/{input,output}_K.pb.",
    )(fn)


def _limit_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    defaults = ArchiveLimits()
    fn = click.option(
        "--in-process",
        is_flag=True,
        help="Load and run the archive in this process (trusted archives only).",
    )(fn)
    fn = click.option(
        "--max-memory-bytes",
        type=click.IntRange(min=0),
        help="Address-space limit of the worker running the archive [default: physical memory; "
        "0: none].",
    )(fn)
    fn = click.option(
        "--threads",
        type=click.IntRange(min=0),
        default=WorkerOptions().threads,
        show_default=True,
        help="Intra-op threads of TorchScript and ONNX Runtime in the reference and parity runs "
        "(0: one per core).",
    )(fn)
    fn = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=WorkerOptions().timeout,
        show_default=True,
        help="Seconds the worker running the archive may take.",
    )(fn)
    fn = click.option(
        "--max-tensor-bytes",
        type=click.IntRange(min=0),
        default=defaults.max_tensor_bytes,
        show_default=True,
        help="Refuse an archive holding a larger tensor.",
    )(fn)
    return click.option(
        "--max-archive-bytes",
        type=click.IntRange(min=0),
        default=defaults.max_archive_bytes,
        show_default=True,
        help="Refuse an archive that unpacks to more bytes.",
    )(fn)


def _limits(max_archive_bytes: int, max_tensor_bytes: int) -> ArchiveLimits:
    return ArchiveLimits(max_archive_bytes=max_archive_bytes, max_tensor_bytes=max_tensor_bytes)


def _worker(
    in_process: bool, timeout: float, max_memory_bytes: int | None, threads: int
) -> WorkerOptions:
    return WorkerOptions(
        isolate=not in_process, timeout=timeout, max_memory_bytes=max_memory_bytes, threads=threads
    )


def _optimize_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--float16",
        is_flag=True,
        help="Compute in float16 (weights too); inputs and outputs stay float32. Parity is "
        "checked at float16 tolerances (rtol = atol = 1e-2).",
    )(fn)
    fn = click.option(
        "--onnxruntime-contrib-ops",
        "onnxruntime_contrib",
        is_flag=True,
        help="Also fuse into ONNX Runtime's own operators (the file then runs only there).",
    )(fn)
    fn = click.option(
        "--check-each-pass",
        is_flag=True,
        help="Run ONNX Runtime after every pass and name the first that breaks parity.",
    )(fn)
    return click.option(
        "--disable-pass",
        "disabled_passes",
        multiple=True,
        metavar="NAME",
        help="Skip this optimizer pass (repeatable; names as in --report).",
    )(fn)


def _examples(inputs_file: Path | None, shapes: tuple[Any, ...], dtype: str) -> dict[str, Any]:
    if inputs_file is not None and shapes:
        raise click.UsageError("give either --inputs or --shape, not both")
    if inputs_file is None and not shapes:
        raise click.UsageError("example inputs are needed: pass --inputs FILE.npz or --shape")
    return {"example_inputs": inputs_file, "input_specs": params.input_specs(shapes, dtype)}


@click.command()
@click.argument("model", type=_EXISTING)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="ONNX file.")
@_example_options
@click.option(
    "--opset",
    type=click.IntRange(MIN_OPSET, MAX_OPSET),
    default=DEFAULT_OPSET,
    show_default=True,
)
@click.option("--static", is_flag=True, help="Keep input dim 0 static (it is symbolic by default).")
@click.option(
    "--dynamic",
    "dynamic",
    type=params.DYNAMIC,
    multiple=True,
    help="Make more input dims symbolic: INPUT:DIM[,DIM] (name or 0-based position).",
)
@click.option(
    "--allow-findings",
    "allow_findings",
    default="",
    metavar="KIND,...",
    help="Convert despite error findings of these kinds (see `inspect`).",
)
@click.option(
    "--optimize-level",
    type=click.IntRange(0, 2),
    default=2,
    show_default=True,
    help="0: no optimization; 1: fold and remove no-ops; 2: also fuse.",
)
@_optimize_options
@click.option("--report", "show_report", is_flag=True, help="Show what each pass changed.")
@click.option("--verify", "and_verify", is_flag=True, help="Check parity after converting.")
@_test_data_options
@_provider_options
@_limit_options
@_common
def convert(
    model: Path,
    output: Path,
    inputs_file: Path | None,
    shapes: tuple[Any, ...],
    dtype: str,
    opset: int,
    static: bool,
    dynamic: tuple[tuple[str | int, tuple[int, ...]], ...],
    allow_findings: str,
    optimize_level: int,
    check_each_pass: bool,
    disabled_passes: tuple[str, ...],
    onnxruntime_contrib: bool,
    float16: bool,
    show_report: bool,
    and_verify: bool,
    test_data: Path | None,
    force: bool,
    provider: str,
    device_id: int,
    max_archive_bytes: int,
    max_tensor_bytes: int,
    timeout: float,
    threads: int,
    max_memory_bytes: int | None,
    in_process: bool,
    as_json: bool,
    debug: bool,
) -> None:
    """Convert a TorchScript archive MODEL to ONNX, optimized (level 2 by default).

    --emit-test-data implies --verify.
    """
    limits = _limits(max_archive_bytes, max_tensor_bytes)
    worker = _worker(in_process, timeout, max_memory_bytes, threads)
    examples = _examples(inputs_file, shapes, dtype)
    dims: dict[str | int, tuple[int, ...]] = {}
    for key, ds in dynamic:
        dims[key] = dims.get(key, ()) + ds
    allowed = frozenset(k.strip() for k in allow_findings.split(",") if k.strip())
    unknown = sorted(allowed - set(KINDS))
    if unknown:
        raise click.BadParameter(
            f"unknown kind(s) {', '.join(unknown)}; kinds are {', '.join(KINDS)}",
            param_hint="--allow-findings",
        )
    options = ConvertOptions(
        opset=opset,
        dynamic_batch=not static,
        dynamic_dims=dims,
        allow_findings=allowed,
        optimize_level=optimize_level,
        disabled_passes=frozenset(disabled_passes),
        check_each_pass=check_each_pass,
        onnxruntime_contrib=onnxruntime_contrib,
        float16=float16,
    )
    with render.handle_errors(debug):
        if test_data is not None:
            check_target(test_data, force)  # refuse before converting, not after
        verification = None
        if and_verify or test_data is not None:
            verification = VerifyOptions(provider=provider.lower(), device_id=device_id)  # type: ignore[arg-type]
        result = converter.convert(
            model,
            output,
            options=options,
            limits=limits,
            overwrite=force,
            verification=verification,
            emit_test_data=test_data,
            worker=worker,
            **examples,
        )
        report = result.verification
        if as_json:
            data: dict[str, Any] = {"convert": result.to_dict()}
            if report is not None:
                data["verify"] = report.to_dict()
            render.emit_json(data)
        else:
            render.emit(format_convert(result))
            if show_report and result.optimization is not None:
                render.emit(result.optimization.render())
            if report is not None:
                render.emit(format_verify(report))
            _emit_test_data_line(test_data, report)
        if report is not None:
            report.raise_for_failure()


@click.command()
@click.argument("model", type=_EXISTING)
@click.argument("onnx_model", type=_EXISTING)
@_example_options
@click.option("--rtol", type=float, help="Relative tolerance (default: by output dtype).")
@click.option("--atol", type=float, help="Absolute tolerance (default: by output dtype).")
@_test_data_options
@_provider_options
@_limit_options
@_common
def verify(
    model: Path,
    onnx_model: Path,
    inputs_file: Path | None,
    shapes: tuple[Any, ...],
    dtype: str,
    rtol: float | None,
    atol: float | None,
    test_data: Path | None,
    force: bool,
    provider: str,
    device_id: int,
    max_archive_bytes: int,
    max_tensor_bytes: int,
    timeout: float,
    threads: int,
    max_memory_bytes: int | None,
    in_process: bool,
    as_json: bool,
    debug: bool,
) -> None:
    """Check that ONNX_MODEL computes what the TorchScript archive MODEL computes."""
    examples = _examples(inputs_file, shapes, dtype)
    if (rtol is None) != (atol is None):
        raise click.UsageError("give both --rtol and --atol, or neither")
    tolerance = None if rtol is None or atol is None else Tolerance(rtol=rtol, atol=atol)
    options = VerifyOptions(provider=provider.lower(), device_id=device_id, tolerance=tolerance)  # type: ignore[arg-type]
    with render.handle_errors(debug):
        report = converter.verify(
            model,
            onnx_model,
            options=options,
            emit_test_data=test_data,
            force=force,
            limits=_limits(max_archive_bytes, max_tensor_bytes),
            worker=_worker(in_process, timeout, max_memory_bytes, threads),
            **examples,
        )
        if as_json:
            render.emit_json(report.to_dict())
        else:
            render.emit(format_verify(report))
            _emit_test_data_line(test_data, report)
        report.raise_for_failure()


def _emit_test_data_line(test_data: Path | None, report: VerifyReport | None) -> None:
    if test_data is not None and report is not None and report.ok:
        render.emit(f"wrote {test_data} ({len(report.cases)} test data sets)")


@click.command()
@click.argument("onnx_model", type=_EXISTING)
@click.option("--inputs", "inputs_file", type=_EXISTING, required=True, help=".npz or .npy inputs.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write outputs to .npz.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@_provider_options
@_common
def run(
    onnx_model: Path,
    inputs_file: Path,
    output: Path | None,
    force: bool,
    provider: str,
    device_id: int,
    as_json: bool,
    debug: bool,
) -> None:
    """Run ONNX_MODEL in ONNX Runtime on the inputs of an .npz/.npy file."""
    with render.handle_errors(debug):
        chosen: Provider = "cuda" if provider.lower() == "cuda" else "cpu"
        outputs = converter.run(onnx_model, inputs_file, provider=chosen, device_id=device_id)
        if output is not None:
            converter.save_outputs(output, outputs, overwrite=force)
        summary = converter.summarize_outputs(outputs)
        if as_json:
            render.emit_json({"outputs": summary, "saved_to": str(output) if output else None})
        else:
            for item in summary:
                render.emit(
                    f"{item['name']}: {item['dtype']}{item['shape']} "
                    f"min {item['min']:.6g} max {item['max']:.6g} mean {item['mean']:.6g}"
                )
            if output is not None:
                render.emit(f"wrote {output}")


@click.command()
@click.argument("model", type=_EXISTING)
@_example_options
@click.option(
    "--opset", type=click.IntRange(MIN_OPSET, MAX_OPSET), default=DEFAULT_OPSET, show_default=True
)
@_limit_options
@_common
def inspect(
    model: Path,
    inputs_file: Path | None,
    shapes: tuple[Any, ...],
    dtype: str,
    opset: int,
    max_archive_bytes: int,
    max_tensor_bytes: int,
    timeout: float,
    threads: int,
    max_memory_bytes: int | None,
    in_process: bool,
    as_json: bool,
    debug: bool,
) -> None:
    """Show an archive's inputs, operators, unsupported operators and trace findings.

    With example inputs (--inputs or --shape) the module is also probed: run on other values
    and at other batch sizes to find outputs that never change or shapes baked in.

    Given an ONNX file (.onnx, or another file that parses as an ONNX model), show its inputs,
    outputs, parity tolerances and the metadata convert recorded in it.
    """
    if inputs_file is not None and shapes:
        raise click.UsageError("give either --inputs or --shape, not both")
    specs = params.input_specs(shapes, dtype)
    with render.handle_errors(debug):
        if converter.is_onnx_file(model):
            if inputs_file is not None or shapes:
                raise click.UsageError("--inputs and --shape apply to TorchScript archives only")
            desc = converter.describe(model)
            render.emit_json(desc.to_dict()) if as_json else render.emit(format_description(desc))
            return
        report = converter.inspect(
            model,
            inputs_file,
            input_specs=specs,
            opset=opset,
            limits=_limits(max_archive_bytes, max_tensor_bytes),
            worker=_worker(in_process, timeout, max_memory_bytes, threads),
        )
        render.emit_json(report.to_dict()) if as_json else render.emit(format_inspect(report))


@click.command()
@click.argument("onnx_model", type=_EXISTING)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="ONNX file.")
@click.option(
    "--level",
    type=click.IntRange(0, 2),
    default=2,
    show_default=True,
    help="0: no change; 1: fold and remove no-ops; 2: also fuse.",
)
@click.option(
    "--inputs",
    "inputs_file",
    type=_EXISTING,
    help="Inputs for --check-each-pass (.npz/.npy); default: generated from the input types.",
)
@_optimize_options
@click.option("--report", "show_report", is_flag=True, help="Show what each pass changed.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@_common
def optimize(
    onnx_model: Path,
    output: Path,
    level: int,
    inputs_file: Path | None,
    check_each_pass: bool,
    disabled_passes: tuple[str, ...],
    onnxruntime_contrib: bool,
    float16: bool,
    show_report: bool,
    force: bool,
    as_json: bool,
    debug: bool,
) -> None:
    """Optimize ONNX_MODEL: fold constants, remove no-ops, fuse into standard operators."""
    with render.handle_errors(debug):
        _, report = converter.optimize(
            onnx_model,
            level,
            output=output,
            disabled_passes=frozenset(disabled_passes),
            check_each_pass=check_each_pass,
            inputs=inputs_file,
            onnxruntime_contrib=onnxruntime_contrib,
            float16=float16,
            overwrite=force,
        )
        if as_json:
            render.emit_json({"output": str(output), **report.to_dict()})
        else:
            render.emit(
                f"wrote {output} ({report.nodes_before} -> {report.nodes_after} nodes, "
                f"{report.seconds:.2f} s)"
            )
            if show_report:
                render.emit(report.render())
