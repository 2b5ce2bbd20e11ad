"""How forward arguments (tensors, numbers, tuples, lists, dicts, defaults) map to flat inputs.

ONNX inputs are flat tensors. A tuple or list argument ``pair`` becomes ``pair_0``, ``pair_1``;
a dict argument ``d`` becomes ``d_<key>`` per key; a number becomes a 0-d tensor; an argument
left out that has a default (``bias: Optional[Tensor] = None``) is fixed to that default.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch

__all__ = ["ArgLayout", "Layout", "LayoutError", "default_layout", "layout_for_examples"]

Kind = Literal["tensor", "scalar", "tuple", "list", "dict", "default"]


class LayoutError(ValueError):
    """Examples that do not fit the forward's arguments."""


@dataclasses.dataclass(frozen=True)
class ArgLayout:
    """One forward argument: its name, how it is given, and its keys when it is a container."""

    name: str
    kind: Kind
    keys: tuple[int | str, ...] = ()
    default: object = None

    def flat_names(self) -> list[str]:
        """The ONNX input names this argument becomes."""
        if self.kind in ("tensor", "scalar"):
            return [self.name]
        if self.kind == "default":
            return []
        return [f"{self.name}_{_safe(k)}" for k in self.keys]


@dataclasses.dataclass(frozen=True)
class Layout:
    """All forward arguments, in order."""

    args: tuple[ArgLayout, ...]

    @property
    def flat_names(self) -> tuple[str, ...]:
        """Every ONNX input name, in order."""
        return tuple(n for a in self.args for n in a.flat_names())

    def flatten(self, values: Sequence[object]) -> list[object]:
        """Nested example values -> flat leaves, in ``flat_names`` order."""
        flat: list[object] = []
        for arg, value in zip(self.args, values, strict=False):
            if arg.kind in ("tensor", "scalar"):
                flat.append(value)
            elif arg.kind == "dict":
                flat += [value[k] for k in arg.keys]  # type: ignore[index]
            elif arg.kind in ("tuple", "list"):
                flat += list(value)  # type: ignore[call-overload]
        return flat

    def rebuild(self, flat: Sequence[torch.Tensor]) -> list[object]:
        """Flat tensors -> the forward's arguments."""
        args: list[object] = []
        it = iter(flat)
        for arg in self.args:
            if arg.kind == "tensor":
                args.append(next(it))
            elif arg.kind == "scalar":
                args.append(next(it).item())
            elif arg.kind == "default":
                args.append(arg.default)
            else:
                items = [next(it) for _ in arg.keys]
                if arg.kind == "tuple":
                    args.append(tuple(items))
                elif arg.kind == "list":
                    args.append(items)
                else:
                    args.append(dict(zip(arg.keys, items, strict=True)))
        return args


def default_layout(schema_args: Sequence[torch._C.Argument], names: Sequence[str]) -> Layout:
    """The layout when inputs come as flat arrays: containers must be tuples of tensors."""
    args = []
    for arg, name in zip(schema_args, names, strict=True):
        kind = type(arg.type).__name__
        if kind == "TupleType":
            elements = arg.type.elements()  # type: ignore[attr-defined]
            args.append(ArgLayout(name, "tuple", tuple(range(len(elements)))))
        elif kind in ("IntType", "FloatType", "BoolType", "NumberType"):
            args.append(ArgLayout(name, "scalar"))
        else:
            args.append(ArgLayout(name, "tensor"))
    return Layout(tuple(args))


def layout_for_examples(
    schema_args: Sequence[torch._C.Argument], names: Sequence[str], examples: Sequence[object]
) -> Layout:
    """The layout that nested Python examples (tensors, numbers, tuples, lists, dicts) imply."""
    if len(examples) > len(schema_args):
        raise LayoutError(
            f"the model takes {len(schema_args)} input(s) ({', '.join(names)}) "
            f"but {len(examples)} were given"
        )
    args = []
    for i, (arg, name) in enumerate(zip(schema_args, names, strict=True)):
        if i >= len(examples):
            if not arg.has_default_value():
                raise LayoutError(f"no example for argument {arg.name!r}, which has no default")
            args.append(ArgLayout(name, "default", default=arg.default_value))
            continue
        args.append(_arg_layout(name, examples[i]))
    return Layout(tuple(args))


def _arg_layout(name: str, value: object) -> ArgLayout:
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise LayoutError(f"argument {name!r}: dict keys must be strings")
        _check_leaves(name, list(value.values()))
        return ArgLayout(name, "dict", tuple(value))
    if isinstance(value, tuple | list):
        _check_leaves(name, list(value))
        return ArgLayout(
            name, "tuple" if isinstance(value, tuple) else "list", tuple(range(len(value)))
        )
    if isinstance(value, bool | int | float):
        return ArgLayout(name, "scalar")
    return ArgLayout(name, "tensor")


def _check_leaves(name: str, items: list[object]) -> None:
    for item in items:
        if not isinstance(item, torch.Tensor | np.ndarray):
            raise LayoutError(
                f"argument {name!r}: containers must hold tensors, not {type(item).__name__}"
            )


def _safe(key: int | str) -> str:
    return re.sub(r"\W", "_", str(key))
