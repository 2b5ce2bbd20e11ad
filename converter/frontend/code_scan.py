"""Read an archive's TorchScript sources (``code/*.py``) before torch compiles them.

``torch.jit.load`` compiles these sources and runs ``__setstate__`` while loading; ``forward``
runs again for every parity reference. The scan refuses, before anything runs:

- file and library operations (``torch.save``, ``torch.from_file``, ``load_library``) anywhere;
- operators outside the namespaces jit2onnx translates (``ops.<namespace>.<op>``) and custom
  C++ classes (``torch.classes.<namespace>``) that need a native library;
- ``__setstate__``/``__getstate__`` that do more than assign attributes (and call the packing
  helpers of quantized modules);
- sources too deeply nested to parse safely (TorchScript's parser crashes on them).

Sources are parsed with Python's ``ast``; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator

__all__ = ["CodeProblem", "scan_source"]

# Namespaces of the operators jit2onnx translates; anything else needs a native library.
ALLOWED_OP_NAMESPACES = frozenset({"aten", "prim", "quantized", "_quantized"})
# Namespaces of the C++ classes torch itself registers (packed weights, recurrent cell params).
BUILTIN_CLASS_NAMESPACES = frozenset({"quantized", "rnn"})
# Operators that touch the file system; no model needs them to compute its outputs.
FILE_OPS = frozenset({"save", "from_file", "load", "_save_parameters", "_load_for_mobile"})
# Deeper syntax trees than this are refused: real archives stay far below it.
MAX_DEPTH = 120

# What a __setstate__/__getstate__ (and the self methods it calls) may call.
_STATE_CALLS = frozenset(
    {
        "annotate",
        "uninitialized",
        "unchecked_cast",
        "isinstance",
        "torch.eq",
        "torch.ne",
        "torch.len",
        "torch.__is__",
        "torch.__isnot__",
        "torch.__not__",
        "ops.prim.RaiseException",
    }
)
_STATE_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.If, ast.Return, ast.Pass, ast.Expr)


@dataclasses.dataclass(frozen=True)
class CodeProblem:
    """Why a source file is refused, with the line it is on (0: the whole file)."""

    line: int
    message: str


def scan_source(text: str) -> list[CodeProblem]:
    """Every reason to refuse one TorchScript source file; empty when it is safe to compile."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError) as e:
        return [CodeProblem(getattr(e, "lineno", 0) or 0, _parse_failure(e))]
    depth, problems = _walk(tree)
    if depth > MAX_DEPTH:
        return [CodeProblem(0, f"source nested {depth} levels deep (limit {MAX_DEPTH})")]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        problems.extend(_state_problems(cls))
    return sorted(set(problems), key=lambda p: (p.line, p.message))


def _parse_failure(error: BaseException) -> str:
    if isinstance(error, SyntaxError) and "nested" in str(error.msg):
        return f"source too deeply nested to load safely ({error.msg})"
    if isinstance(error, RecursionError | MemoryError):
        return "source too deeply nested to load safely"
    return f"source does not parse ({error})"


def _walk(tree: ast.AST) -> tuple[int, list[CodeProblem]]:
    """The tree's depth and the problems of its nodes, in one pass (no recursion)."""
    deepest = 0
    problems: list[CodeProblem] = []
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        problems.extend(_node_problems(node))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest, problems


def _node_problems(node: ast.AST) -> Iterator[CodeProblem]:
    if not isinstance(node, ast.Attribute | ast.Call):
        return
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Attribute):
        if node.attr == "load_library":
            yield CodeProblem(line, "loads a native library (load_library)")
        parts = (_dotted(node) or "").split(".")
        if parts[-2:-1] == ["classes"] and parts[-3:-2] == ["torch"]:
            if parts[-1] not in BUILTIN_CLASS_NAMESPACES:
                shown = ".".join(parts)
                yield CodeProblem(line, f"uses custom C++ classes '{shown}' of a native library")
        return
    name = _dotted(node.func)
    if name is None:
        return
    parts = name.split(".")
    if parts[0] == "torch" and len(parts) == 2 and parts[1] in FILE_OPS:
        yield CodeProblem(line, f"calls {name} (file access: aten::{parts[1]})")
    elif parts[0] == "ops" and len(parts) == 3:
        namespace, op = parts[1], parts[2]
        if namespace not in ALLOWED_OP_NAMESPACES:
            yield CodeProblem(line, f"calls operator {namespace}::{op} from a native library")
        elif op in FILE_OPS:
            yield CodeProblem(line, f"calls {namespace}::{op} (file access)")


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _state_problems(cls: ast.ClassDef) -> Iterator[CodeProblem]:
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    pending: list[str] = [name for name in ("__setstate__", "__getstate__") if name in methods]
    checked: set[str] = set()
    while pending:
        name = pending.pop()
        if name in checked:
            continue
        checked.add(name)
        for problem, callee in _method_problems(methods[name], cls.name):
            if problem is not None:
                yield problem
            if callee is not None:
                if callee in methods:
                    pending.append(callee)
                else:
                    yield CodeProblem(methods[name].lineno, f"{name} calls unknown self.{callee}")


def _method_problems(
    func: ast.FunctionDef, cls: str
) -> Iterator[tuple[CodeProblem | None, str | None]]:
    where = f"{cls}.{func.name}"
    for statement in _statements(func.body):
        if not isinstance(statement, _STATE_STATEMENTS):
            kind = type(statement).__name__.lower()
            yield CodeProblem(statement.lineno, f"{where} does more than assign ({kind})"), None
    for call in (n for n in ast.walk(func) if isinstance(n, ast.Call)):
        callee = call.func
        if isinstance(callee, ast.Attribute) and _is_self(callee.value):
            yield None, callee.attr
            continue
        if isinstance(callee, ast.Attribute) and callee.attr == "unpack":
            continue  # packed quantized weights back to tensors
        name = _dotted(callee)
        if name is not None and (name in _STATE_CALLS or name.startswith("ops.quantized.")):
            continue
        shown = name or ast.unparse(callee)
        yield CodeProblem(call.lineno, f"{where} does more than assign (calls {shown})"), None


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _statements(statement.body)
            yield from _statements(statement.orelse)


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"
