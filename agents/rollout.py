"""The on-policy rollout: the transitions since the last update, in preallocated NumPy arrays.

Unlike a replay memory, a rollout is read once, in order, and then cleared.
It starts at ``capacity`` rows and doubles when full (REINFORCE with
``rollout_bars=0`` keeps a whole episode, whose length is not known ahead),
so writes stay O(1) amortised with no Python object per transition.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rlbt.agents.errors import AgentError


class RolloutBatch(NamedTuple):
    """The stored transitions in time order; arrays ready for ``torch.from_numpy``."""

    obs: np.ndarray
    """``[T, obs_dim]`` float32."""
    actions: np.ndarray
    """``[T]`` int64."""
    rewards: np.ndarray
    """``[T]`` float64 (exact as given, NaN included)."""
    next_obs: np.ndarray
    """``[T, obs_dim]`` float32."""
    terminated: np.ndarray
    """``[T]`` bool: ``next_obs`` is a true terminal state."""
    truncated: np.ndarray
    """``[T]`` bool: the episode was cut after this transition (end of data)."""


_FIELDS = RolloutBatch._fields


class Rollout:
    """A growable, preallocated store of one rollout's transitions."""

    def __init__(self, obs_dim: int, capacity: int = 64) -> None:
        """:param obs_dim: observation features.
        :param capacity: rows allocated at first (it doubles when full).
        """
        self.obs_dim = obs_dim
        self.size = 0
        self._arrays = self._allocate(max(1, capacity))

    def _allocate(self, rows: int) -> dict[str, np.ndarray]:
        return {
            "obs": np.zeros((rows, self.obs_dim), dtype=np.float32),
            "actions": np.zeros(rows, dtype=np.int64),
            "rewards": np.zeros(rows, dtype=np.float64),
            "next_obs": np.zeros((rows, self.obs_dim), dtype=np.float32),
            "terminated": np.zeros(rows, dtype=bool),
            "truncated": np.zeros(rows, dtype=bool),
        }

    def __len__(self) -> int:
        return self.size

    @property
    def capacity(self) -> int:
        """Rows allocated now."""
        return int(self._arrays["actions"].shape[0])

    def add(
        self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray,
        terminated: bool, truncated: bool,
    ) -> None:
        """Append one transition (observations are copied in as float32).

        :raises AgentError: when an observation has the wrong shape.
        """
        for name, value in (("obs", obs), ("next_obs", next_obs)):
            shape = np.shape(value)
            if shape != (self.obs_dim,):
                raise AgentError(f"{name} has shape {shape}, expected ({self.obs_dim},)")
        if self.size == self.capacity:
            self._grow()
        row, arrays = self.size, self._arrays
        arrays["obs"][row] = obs
        arrays["actions"][row] = action
        arrays["rewards"][row] = reward
        arrays["next_obs"][row] = next_obs
        arrays["terminated"][row] = terminated
        arrays["truncated"][row] = truncated
        self.size += 1

    def _grow(self) -> None:
        bigger = self._allocate(2 * self.capacity)
        for name, array in self._arrays.items():
            bigger[name][: self.size] = array[: self.size]
        self._arrays = bigger

    def batch(self) -> RolloutBatch:
        """Views of the stored transitions (valid until the next ``add`` / ``clear``)."""
        return RolloutBatch(*(self._arrays[name][: self.size] for name in _FIELDS))

    def clear(self) -> None:
        """Forget the stored transitions (the arrays are kept for reuse)."""
        self.size = 0

    def state_dict(self) -> dict[str, Any]:
        """The stored transitions as NumPy copies (only the used rows)."""
        return {"size": self.size, **{name: a.copy() for name, a in zip(
            _FIELDS, self.batch(), strict=True)}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :raises AgentError: when the arrays do not fit this rollout.
        """
        size = int(state["size"])
        rows = max(self.capacity, size)
        arrays = self._allocate(rows)
        for name in _FIELDS:
            stored = np.asarray(state[name])
            if stored.shape[:1] != (size,) or stored.shape[1:] != arrays[name].shape[1:]:
                expected = (size, *arrays[name].shape[1:])
                raise AgentError(f"rollout {name} has shape {stored.shape}, expected {expected}")
            arrays[name][:size] = stored
        self._arrays, self.size = arrays, size
