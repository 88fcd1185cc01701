"""Fixtures of the benchmark suite (helpers live in ``bench_common``)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from bench_common import DEFAULT_BLAS_THREADS, OBS_DIM, Filled, use_threads

from rlbt.agents.fast.blas import set_blas_threads


def pytest_benchmark_update_machine_info(config: Any, machine_info: dict[str, Any]) -> None:
    """Record the versions the figures depend on in the saved JSON."""
    versions = {}
    for package in ("torch", "numpy", "backtrader", "stable-baselines3", "cpprb", "torchrl"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    machine_info["rlbt_versions"] = versions


@pytest.fixture(scope="session", autouse=True)
def _restore_blas_threads() -> Iterator[None]:
    """Put NumPy's OpenBLAS thread count back as it was after the suite."""
    yield
    if DEFAULT_BLAS_THREADS:
        set_blas_threads(DEFAULT_BLAS_THREADS)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One thread unless a test asks otherwise: tiny networks and small gathers run fastest
    on one, and the figures must not depend on whatever else the machine is doing."""
    use_threads(1)
    yield
    use_threads(1)


@pytest.fixture(scope="session")
def observations() -> Callable[[int], np.ndarray]:
    """``observations(n)``: ``n + 1`` float32 rows of ``OBS_DIM`` (one cached array, sliced)."""
    cache: dict[str, np.ndarray] = {}

    def make(n: int) -> np.ndarray:
        rows = cache.get("rows")
        if rows is None or rows.shape[0] < n + 1:
            cache.clear()  # at most one big array alive
            rng = np.random.default_rng(0)
            rows = rng.standard_normal((n + 1, OBS_DIM), dtype=np.float32)
            cache["rows"] = rows
        return rows[:n + 1]

    return make


@pytest.fixture(scope="session")
def filled() -> Filled:
    """The shared ``Filled`` cache: one filled buffer alive at a time."""
    return Filled()
