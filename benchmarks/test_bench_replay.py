"""Replay memory: add one transition, add a batch, sample B = 32 / 256 / 1024.

Observations of 32 float32, capacity 100k and 1M, uniform and prioritized;
rlbt beside the course's deque, stable-baselines3, cpprb, TorchRL and the
packed-rows floor (one ``np.take``). Buffers are filled before timing; a fill
is shared by the batch sizes of one library and capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from baseline_course import Memory, fill_memory
from bench_common import (
    BATCHES,
    CAPACITIES,
    OBS_DIM,
    Filled,
    capacity_of,
    full_run,
    label,
    transitions,
)
from peers import CpprbBuffer, PackedRows, SB3Buffer, TorchRLBuffer

from rlbt.agents.replay import PrioritizedReplayBuffer, ReplayBuffer

Obs = Callable[[int], np.ndarray]
PEER_WARNINGS = pytest.mark.filterwarnings("ignore")  # peers' deprecations are theirs


def rlbt_buffer(capacity: int, data: dict[str, np.ndarray], prioritized: bool = False,
                fill: bool = True) -> ReplayBuffer:
    cls = PrioritizedReplayBuffer if prioritized else ReplayBuffer
    buffer = cls(capacity, (OBS_DIM,), seed=0)
    if fill:
        buffer.add_batch(data["obs"], data["actions"], data["rewards"], data["next_obs"],
                         data["terminated"])
        if isinstance(buffer, PrioritizedReplayBuffer):  # spread priorities, as training does
            rng = np.random.default_rng(2)
            buffer.update_priorities(np.arange(len(buffer)), rng.exponential(size=len(buffer)))
    return buffer


def course_memory(capacity: int, data: dict[str, np.ndarray]) -> Memory:
    memory = Memory(capacity)
    fill_memory(memory, data)
    return memory


# name -> (role, builder(capacity, data)); every builder returns an object with sample(B)
UNIFORM: dict[str, tuple[str, Callable[[int, dict[str, np.ndarray]], Any]]] = {
    "rlbt": ("rlbt", rlbt_buffer),
    "course deque": ("baseline", course_memory),
    "stable-baselines3": ("peer", SB3Buffer),
    "cpprb": ("peer", CpprbBuffer),
    "torchrl": ("peer", TorchRLBuffer),
    "packed rows + np.take": ("floor", PackedRows),
}
PRIORITIZED: dict[str, tuple[str, Callable[[int, dict[str, np.ndarray]], Any]]] = {
    "rlbt prioritized": ("rlbt", lambda c, d: rlbt_buffer(c, d, prioritized=True)),
    "cpprb prioritized": ("peer", lambda c, d: CpprbBuffer(c, d, prioritized=True)),
}


def nbytes(buffer: Any) -> int | None:
    """Bytes of a buffer's arrays where the library lets us count them."""
    if isinstance(buffer, ReplayBuffer):
        return buffer.nbytes
    if isinstance(buffer, SB3Buffer):
        rb = buffer.rb
        return sum(a.nbytes for a in (rb.observations, rb.next_observations, rb.actions,
                                      rb.rewards, rb.dones, rb.timeouts))
    return None


def run_sample(benchmark: Any, filled: Filled, observations: Obs, kind: str, impl: str,
               cap: str, batch: int) -> None:
    table = UNIFORM if kind == "uniform" else PRIORITIZED
    role, build = table[impl]
    capacity = capacity_of(benchmark, cap)

    def make() -> Any:
        return build(capacity, transitions(observations(capacity)))

    buffer = filled.get((impl, capacity), make)
    label(benchmark, f"replay sample {kind}, capacity {cap}, B={batch}", impl, role,
          unit="batches", capacity=capacity, batch=batch, nbytes=nbytes(buffer))
    benchmark(buffer.sample, batch)


@PEER_WARNINGS
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("cap", list(CAPACITIES))
@pytest.mark.parametrize("impl", list(UNIFORM))
def test_sample_uniform(benchmark: Any, filled: Filled, observations: Obs, impl: str, cap: str,
                        batch: int) -> None:
    run_sample(benchmark, filled, observations, "uniform", impl, cap, batch)


@PEER_WARNINGS
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("cap", list(CAPACITIES))
@pytest.mark.parametrize("impl", list(PRIORITIZED))
def test_sample_prioritized(benchmark: Any, filled: Filled, observations: Obs, impl: str,
                            cap: str, batch: int) -> None:
    run_sample(benchmark, filled, observations, "prioritized", impl, cap, batch)


