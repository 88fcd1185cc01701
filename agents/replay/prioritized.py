"""Proportional prioritized replay over a sum tree (Schaul et al., 2016).

The uniform ``ReplayBuffer`` (``rlbt.agents.replay.buffer``) does the storing
and the n-step window; this subclass adds priorities and importance weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.replay.buffer import Batch, ReplayBuffer
from rlbt.agents.replay.sum_tree import SumTree


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al., 2016) over a sum tree.

    ``P(i) = (p_i + eps)**alpha / sum_j (p_j + eps)**alpha``. A new transition gets
    the largest priority seen so far (1 at first). ``sample`` draws one point in
    each of ``B`` equal segments of the total (stratified) and returns weights
    ``(N * P(i))**-beta`` divided by the batch's largest weight.
    """

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        *,
        seed: int,
        alpha: float = 0.6,
        beta: float = 0.4,
        eps: float = 1e-6,
        obs_dtype: npt.DTypeLike = np.float32,
        n_step: int = 1,
        gamma: float = 0.99,
    ) -> None:
        """:param capacity: transitions kept; the oldest are overwritten first.
        :param obs_shape: shape of one observation, e.g. ``(32,)``.
        :param seed: seeds the buffer's own ``numpy.random.Generator``.
        :param alpha: how much priorities count (0 samples uniformly).
        :param beta: importance-sampling exponent, settable as ``buffer.beta`` (annealing).
        :param eps: added to every priority (> 0) so every transition keeps a chance.
        :param obs_dtype: storage dtype of observations (always sampled as float32).
        :param n_step: rewards folded into each stored transition.
        :param gamma: discount of the folded rewards and of ``Batch.discounts``.
        """
        super().__init__(capacity, obs_shape, seed=seed, obs_dtype=obs_dtype, n_step=n_step,
                         gamma=gamma)
        if not (math.isfinite(alpha) and alpha >= 0):
            raise AgentError(f"alpha must be finite and >= 0, got {alpha!r}")
        if not (math.isfinite(eps) and eps > 0):
            raise AgentError(f"eps must be finite and > 0, got {eps!r}")
        self._alpha = float(alpha)
        self._eps = float(eps)
        self.beta = beta
        self._tree = SumTree(self.capacity)
        self._max_priority = 1.0
        self._synced = 0  # transitions written whose tree leaf is set

    @property
    def beta(self) -> float:
        """Importance-sampling exponent: 0 leaves weights at 1, 1 corrects fully."""
        return self._beta

    @beta.setter
    def beta(self, value: float) -> None:
        if not (math.isfinite(value) and value >= 0):
            raise AgentError(f"beta must be finite and >= 0, got {value!r}")
        self._beta = float(value)

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` transitions with probability proportional to priority.

        :param batch_size: rows to draw, ``1 <= batch_size <= len(self)``.
        """
        n = self._check_batch_size(batch_size)
        self._sync()
        total = self._tree.total
        targets = self._rng.random(n)
        targets += np.arange(n)
        targets *= total / n
        size = self._store.size
        # limit: a rounding overshoot past the total must not land on an unfilled slot
        indices, leaf = self._tree.find_prefix(targets, limit=size)
        leaf *= size / total  # N * P(i)
        weights = np.power(leaf, -self._beta, dtype=np.float32)
        weights /= weights.max()
        return self._batch(indices, weights)

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffer's arrays, the sum tree included."""
        return super().nbytes + self._tree.nbytes

    def update_priorities(self, indices: npt.ArrayLike, priorities: npt.ArrayLike) -> None:
        """Set the priorities (e.g. ``|TD error|``) of sampled transitions.

        A slot overwritten since it was sampled passes the priority on to its new
        transition, as in the reference implementations: the next sample corrects it.

        :param indices: ``Batch.indices`` of the sample.
        :param priorities: one finite value >= 0 per index.
        """
        idx = self._check_indices(indices)
        prio = np.asarray(priorities, dtype=np.float64)
        if prio.shape != idx.shape:
            raise AgentError(f"got {idx.size} indices but priorities of shape {prio.shape}")
        if not np.isfinite(prio).all() or (prio < 0).any():
            raise AgentError("priorities must be finite and >= 0 (e.g. |TD error|)")
        self._sync()  # so the deferred leaves get the max priority as it was when added
        if prio.size:
            self._max_priority = max(self._max_priority, float(prio.max()))
        self._tree.update(idx, (prio + self._eps) ** self._alpha)

    def state_dict(self) -> dict[str, Any]:
        """The uniform buffer's state plus the sum tree, max priority and beta."""
        self._sync()
        return {**super().state_dict(), **self._tree.state_dict(), "alpha": self._alpha,
                "eps": self._eps, "max_priority": self._max_priority, "beta": self._beta}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :param state: a dict from ``state_dict``.
        :raises CheckpointError: when the state is incomplete or from another buffer shape.
        """
        try:
            max_priority = float(state["max_priority"])
            beta = float(state["beta"])
            saved = (float(state["alpha"]), float(state["eps"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"prioritized replay state is incomplete: {exc!r}") from exc
        if saved != (self._alpha, self._eps):
            raise CheckpointError(
                f"prioritized replay state was saved with (alpha, eps) = {saved}, "
                f"this buffer has {(self._alpha, self._eps)}"
            )
        if "tree" not in state:
            raise CheckpointError("prioritized replay state has no sum tree ('tree')")
        tree = SumTree(self.capacity)
        tree.load_state_dict(state)
        super().load_state_dict(state)
        self._tree = tree
        self._max_priority = max_priority
        self.beta = beta
        self._synced = self._store.written

    def _sync(self) -> None:
        """Give the transitions written since the last sync the max priority.

        ``add`` only writes the ring; leaves are set here in one vectorised update,
        before anything reads the tree or changes the max priority.
        """
        store = self._store
        m = min(store.written - self._synced, store.capacity)
        if m > 0:
            slots = (store.cursor - m + np.arange(m)) % store.capacity
            leaf = (self._max_priority + self._eps) ** self._alpha
            self._tree.update(slots, np.full(m, leaf))
        self._synced = store.written
