"""Shared test setup: seeds and the ``cuda`` marker."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cuda: needs CUDAExecutionProvider and a GPU")
    # Tests run TorchScript directly too, in several processes at once (pytest -n): one
    # intra-op thread each, as convert's own reference runs (converter/threads.py).
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        return
    skip = pytest.mark.skip(reason="needs a GPU: CUDAExecutionProvider is not available here")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
