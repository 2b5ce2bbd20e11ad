"""Defer importing sympy until something uses it.

onnx_ir imports sympy when it is imported, for arithmetic on symbolic dimensions, which a
conversion never does: that import is about a third of a conversion's start-up. Here ``sympy``
(and ``onnx_ir._symbolic_shapes``, which reads sympy names at import) are placed in
``sys.modules`` as modules whose code runs on the first access to a name they do not have yet;
``import sympy`` alone does not run it. Anything that uses them, or imports a submodule of sympy
(which reads the package's ``__path__``, held back for that reason), gets the real modules,
loaded then. Nothing is deferred when either is already imported or cannot be found.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

__all__ = ["defer_symbolic_math"]

_lock = threading.RLock()


class _Deferred(types.ModuleType):
    """A module whose code has not run yet; the first unknown attribute runs it."""

    def __getattr__(self, name: str) -> Any:
        with _lock:
            if type(self) is _Deferred:
                spec = self.__spec__
                assert spec is not None and spec.loader is not None
                self.__class__ = types.ModuleType  # type: ignore[assignment]
                if spec.submodule_search_locations is not None:
                    self.__path__ = spec.submodule_search_locations
                try:
                    spec.loader.exec_module(self)
                except BaseException:
                    sys.modules.pop(spec.name, None)  # the next import starts afresh
                    raise
        return types.ModuleType.__getattribute__(self, name)


def _defer(spec: importlib.machinery.ModuleSpec | None) -> bool:
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return False
    module = importlib.util.module_from_spec(spec)
    module.__dict__.pop("__path__", None)  # importing a submodule must run the package first
    module.__class__ = _Deferred
    sys.modules[spec.name] = module
    return True


def defer_symbolic_math() -> None:
    """Put deferred ``sympy`` and ``onnx_ir._symbolic_shapes`` in ``sys.modules`` if neither is
    imported yet."""
    with _lock:
        if "sympy" in sys.modules or "onnx_ir" in sys.modules:
            return
        package = importlib.util.find_spec("onnx_ir")
        locations = package.submodule_search_locations if package is not None else None
        if not locations:
            return
        shapes = importlib.machinery.PathFinder.find_spec("onnx_ir._symbolic_shapes", locations)
        if shapes is None or importlib.util.find_spec("sympy") is None:
            return
        if _defer(importlib.util.find_spec("sympy")):
            _defer(shapes)
