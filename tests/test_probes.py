"""Resize probes: an output that keeps the traced size is told apart from one that ignores it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from converter.frontend.probes import DimGroup, probe

_BATCH = DimGroup("batch", 2, ((0, 0),), explicit=False)


def _x() -> list[np.ndarray]:
    return [np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)]


def _resized_batch() -> int:
    sizes: list[int] = []

    def run(feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        sizes.append(feeds[0].shape[0])
        return [feeds[0]]

    probe(run, _x(), [_BATCH])
    return next(s for s in sizes if s != _BATCH.size)


def _shape_findings(fn: object, examples: list[np.ndarray] | None = None) -> list[str]:
    def run(feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [fn(feeds[0])]  # type: ignore[operator]

    findings, _ = probe(run, examples or _x(), [_BATCH])
    return [f.message for f in findings if f.kind == "shape-mismatch"]


def test_output_that_follows_the_batch_passes() -> None:
    assert _shape_findings(lambda x: np.concatenate([x, x[:, :2]], axis=1)) == []


def test_output_with_another_dim_equal_to_the_traced_size_passes() -> None:
    """Batch traced at 2 with 2 features: the sum over the batch has shape [2] at any batch."""
    assert _shape_findings(lambda x: x.sum(0), [_x()[0][:, :2]]) == []


def test_unrolled_rows_are_reported() -> None:
    """An output that keeps the traced batch while no other input dim has that size."""
    messages = _shape_findings(lambda x: np.stack([x[0], x[0]]))
    assert messages == [
        "dim 'batch' (traced at 2): output 0 has shape [2, 4] at size "
        f"{_resized_batch()} (it was [2, 4] at 2): it does not follow the input"
    ]


def test_output_of_shape_size_by_size_that_follows_in_one_place_passes() -> None:
    assert _shape_findings(lambda x: x[:, :2] @ np.eye(2, dtype=np.float32)) == []


def test_baked_size_is_reported() -> None:
    messages = _shape_findings(lambda x: x.reshape(2, -1))
    assert len(messages) == 1
    assert messages[0].startswith("dim 'batch' (traced at 2): output 0 has shape [2, ")
    assert messages[0].endswith("it does not follow the input")


def _sizes_probed(batch: int, run_output: Callable[[np.ndarray], np.ndarray]) -> list[int]:
    sizes: list[int] = []

    def run(feeds: Sequence[np.ndarray]) -> list[np.ndarray]:
        sizes.append(feeds[0].shape[0])
        return [run_output(feeds[0])]

    x = np.random.default_rng(1).standard_normal((batch, 4)).astype(np.float32)
    probe(run, [x], [DimGroup("batch", batch, ((0, 0),), explicit=False)])
    return sizes


def test_value_probes_of_a_large_batch_use_a_few_rows() -> None:
    # traced run, resize probe, then four runs on 3 rows (the odd batch keeps its parity)
    assert _sizes_probed(33, lambda x: x * 2) == [33, 31, 3, 3, 3, 3]


def test_value_probes_keep_the_traced_batch_when_it_is_baked_in() -> None:
    assert _sizes_probed(32, lambda x: x.reshape(32, -1)) == [32, 30, 32, 32, 32]
