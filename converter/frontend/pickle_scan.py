"""Read the pickles of a TorchScript archive without unpickling them: globals and tensor storages.

``pickletools`` walks the opcodes; a small stack simulation recovers the persistent ids of tensor
storages (``('storage', torch.FloatStorage, key, 'cpu', numel)``) so their declared sizes can be
checked against the ``data/`` entries before ``torch.jit.load`` trusts them.
"""

from __future__ import annotations

import dataclasses
import pickletools
from collections.abc import Iterator

__all__ = ["Global", "PickleSummary", "StorageRecord", "scan_pickle"]

# Bytes per element of the storage classes torch writes into archives.
STORAGE_ITEMSIZE = {
    "BoolStorage": 1,
    "ByteStorage": 1,
    "CharStorage": 1,
    "QUInt8Storage": 1,
    "QInt8Storage": 1,
    "QUInt4x2Storage": 1,
    "QUInt2x4Storage": 1,
    "Float8_e4m3fnStorage": 1,
    "Float8_e5m2Storage": 1,
    "ShortStorage": 2,
    "HalfStorage": 2,
    "BFloat16Storage": 2,
    "IntStorage": 4,
    "FloatStorage": 4,
    "QInt32Storage": 4,
    "LongStorage": 8,
    "DoubleStorage": 8,
    "ComplexHalfStorage": 4,
    "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16,
}


@dataclasses.dataclass(frozen=True)
class Global:
    """A ``module name`` reference the pickle makes (GLOBAL or STACK_GLOBAL)."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclasses.dataclass(frozen=True)
class StorageRecord:
    """A tensor storage the pickle declares: its data key, element type and element count."""

    key: str
    storage_type: str
    numel: int

    @property
    def nbytes(self) -> int | None:
        """Declared size in bytes; None for a storage type this scan does not know."""
        itemsize = STORAGE_ITEMSIZE.get(self.storage_type)
        return None if itemsize is None else itemsize * self.numel


@dataclasses.dataclass(frozen=True)
class PickleSummary:
    """The globals and storages one pickle refers to."""

    globals: tuple[Global, ...]
    storages: tuple[StorageRecord, ...]


class _Mark:
    pass


_MARK = _Mark()
_OPAQUE = object()


def scan_pickle(data: bytes) -> PickleSummary:
    """Globals and storage records of a pickle; ValueError if it is malformed."""
    stack: list[object] = []
    memo: dict[int, object] = {}
    found_globals: list[Global] = []
    storages: list[StorageRecord] = []
    for opcode, arg, _pos in _ops(data):
        name = opcode.name
        if name == "GLOBAL":
            module, _, attr = str(arg).partition(" ")
            found_globals.append(Global(module, attr))
            stack.append(found_globals[-1])
        elif name == "STACK_GLOBAL":
            attr_name, module_name = _pop(stack), _pop(stack)
            found = Global(str(module_name), str(attr_name))
            found_globals.append(found)
            stack.append(found)
        elif name in ("BINPERSID", "PERSID"):
            pid = _pop(stack) if name == "BINPERSID" else arg
            record = _storage(pid)
            if record is not None:
                storages.append(record)
            stack.append(_OPAQUE)
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[_index(arg)] = stack[-1] if stack else _OPAQUE
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else _OPAQUE
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo.get(_index(arg), _OPAQUE))
        elif name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3", "EMPTY_TUPLE"):
            stack.append(_tuple(stack, name))
        elif isinstance(arg, str | int) and not opcode.stack_before:
            stack.append(arg)
        else:
            _generic(stack, opcode)
    return PickleSummary(tuple(found_globals), tuple(storages))


def _ops(data: bytes) -> Iterator[tuple[pickletools.OpcodeInfo, object, int | None]]:
    try:
        yield from pickletools.genops(data)
    except Exception as e:  # pickletools raises ValueError and others on bad bytes
        raise ValueError(f"malformed pickle ({e})") from e


def _index(arg: object) -> int:
    if isinstance(arg, int):
        return arg
    if isinstance(arg, str) and arg.isdigit():
        return int(arg)
    raise ValueError(f"malformed pickle (memo index {arg!r})")


def _pop(stack: list[object]) -> object:
    if not stack:
        raise ValueError("malformed pickle (stack underflow)")
    return stack.pop()


def _pop_mark(stack: list[object]) -> list[object]:
    items: list[object] = []
    while stack:
        item = stack.pop()
        if item is _MARK:
            items.reverse()
            return items
        items.append(item)
    raise ValueError("malformed pickle (no mark)")


def _tuple(stack: list[object], name: str) -> tuple[object, ...]:
    if name == "EMPTY_TUPLE":
        return ()
    if name == "TUPLE":
        return tuple(_pop_mark(stack))
    count = int(name[-1])
    items = [_pop(stack) for _ in range(count)]
    return tuple(reversed(items))


def _generic(stack: list[object], opcode: pickletools.OpcodeInfo) -> None:
    if opcode.name == "MARK":
        stack.append(_MARK)
        return
    before = list(opcode.stack_before)
    if pickletools.markobject in before:
        _pop_mark(stack)
        before = before[: before.index(pickletools.markobject)]
    for _ in before:
        _pop(stack)
    stack.extend(_OPAQUE for _ in opcode.stack_after)


def _storage(pid: object) -> StorageRecord | None:
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
        return None
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(key, str) or not isinstance(numel, int):
        return None
    type_name = storage_type.name if isinstance(storage_type, Global) else str(storage_type)
    return StorageRecord(key, type_name, numel)
