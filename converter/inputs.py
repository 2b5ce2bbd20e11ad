"""Example inputs: read .npz/.npy files safely, build random inputs, derive probe inputs."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from converter.errors import InputError
from converter.options import InputSpec

__all__ = ["load_inputs", "random_inputs", "resized", "revalued"]


def load_inputs(path: str | os.PathLike[str], names: Sequence[str]) -> list[np.ndarray]:
    """Read inputs in positional order from .npz (arr_0.. or input names) or .npy files."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such input file")
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as e:
        raise InputError(f"{p}: holds Python objects that need pickle; refused ({e})") from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{p}: not a readable .npz or .npy file ({e})") from e
    if isinstance(loaded, np.ndarray):
        arrays = [loaded]
    else:
        with loaded:
            arrays = _ordered(p, {k: loaded[k] for k in loaded.files}, names)
    for i, array in enumerate(arrays):
        if array.dtype.byteorder == ">":
            arrays[i] = array.astype(array.dtype.newbyteorder("="))
    return arrays


def _ordered(p: Path, items: Mapping[str, np.ndarray], names: Sequence[str]) -> list[np.ndarray]:
    keys = set(items)
    if keys == set(names):
        return [items[n] for n in names]
    positional = [f"arr_{i}" for i in range(len(names))]
    if keys == set(positional):
        return [items[k] for k in positional]
    if len(keys) != len(names):
        raise InputError(
            f"{p}: holds {len(keys)} array(s) but the model takes {len(names)} input(s) "
            f"({', '.join(names)})"
        )
    raise InputError(
        f"{p}: array names {sorted(keys)} match neither arr_0.. nor the model inputs "
        f"({', '.join(names)})"
    )


def random_inputs(specs: Sequence[InputSpec], seed: int = 0) -> list[np.ndarray]:
    """Seeded random inputs for shapes and dtypes (floats ~N(0,1), integers in [0, 10))."""
    rng = np.random.default_rng(seed)
    return [_random_like(rng, spec.shape, np.dtype(spec.dtype), None) for spec in specs]


def revalued(examples: Sequence[np.ndarray], seed: int) -> list[np.ndarray]:
    """New random values with the examples' shapes, dtypes and value ranges."""
    rng = np.random.default_rng(seed)
    return [_random_like(rng, a.shape, a.dtype, a) for a in examples]


def resized(
    examples: Sequence[np.ndarray], dims: Mapping[int, Sequence[int]], seed: int
) -> list[np.ndarray]:
    """Random inputs where the given dims (input index -> dims) take a different size."""
    rng = np.random.default_rng(seed)
    out = []
    for i, a in enumerate(examples):
        shape = list(a.shape)
        for d in dims.get(i, ()):
            shape[d] = _other_size(shape[d])
        out.append(_random_like(rng, tuple(shape), a.dtype, a))
    return out


def _other_size(size: int) -> int:
    """Another size of the same parity (ops such as GLU need even sizes), never 1."""
    return size - 2 if size > 3 else size + 2


def _random_like(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype, like: np.ndarray | None
) -> np.ndarray:
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        low, high = (
            (0, 10) if like is None or like.size == 0 else (int(like.min()), int(like.max()))
        )
        return rng.integers(low, high + 1, size=shape).astype(dtype)
    if like is not None and like.size and np.all(np.isfinite(like)):
        fmin, fmax = float(like.min()), float(like.max())
        if fmin >= 0.0:  # keep non-negative inputs non-negative (images, probabilities)
            return rng.uniform(fmin, max(fmax, fmin + 1e-3), size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)
