"""Hand-made transition streams for the replay tests, and a checker against a plain list.

Every transition carries its own number as the action, so a sampled row says
which transition it claims to be and can be compared field by field with the
reference list (the obvious, slow memory: one tuple per transition).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rlbt.agents.replay.buffer import ReplayBuffer

OBS_DIM = 3


class Step(NamedTuple):
    obs: np.ndarray
    action: int
    reward: float
    next_obs: np.ndarray
    terminated: bool


def observation(value: float) -> np.ndarray:
    """A distinct float32 observation for each value."""
    return np.array([value, value + 0.25, -value], dtype=np.float32)


def stream(
    episode_lengths: Sequence[int], ends: Sequence[str] = (), start: float = 0.0
) -> list[Step]:
    """Episodes back to back, numbered transitions, observations unique per step.

    :param episode_lengths: steps in each episode (>= 1).
    :param ends: per episode, how it ends: ``"terminal"`` (default), ``"truncated"``
        (last next_obs is never seen again, not terminated) or ``"continue"``
        (the next episode starts from this episode's last next_obs).
    :param start: the value of the first observation.
    """
    steps: list[Step] = []
    value = start
    for episode, length in enumerate(episode_lengths):
        end = ends[episode] if episode < len(ends) else "terminal"
        for i in range(length):
            last = i == length - 1
            obs = observation(value)
            value += 1.0
            next_obs = observation(value)
            if last and end != "continue":
                next_obs = observation(-1000.0 - value)  # a final state never used as obs
            steps.append(Step(obs, len(steps), 0.5 * len(steps) - 3.0, next_obs,
                              last and end == "terminal"))
    return steps


def add_all(buffer: ReplayBuffer, steps: Sequence[Step]) -> None:
    """``add`` each step in order."""
    for s in steps:
        buffer.add(s.obs, s.action, s.reward, s.next_obs, s.terminated)


def add_in_batches(buffer: ReplayBuffer, steps: Sequence[Step], sizes: Sequence[int]) -> None:
    """``add_batch`` the steps in consecutive chunks of the given sizes (cycled)."""
    start, i = 0, 0
    while start < len(steps):
        chunk = steps[start:start + max(1, sizes[i % len(sizes)])]
        buffer.add_batch(
            np.stack([s.obs for s in chunk]), np.array([s.action for s in chunk]),
            np.array([s.reward for s in chunk]), np.stack([s.next_obs for s in chunk]),
            np.array([s.terminated for s in chunk]),
        )
        start += len(chunk)
        i += 1


def assert_holds_exactly(buffer: ReplayBuffer, steps: Sequence[Step], gamma: float) -> None:
    """The buffer holds the last ``capacity`` steps, slot ``e % capacity`` for step ``e``."""
    kept = steps[-buffer.capacity:]
    assert len(buffer) == len(kept)
    batch = buffer.gather(np.arange(len(buffer)))
    assert sorted(batch.actions.tolist()) == [s.action for s in kept]
    np.testing.assert_array_equal(batch.actions % buffer.capacity, np.arange(len(buffer)))
    for row, action in enumerate(batch.actions):
        s = steps[action]
        np.testing.assert_array_equal(batch.obs[row], s.obs)
        np.testing.assert_array_equal(batch.next_obs[row], s.next_obs)
        assert batch.rewards[row] == np.float32(s.reward)
        assert batch.terminated[row] == float(s.terminated)
        assert batch.discounts[row] == np.float32(gamma)
