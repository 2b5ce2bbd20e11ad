"""A typed, read-only view of TorchScript IR nodes (``torch._C.Node``)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from converter.errors import SourceLocation

if TYPE_CHECKING:
    import torch

__all__ = ["TSNode", "walk"]


@functools.lru_cache(maxsize=4096)
def _schema_parts(schema: str) -> tuple[str, tuple[str, ...]]:
    """Return (overload name, argument names) of a schema string."""
    import torch

    parsed = torch._C.parse_schema(schema)
    return parsed.overload_name, tuple(arg.name for arg in parsed.arguments)


class TSNode:
    """One TorchScript node with schema-named inputs, provenance and a one-line rendering."""

    def __init__(self, node: torch._C.Node) -> None:
        self.raw = node
        self.kind: str = node.kind()
        schema = node.schema() if self.kind.startswith(("aten::", "quantized::")) else ""
        if schema and schema != "(no schema)":
            self.overload, self.arg_names = _schema_parts(schema)
        else:
            self.overload, self.arg_names = "", ()
        self.inputs: tuple[torch._C.Value, ...] = tuple(node.inputs())
        self.outputs: tuple[torch._C.Value, ...] = tuple(node.outputs())

    @property
    def qualified_kind(self) -> str:
        """The kind with its overload, e.g. ``aten::add.Tensor``."""
        return f"{self.kind}.{self.overload}" if self.overload else self.kind

    @functools.cached_property
    def location(self) -> SourceLocation | None:
        """The user's source line this node was recorded from, when debug info is present."""
        source_range = str(self.raw.sourceRange())
        return SourceLocation.from_source_range(source_range) if source_range else None

    @functools.cached_property
    def scope(self) -> str:
        """The module path, e.g. ``layer2(BasicBlock).conv2(Conv2d)`` (empty when unknown)."""
        return str(self.raw.getModuleHierarchy() or self.raw.scopeName())

    def has_input(self, name: str) -> bool:
        """True if the schema has an argument called ``name``."""
        return name in self.arg_names

    def input(self, name: str | int) -> torch._C.Value:
        """The input value for a schema argument name or a position."""
        if isinstance(name, int):
            return self.inputs[name]
        try:
            return self.inputs[self.arg_names.index(name)]
        except ValueError:
            raise KeyError(f"{self.qualified_kind} has no argument {name!r}") from None

    @property
    def blocks(self) -> tuple[torch._C.Block, ...]:
        """Sub-blocks of structured control flow nodes."""
        return tuple(self.raw.blocks())

    def render(self) -> str:
        """One line: outputs = kind(inputs)."""
        outs = ", ".join(f"%{v.debugName()}" for v in self.outputs)
        ins = ", ".join(f"%{v.debugName()}" for v in self.inputs)
        return f"{outs} = {self.qualified_kind}({ins})"


def walk(block: torch._C.Block | torch._C.Graph) -> Iterator[TSNode]:
    """Yield every node of a graph or block, depth first, sub-blocks included."""
    for node in block.nodes():
        yield TSNode(node)
        for sub in node.blocks():
            yield from walk(sub)