# --------------------------------------------------------------------------- add

ADDS = 10_000  # transitions per timed round, one call each


class _RlbtAdder:
    def __init__(self, capacity: int, data: dict[str, np.ndarray], prioritized: bool) -> None:
        self.buffer = rlbt_buffer(capacity, data, prioritized, fill=False)
        self.rows = list(data["obs"])  # row views made once: indexing is not what we time
        self.actions, self.rewards = data["actions"].tolist(), data["rewards"].tolist()

    def add_all(self, n: int) -> None:
        add, rows, actions, rewards = self.buffer.add, self.rows, self.actions, self.rewards
        for i in range(n):
            add(rows[i], actions[i], rewards[i], rows[i + 1], False)


class _CourseAdder:
    def __init__(self, capacity: int, data: dict[str, np.ndarray]) -> None:
        self.memory = Memory(capacity)
        self.rows = list(data["obs"])
        self.actions, self.rewards = data["actions"].tolist(), data["rewards"].tolist()

    def add_all(self, n: int) -> None:
        add, rows, actions, rewards = self.memory.add, self.rows, self.actions, self.rewards
        for i in range(n):
            add((rows[i], actions[i], rewards[i], rows[i + 1], False))


class _PeerAdder:
    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer

    def add_all(self, n: int) -> None:
        add_one = self.buffer.add_one
        for i in range(n):
            add_one(i)


ADDERS: dict[str, tuple[str, Callable[[int, dict[str, np.ndarray]], Any]]] = {
    "rlbt": ("rlbt", lambda c, d: _RlbtAdder(c, d, prioritized=False)),
    "rlbt prioritized": ("rlbt", lambda c, d: _RlbtAdder(c, d, prioritized=True)),
    "course deque": ("baseline", _CourseAdder),
    "stable-baselines3": ("peer", lambda c, d: _PeerAdder(SB3Buffer(c, d, fill=False))),
    "cpprb": ("peer", lambda c, d: _PeerAdder(CpprbBuffer(c, d, fill=False))),
    "torchrl": ("peer", lambda c, d: _PeerAdder(TorchRLBuffer(c, d, fill=False))),
}


@PEER_WARNINGS
@pytest.mark.parametrize("impl", list(ADDERS))
def test_add_one_transition(benchmark: Any, observations: Obs, impl: str) -> None:
    role, build = ADDERS[impl]
    capacity = capacity_of(benchmark, "100k")
    adds = ADDS if full_run(benchmark) else 100
    data = transitions(observations(adds + 1))

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (build(capacity, data), adds), {}  # a fresh, empty buffer every round

    label(benchmark, "replay add one transition, capacity 100k", impl, role, per_call=adds,
          unit="transitions")
    benchmark.pedantic(lambda adder, n: adder.add_all(n), setup=setup, rounds=7)


BATCH_ADD = 1_000


@PEER_WARNINGS
@pytest.mark.parametrize("impl", ["rlbt", "cpprb", "torchrl"])
def test_add_batch(benchmark: Any, observations: Obs, impl: str) -> None:
    capacity = capacity_of(benchmark, "100k")
    data = transitions(observations(BATCH_ADD))
    if impl == "rlbt":
        buffer = rlbt_buffer(capacity, data, fill=False)
        args = (data["obs"], data["actions"], data["rewards"], data["next_obs"],
                data["terminated"])
        call: Callable[[], None] = lambda: buffer.add_batch(*args)  # noqa: E731
    elif impl == "cpprb":
        rb = CpprbBuffer(capacity, data, fill=False).rb
        fields = {"obs": data["obs"], "act": data["actions"], "rew": data["rewards"],
                  "next_obs": data["next_obs"], "done": data["terminated"]}
        call = lambda: rb.add(**fields)  # noqa: E731
    else:
        torchrl = TorchRLBuffer(capacity, data, fill=False)
        call = lambda: torchrl.rb.extend(torchrl.data)  # noqa: E731
    label(benchmark, f"replay add_batch of {BATCH_ADD}, capacity 100k", impl,
          "rlbt" if impl == "rlbt" else "peer", per_call=BATCH_ADD, unit="transitions")
    benchmark(call)  # the ring wraps: steady-state writes
