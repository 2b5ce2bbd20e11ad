"""click parameter types: input shapes, dynamic dims, providers."""

from __future__ import annotations

import re

import click
import numpy as np

from converter.options import InputSpec

__all__ = ["DYNAMIC", "SHAPE", "DynamicType", "ShapeType"]


class ShapeType(click.ParamType):  # type: ignore[type-arg]
    """``1x3x28x28`` or ``1x3x28x28:float32`` -> (dims, dtype or None)."""

    name = "SHAPE[:DTYPE]"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[tuple[int, ...], str | None]:
        """Parse one --shape value."""
        if isinstance(value, tuple):
            return value
        text = str(value)
        dims_text, _, dtype = text.partition(":")
        if not re.fullmatch(r"(\d+(x\d+)*)?", dims_text):
            self.fail(f"{text!r} is not a shape like 1x3x28x28 or 1x3x28x28:float32", param, ctx)
        if dtype:
            try:
                np.dtype(dtype)
            except TypeError:
                self.fail(f"{dtype!r} is not a numpy dtype name", param, ctx)
        dims = tuple(int(d) for d in dims_text.split("x")) if dims_text else ()
        return dims, dtype or None


class DynamicType(click.ParamType):  # type: ignore[type-arg]
    """``INPUT:DIM[,DIM...]`` with INPUT a name or 0-based position -> (input, dims)."""

    name = "INPUT:DIM[,DIM]"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str | int, tuple[int, ...]]:
        """Parse one --dynamic value."""
        if isinstance(value, tuple):
            return value
        text = str(value)
        match = re.fullmatch(r"([A-Za-z_]\w*|\d+):(-?\d+(?:,-?\d+)*)", text)
        if not match:
            self.fail(
                f"{text!r} is not INPUT:DIM[,DIM...] (for example 0:1 or tokens:1)", param, ctx
            )
        key = match.group(1)
        dims = tuple(int(d) for d in match.group(2).split(","))
        return (int(key) if key.isdigit() else key), dims


SHAPE = ShapeType()
DYNAMIC = DynamicType()


def input_specs(
    shapes: tuple[tuple[tuple[int, ...], str | None], ...], dtype: str
) -> list[InputSpec] | None:
    """InputSpecs from --shape values, --dtype filling in where a shape names none."""
    if not shapes:
        return None
    return [InputSpec(dims, given or dtype) for dims, given in shapes]
