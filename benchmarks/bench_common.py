"""Helpers shared by the benchmark modules: sizes, labels, peers, threads.

Two modes. ``make bench`` runs the issue's sizes (capacity 100k and 1M, a
20,000-bar backtest) and times them. With ``--benchmark-disable`` (CI, and the
project's default ``addopts``) every benchmark runs once on small sizes, so the
suite cannot rot and never asserts a time.

Every benchmark labels itself with ``label(benchmark, ...)``: the group (one
table of ``benchmarks/report.py``), the implementation's display name, its role
(``rlbt``; ``baseline``: the course's code; ``peer``: another library;
``floor``: a bound, not an implementation) and how many units one timed call
handles (transitions, batches, bars), so the report can print rates.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

from rlbt.agents.fast.blas import blas_threads, set_blas_threads

OBS_DIM = 32
N_ACTIONS = 3
CAPACITIES = {"100k": 100_000, "1M": 1_000_000}
SMALL_CAPACITY = 2_048  # what every capacity becomes when timing is disabled
BATCHES = (32, 256, 1024)
UPDATE_BATCHES = (32, 64, 256, 1024)
DEFAULT_THREADS = torch.get_num_threads()
DEFAULT_BLAS_THREADS = blas_threads() or 0

def full_run(benchmark: Any) -> bool:
    """True when timing (``make bench``), False when each benchmark just runs once."""
    return not benchmark.disabled


def capacity_of(benchmark: Any, name: str) -> int:
    """The capacity called ``name`` (``"100k"``, ``"1M"``), small when timing is off."""
    return CAPACITIES[name] if full_run(benchmark) else SMALL_CAPACITY


def label(benchmark: Any, group: str, impl: str, role: str, per_call: int = 1,
          unit: str = "calls", **extra: Any) -> None:
    """Name a benchmark for the report.

    :param group: the table it belongs to.
    :param impl: the implementation's display name.
    :param role: ``rlbt``, ``baseline``, ``peer`` or ``floor``.
    :param per_call: units handled by one timed call (the report prints units/s).
    :param unit: what a unit is (``transitions``, ``batches``, ``bars``, ``steps``).
    """
    benchmark.group = group
    benchmark.extra_info.update(impl=impl, role=role, per_call=per_call, unit=unit,
                                threads=torch.get_num_threads(), **extra)


def peer(module: str) -> ModuleType:
    """Import an optional peer library or skip the test (``pip install -e .[bench]``).

    Peers' own import-time warnings are theirs, not ours: they are silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            pytest.skip(f"{module} is not installed ({exc}); pip install -e '.[bench]'")
        except Exception as exc:  # noqa: BLE001 - a broken install is skipped, not an error
            pytest.skip(f"{module} fails to import here: {exc!r}")




def use_threads(threads: int | None) -> None:
    """Torch and NumPy's BLAS on ``threads`` threads; None restores the process defaults."""
    torch.set_num_threads(threads or DEFAULT_THREADS)
    set_blas_threads(threads or DEFAULT_BLAS_THREADS)


class Filled:
    """One filled buffer kept between tests (the next capacity or library replaces it), so
    the parametrized batch sizes share a fill and at most one big buffer is alive."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.value: Any = None

    def get(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        if key != self.key:
            self.key, self.value = None, None  # free the old one before building
            self.value = build()
            self.key = key
        return self.value


def transitions(obs: np.ndarray, seed: int = 1) -> dict[str, np.ndarray]:
    """``len(obs) - 1`` consecutive transitions over ``obs`` (a continuous stream)."""
    n = obs.shape[0] - 1
    rng = np.random.default_rng(seed)
    return {
        "obs": obs[:-1], "next_obs": obs[1:],
        "actions": rng.integers(0, N_ACTIONS, n),
        "rewards": rng.standard_normal(n).astype(np.float32),
        "terminated": np.zeros(n, dtype=np.float32),
    }
