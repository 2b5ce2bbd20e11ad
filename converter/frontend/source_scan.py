"""Read the Python sources a traced graph points at and find what tracing cannot record.

Heuristic, and only possible when the archive's debug info names ``.py`` files that exist on
this machine: R archives and archives from elsewhere carry no readable source.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from converter.errors import SourceLocation
from converter.frontend.findings import Finding

__all__ = ["scan_sources"]

_MAX_SOURCE_BYTES = 1 << 20
_CONVERSIONS = {"int": "int()", "float": "float()", "bool": "bool()"}
_METHODS = {"item": ".item()", "tolist": ".tolist()", "numpy": ".numpy()"}
_SHAPE_CALLS = {"size", "dim", "numel"}
_HARMLESS_TESTS = {"isinstance", "hasattr", "callable", "getattr", "is_scripting", "is_tracing"}


def scan_sources(locations: Iterable[SourceLocation]) -> list[Finding]:
    """Findings for the functions around ``locations`` (user files only)."""
    by_file: dict[str, set[int]] = {}
    for loc in locations:
        by_file.setdefault(loc.file, set()).add(loc.line)
    findings: list[Finding] = []
    for file, lines in sorted(by_file.items()):
        tree = _parse(Path(file))
        if tree is None:
            continue
        seen: set[int] = set()
        for fn in _enclosing_functions(tree, lines):
            if id(fn) not in seen:
                seen.add(id(fn))
                findings.extend(_scan_function(file, fn))
    return sorted(set(findings), key=lambda f: (f.location.file, f.location.line, f.kind))  # type: ignore[union-attr]


def _parse(path: Path) -> ast.Module | None:
    if path.suffix != ".py" or not path.is_file() or path.stat().st_size > _MAX_SOURCE_BYTES:
        return None
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None


def _enclosing_functions(tree: ast.Module, lines: set[int]) -> Iterator[ast.FunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.end_lineno is not None:
            if any(node.lineno <= line <= node.end_lineno for line in lines):
                yield node


def _scan_function(file: str, fn: ast.FunctionDef) -> Iterator[Finding]:
    for node in ast.walk(fn):
        if isinstance(node, ast.If | ast.While | ast.IfExp) and _data_dependent(node.test):
            word = {ast.If: "if", ast.While: "while", ast.IfExp: "conditional"}[type(node)]
            yield _finding(
                file,
                node,
                "python-control-flow",
                f"Python {word} in {fn.name}() was decided once, for the traced input",
                "script this function (torch.jit.script) so the branch is kept, "
                "or make both paths tensor operations (torch.where)",
            )
        elif isinstance(node, ast.For) and _mentions_shape(node.iter):
            yield _finding(
                file,
                node,
                "unrolled-loop",
                f"Python loop in {fn.name}() over a tensor size was unrolled at its traced length",
                "script this function, or replace the loop with a batched tensor operation",
            )
        elif isinstance(node, ast.Call) and (what := _conversion(node)):
            yield _finding(
                file,
                node,
                "python-value",
                f"{what} in {fn.name}() turned a tensor into a Python number, frozen at trace time",
                "keep the value a tensor, or script this function",
            )


def _finding(file: str, node: ast.AST, kind: str, message: str, hint: str) -> Finding:
    line = getattr(node, "lineno", 0)
    return Finding(kind, "warning", message, SourceLocation(file, line), hint=hint)


def _conversion(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name) and call.func.id in _CONVERSIONS and call.args:
        if not isinstance(call.args[0], ast.Constant):
            return _CONVERSIONS[call.func.id]
    if isinstance(call.func, ast.Attribute) and call.func.attr in _METHODS and not call.args:
        return _METHODS[call.func.attr]
    return None


def _data_dependent(test: ast.expr) -> bool:
    """A test that calls something on values (not just attributes, None or type checks)."""
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = name or (node.func.id if isinstance(node.func, ast.Name) else None)
            if name not in _HARMLESS_TESTS:
                return True
        if isinstance(node, ast.Attribute) and node.attr == "shape":
            return True
    return False


def _mentions_shape(expr: ast.expr) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Attribute) and node.attr in _SHAPE_CALLS | {"shape"}:
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
            return True
    return False
