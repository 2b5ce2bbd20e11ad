"""``optimize()``: the optimizer on a model object or file, with optional per-pass parity."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence

import numpy as np
import onnx
import onnx_ir as ir

from converter._io import write_onnx
from converter.errors import InputError, ModelLoadError, error_line
from converter.inputs import load_inputs
from converter.optimize.check import ParityChecker, feeds_for
from converter.optimize.levels import DEFAULT_LEVEL, OptimizeReport, optimize_model
from converter.runtime.model_file import check_onnx_file

__all__ = ["optimize"]

ModelLike = ir.Model | onnx.ModelProto | str | os.PathLike[str]


def _load(model: ModelLike) -> ir.Model:
    if isinstance(model, ir.Model):
        return model
    if isinstance(model, onnx.ModelProto):
        return ir.serde.deserialize_model(model)
    check_onnx_file(model)  # malformed files and escaping external data are refused first
    try:
        return ir.load(os.fspath(model))
    except Exception as e:
        raise ModelLoadError(f"{model}: not a readable ONNX model ({error_line(e)})") from e


Inputs = Sequence[np.ndarray] | Mapping[str, np.ndarray] | str | os.PathLike[str]


def _feeds(model: ir.Model, inputs: Inputs | None) -> dict[str, np.ndarray]:
    names = [v.name or "" for v in model.graph.inputs]
    if inputs is None:
        return feeds_for(model)
    if isinstance(inputs, str | os.PathLike):
        inputs = load_inputs(inputs, names)
    if isinstance(inputs, Mapping):
        return dict(inputs)
    if len(inputs) != len(names):
        raise InputError(f"the model takes {len(names)} input(s) but {len(inputs)} were given")
    return dict(zip(names, inputs, strict=True))


def optimize(
    model: ModelLike,
    level: int = DEFAULT_LEVEL,
    *,
    output: str | os.PathLike[str] | None = None,
    disabled_passes: Collection[str] = (),
    check_each_pass: bool = False,
    inputs: Inputs | None = None,
    reference: Sequence[np.ndarray] | None = None,
    onnxruntime_contrib: bool = False,
    float16: bool = False,
    overwrite: bool = False,
) -> tuple[ir.Model, OptimizeReport]:
    """Optimize a model (in place when given an ``ir.Model``); returns it and the report.

    With ``check_each_pass`` ONNX Runtime runs after every pass that changed the model, on
    ``inputs`` (arrays, or an .npz/.npy file; default: generated from the input types),
    against ``reference`` outputs (default: the model's own outputs before optimization);
    the first pass that breaks parity raises ParityError naming it. ``output`` writes the
    result atomically (``overwrite`` replaces an existing file). ``onnxruntime_contrib`` (off
    by default) adds ONNX Runtime's own fused operators: the output then runs only in ONNX
    Runtime. ``float16`` (off by default) converts weights and computation to float16 while
    inputs and outputs stay float32; parity checks then use float16 tolerances.
    """
    ir_model = _load(model)
    check = None
    if check_each_pass:
        feeds = _feeds(ir_model, inputs)
        check = (
            ParityChecker(feeds, reference)
            if reference is not None
            else ParityChecker.from_model(ir_model, feeds)
        )
        if reference is not None:
            check("export", ir_model)  # the unoptimized model must match first
    report = optimize_model(
        ir_model,
        level,
        disabled=disabled_passes,
        check=check,
        onnxruntime_contrib=onnxruntime_contrib,
        float16=float16,
    )
    if output is not None:
        write_onnx(ir_model, output, overwrite)
    return ir_model, report
