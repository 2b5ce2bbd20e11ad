"""Load a TorchScript archive into one flat, frozen, eval-mode graph."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from converter._jit import quiet_jit
from converter.errors import ModelLoadError, error_line
from converter.frontend.archive import ArchiveInfo, scan_archive
from converter.frontend.layout import Layout, default_layout
from converter.options import ArchiveLimits

__all__ = ["TorchScriptModel", "flatten_outputs", "load"]

_MEANINGLESS_NAME = re.compile(r"^(\d+|argument_\d+|args?|self)$")


@dataclasses.dataclass(frozen=True)
class TorchScriptModel:
    """A loaded archive: the eval-mode module (the reference) and its flat forward graph."""

    path: Path
    archive: ArchiveInfo
    module: torch.jit.ScriptModule
    graph: torch._C.Graph
    arg_names: tuple[str, ...]
    notes: tuple[str, ...]
    layout: Layout
    # The latest feeds and their outputs: the reference check, the probes' base run and the
    # first parity case all run the same example arrays, which then run once.
    _latest: list[tuple[np.ndarray, ...]] = dataclasses.field(
        default_factory=list, init=False, repr=False, compare=False
    )

    @property
    def input_names(self) -> tuple[str, ...]:
        """The flat input names (containers become one input per item)."""
        return self.layout.flat_names

    def schema_args(self) -> list[torch._C.Argument]:
        """The forward's arguments, self left out."""
        return list(self.module.forward.schema.arguments[1:])  # type: ignore[attr-defined]

    def with_layout(self, layout: Layout) -> TorchScriptModel:
        """The same model with its arguments laid out as ``layout`` says."""
        return dataclasses.replace(self, layout=layout)

    def run(self, *inputs: object) -> object:
        """Run the original (unfrozen) module in eval mode on CPU, as libtorch would.

        TorchScript's default graph executor, not ``optimized_execution(False)``: without its
        passes a traced ``int_tensor * 0.5`` gives float64, where libtorch and R give float32.
        """
        with torch.no_grad(), quiet_jit():
            return self.module(*inputs)

    def run_arrays(self, feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run on flat numpy inputs; outputs flattened to numpy arrays in order.

        Called again with the very same array objects, it returns the outputs it kept.
        """
        if self._latest and _same_arrays(self._latest[0], feeds):
            return list(self._latest[1])
        args = self.layout.rebuild([torch.from_numpy(np.array(a)) for a in feeds])
        outputs = flatten_outputs(self.run(*args))
        self._latest[:] = [tuple(feeds), tuple(outputs)]
        return outputs

    def raw_graph(self) -> torch._C.Graph:
        """The unfrozen forward graph with calls inlined (source ranges intact)."""
        graph: torch._C.Graph = self.module.graph.copy()
        torch._C._jit_pass_inline(graph)
        return graph


def _same_arrays(kept: Sequence[np.ndarray], feeds: Sequence[np.ndarray]) -> bool:
    return len(kept) == len(feeds) and all(a is b for a, b in zip(kept, feeds, strict=True))


def flatten_outputs(result: object) -> list[np.ndarray]:
    """TorchScript outputs (tensors, numbers, nested tuples/lists/dicts) as numpy arrays."""
    if isinstance(result, torch.Tensor):
        if result.is_quantized:  # numpy has no quantized dtypes (the translator refuses these)
            result = result.dequantize()
        return [result.detach().cpu().numpy()]
    if isinstance(result, tuple | list):
        return [a for item in result for a in flatten_outputs(item)]
    if isinstance(result, dict):
        return [a for item in result.values() for a in flatten_outputs(item)]
    if isinstance(result, bool | int | float):
        return [np.asarray(result)]
    raise TypeError(f"cannot compare an output of type {type(result).__name__}")


def load(path: str | os.PathLike[str], limits: ArchiveLimits | None = None) -> TorchScriptModel:
    """Pre-scan and load an archive; freeze and inline its forward into one graph."""
    info = scan_archive(path, limits)
    p = info.path
    try:
        with quiet_jit():
            module = torch.jit.load(str(p), map_location="cpu")  # type: ignore[no-untyped-call]
    except Exception as e:  # torch raises RuntimeError and others for unreadable archives
        first = error_line(e)
        raise ModelLoadError(f"{p}: torch.jit.load failed: {first}") from e
    notes: list[str] = []
    if _has_method(module, "evalforward") and _has_method(module, "trainforward"):
        notes.append(
            "R torch archive: exported the eval branch (evalforward); "
            f"the archive was saved with training={module.training}"
        )
    if type(module).__name__ == "PlaceholderModule" or module.original_name == "PlaceholderModule":
        notes.append("function archive: exported the function wrapped in PlaceholderModule")
    module.eval()
    graph = _flat_graph(p, module)
    names = _input_names(graph)
    layout = default_layout(list(module.forward.schema.arguments[1:]), names)
    return TorchScriptModel(p, info, module, graph, names, tuple(notes), layout)


def _has_method(module: torch.jit.ScriptModule, name: str) -> bool:
    return bool(module._c._has_method(name))


def _flat_graph(p: Path, module: torch.jit.ScriptModule) -> torch._C.Graph:
    if not _has_method(module, "forward"):
        raise ModelLoadError(f"{p}: the archive has no forward method to export")
    try:
        with quiet_jit():
            # No numeric rewrites (conv-bn folding would also fold BatchNorm traced in
            # training mode): the graph stays what the archive computes.
            frozen = torch.jit.freeze(module, optimize_numerics=False)
        graph: torch._C.Graph = frozen.graph.copy()
    except Exception as e:
        first = error_line(e)
        raise ModelLoadError(f"{p}: cannot freeze the module for export: {first}") from e
    torch._C._jit_pass_inline(graph)
    torch._C._jit_pass_remove_mutation(graph)
    torch._C._jit_pass_constant_propagation(graph)
    torch._C._jit_pass_dce(graph)
    return graph


def _input_names(graph: torch._C.Graph) -> tuple[str, ...]:
    values = [v for v in graph.inputs() if not _is_module(v)]
    names: list[str] = []
    for i, value in enumerate(values):
        name = value.debugName().split(".")[0]
        if _MEANINGLESS_NAME.match(name) or not name.isidentifier() or name in names:
            names.append(f"input_{i}")
        else:
            names.append(name)
    return tuple(names)


def _is_module(value: torch._C.Value) -> bool:
    return isinstance(value.type(), torch._C.ClassType)
