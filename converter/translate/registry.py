"""The injectable op registry: validated names, opset-ranged handlers, user overrides."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

from converter.options import MIN_OPSET

if TYPE_CHECKING:
    from converter.frontend.ts_ir import TSNode
    from converter.translate.context import Entry, TranslationContext

__all__ = ["Handler", "HandlerSpec", "OpRegistry", "handler"]

_NAME = re.compile(r"^(aten|prim|quantized)::\w+(\.\w+)?$")
_MARK = "__jit2onnx_ops__"


class Handler(Protocol):
    """Translate one TorchScript node: return one entry per node output (a tuple if several)."""

    def __call__(self, ctx: TranslationContext, node: TSNode) -> Entry | tuple[Entry, ...]: ...


F = TypeVar("F", bound=Callable[..., object])


def handler(*names: str, since_opset: int = MIN_OPSET) -> Callable[[F], F]:
    """Mark a function as the handler of ``names`` (collected by ``OpRegistry.add_module``)."""
    for name in names:
        _check_name(name)

    def mark(fn: F) -> F:
        marks = tuple(getattr(fn, _MARK, ())) + tuple((n, since_opset) for n in names)
        setattr(fn, _MARK, marks)
        return fn

    return mark


@dataclasses.dataclass(frozen=True)
class HandlerSpec:
    """One registration: the op name (with optional overload), handler and first opset."""

    name: str
    fn: Handler
    since_opset: int = MIN_OPSET


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise ValueError(f"invalid op name {name!r}: expected 'aten::op' or 'aten::op.overload'")


class OpRegistry:
    """Handlers by op name; lookup prefers the exact overload, then the newest usable opset."""

    def __init__(self) -> None:
        self._specs: dict[str, list[HandlerSpec]] = {}

    def add(self, spec: HandlerSpec, *, override: bool = False) -> None:
        """Add a handler; a duplicate (name, opset) raises unless ``override`` is set."""
        _check_name(spec.name)
        specs = self._specs.setdefault(spec.name, [])
        clash = [s for s in specs if s.since_opset == spec.since_opset]
        if clash and not override:
            raise ValueError(f"{spec.name} already has a handler from opset {spec.since_opset}")
        specs[:] = [s for s in specs if s.since_opset != spec.since_opset] + [spec]

    def register(
        self, name: str, *, since_opset: int = MIN_OPSET, override: bool = False
    ) -> Callable[[F], F]:
        """Decorator form of ``add``."""

        def deco(fn: F) -> F:
            self.add(HandlerSpec(name, fn, since_opset), override=override)
            return fn

        return deco

    def add_module(self, module: types.ModuleType) -> None:
        """Add every function defined in ``module`` and marked with ``@handler``.

        A handler another module imports is left out: it is registered with its own module.
        """
        for fn in vars(module).values():
            if getattr(fn, "__module__", None) != module.__name__:
                continue
            for name, since in getattr(fn, _MARK, ()):
                self.add(HandlerSpec(name, fn, since))

    def lookup(self, kind: str, overload: str, opset: int) -> HandlerSpec | None:
        """The handler for this node at ``opset``, or None."""
        for name in (f"{kind}.{overload}" if overload else None, kind):
            usable = [s for s in self._specs.get(name or "", ()) if s.since_opset <= opset]
            if usable:
                return max(usable, key=lambda s: s.since_opset)
        return None

    def min_opset(self, kind: str, overload: str) -> int | None:
        """The lowest opset any handler for this node needs, or None if there is none."""
        names = [f"{kind}.{overload}", kind] if overload else [kind]
        opsets = [s.since_opset for n in names for s in self._specs.get(n, ())]
        return min(opsets) if opsets else None

    def names(self) -> Iterable[str]:
        """Every registered op name."""
        return sorted(self._specs)

    def specs(self, name: str) -> list[HandlerSpec]:
        """The handlers registered for ``name``, oldest opset first."""
        return sorted(self._specs.get(name, ()), key=lambda s: s.since_opset)
