"""N-step returns folded at write time, for the replay ring.

The window keeps the last ``n`` raw steps not yet written. Once it holds ``n``
rewards its oldest step ``t`` is written as one transition: reward
``sum_{k<n} gamma**k r[t+k]``, ``next_obs`` = the observation at ``t + n``,
``discount = gamma**n``. A terminal step writes the whole window as terminated
(each step with the rewards up to the end); ``drain(terminated=False)`` does
the same for a truncation, and the agent bootstraps with ``discount = gamma**k``
for the ``k`` rewards a row holds. A step whose ``obs`` bytes differ from the
previous ``next_obs`` means the stream broke without a flush: the window is
drained as a truncation first, so no return ever spans two streams.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlbt.agents.errors import CheckpointError

Write = Callable[[np.ndarray, int, float, np.ndarray, bool, float], None]
_KEYS = ("window_obs", "window_actions", "window_rewards", "window_next")


class NStepWindow:
    """Raw steps awaiting their n-step return; full rows go to ``write``."""

    def __init__(
        self, n: int, gamma: float, obs_shape: tuple[int, ...], obs_dtype: np.dtype[Any],
        write: Write,
    ) -> None:
        """:param n: rewards per written transition, >= 1 (validated by the caller).
        :param gamma: the discount.
        :param obs_shape: shape of one observation.
        :param obs_dtype: storage dtype of observations.
        :param write: ``write(obs, action, reward, next_obs, terminated, discount)``.
        """
        self._n = n
        self._write = write
        self._gamma_pow = gamma ** np.arange(n + 1, dtype=np.float64)
        # oldest first; n is small, so shifting by a copy beats ring arithmetic
        self._obs = np.zeros((n, *obs_shape), obs_dtype)
        self._actions = np.zeros(n, dtype=np.int64)
        self._rewards = np.zeros(n, dtype=np.float64)
        self._next = np.zeros(obs_shape, obs_dtype)
        self._len = 0

    def add(
        self, o: np.ndarray, action: int, reward: float, nx: np.ndarray, terminated: bool
    ) -> None:
        """Append one raw step and write whatever it completes."""
        if self._len and o.tobytes() != self._next.tobytes():
            self.drain(terminated=False)  # the stream broke without a flush
        m = self._len
        self._obs[m] = o
        self._actions[m] = action
        self._rewards[m] = reward
        self._next[...] = nx
        self._len = m + 1
        if terminated:
            self.drain(terminated=True)
        elif self._len == self._n:
            self._write_row(0, terminated=False)
            self._obs[:-1] = self._obs[1:]
            self._actions[:-1] = self._actions[1:]
            self._rewards[:-1] = self._rewards[1:]
            self._len -= 1

    @property
    def nbytes(self) -> int:
        """Bytes held by the pending steps."""
        return sum(a.nbytes for a in (self._obs, self._actions, self._rewards, self._next))

    def drain(self, terminated: bool) -> None:
        """Write every pending step with its partial return, then empty the window."""
        for i in range(self._len):
            self._write_row(i, terminated)
        self._len = 0

    def _write_row(self, i: int, terminated: bool) -> None:
        """Write step ``i`` with the return of the steps from ``i`` to the end of the window."""
        k = self._len - i
        ret = float(self._rewards[i:self._len] @ self._gamma_pow[:k])
        self._write(self._obs[i], int(self._actions[i]), ret, self._next, terminated,
                    float(self._gamma_pow[k]))

    def state_dict(self) -> dict[str, Any]:
        """Copies of the pending steps."""
        arrays = (self._obs, self._actions, self._rewards, self._next)
        return {**{key: a.copy() for key, a in zip(_KEYS, arrays, strict=True)},
                "window_len": self._len}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (extra keys are ignored).

        :raises CheckpointError: when the state is from a window of another size.
        """
        try:
            arrays = [np.array(state[key]) for key in _KEYS]
            length = int(state["window_len"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"replay state is incomplete or malformed: {exc!r}") from exc
        shapes = [a.shape for a in (self._obs, self._actions, self._rewards, self._next)]
        if [a.shape for a in arrays] != shapes or not 0 <= length < self._n:
            raise CheckpointError(
                f"replay state has an n-step window of another size (expected n_step {self._n})"
            )
        self._obs = arrays[0].astype(self._obs.dtype)
        self._actions = arrays[1].astype(np.int64)
        self._rewards = arrays[2].astype(np.float64)
        self._next = arrays[3].astype(self._next.dtype)
        self._len = length
