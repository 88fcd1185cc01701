"""Replay memory: uniform and prioritized sampling over a preallocated NumPy ring.

``ReplayBuffer`` checks input and samples. The pieces beside it: the ring,
which stores each observation once (``rlbt.agents.replay.storage``, layout and
memory figures there), the n-step window (``rlbt.agents.replay.nstep``) and the sum
tree (``rlbt.agents.replay.sum_tree``). No Python object is kept per transition, and each
buffer owns its ``numpy.random.Generator``.

Every row carries ``discounts = gamma**k`` for the ``k`` rewards folded into it
(``gamma`` for one-step rows), so every agent computes
``target = r + discount * (1 - terminated) * Q(next_obs)``; with ``n_step > 1``
the steps still in the window are neither sampled nor counted by ``len``.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.replay.nstep import NStepWindow
from rlbt.agents.replay.storage import TransitionStore


class Batch(NamedTuple):
    """A sampled batch: C-contiguous arrays ready for ``torch.from_numpy``."""

    obs: np.ndarray
    """float32 ``[B, *obs_shape]``."""
    actions: np.ndarray
    """int64 ``[B]``."""
    rewards: np.ndarray
    """float32 ``[B]``: the discounted sum of up to ``n_step`` rewards."""
    next_obs: np.ndarray
    """float32 ``[B, *obs_shape]``: the observation to bootstrap from."""
    terminated: np.ndarray
    """float32 ``[B]``: 1.0 where the future is worth 0."""
    weights: np.ndarray
    """float32 ``[B]`` importance weights (ones for uniform sampling)."""
    indices: np.ndarray
    """int64 ``[B]`` slots, for ``update_priorities``."""
    discounts: np.ndarray
    """float32 ``[B]``: ``gamma**k`` for the ``k`` rewards folded into ``rewards``."""


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise AgentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class ReplayBuffer:
    """Uniform replay memory over a ring of ``capacity`` transitions."""

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        *,
        seed: int,
        obs_dtype: npt.DTypeLike = np.float32,
        n_step: int = 1,
        gamma: float = 0.99,
    ) -> None:
        """:param capacity: transitions kept; the oldest are overwritten first.
        :param obs_shape: shape of one observation, e.g. ``(32,)``.
        :param seed: seeds the buffer's own ``numpy.random.Generator``.
        :param obs_dtype: storage dtype of observations (always sampled as float32).
        :param n_step: rewards folded into each stored transition.
        :param gamma: discount of the folded rewards and of ``Batch.discounts``.
        """
        capacity = _check_int("capacity", capacity, 1)
        self._n_step = _check_int("n_step", n_step, 1)
        if not 0.0 <= gamma <= 1.0:
            raise AgentError(f"gamma must lie in [0, 1], got {gamma!r}")
        self._gamma = float(gamma)
        self._obs_shape = tuple(_check_int("obs_shape entries", d, 1) for d in obs_shape)
        self._obs_dtype = np.dtype(obs_dtype)
        if self._obs_dtype.kind not in "fiub":
            raise AgentError(f"obs_dtype must be numeric, got {self._obs_dtype}")
        self._rng = np.random.default_rng(seed)
        self._ones_cache: dict[int, np.ndarray] = {}
        self._store = TransitionStore(capacity, self._obs_shape, self._obs_dtype, self._n_step)
        self._write = self._store.write  # bound once: add() is the per-bar hot path
        self._window = NStepWindow(self._n_step, self._gamma, self._obs_shape, self._obs_dtype,
                                   self._write)

    @property
    def capacity(self) -> int:
        """Most transitions kept."""
        return self._store.capacity

    @property
    def obs_shape(self) -> tuple[int, ...]:
        """Shape of one observation."""
        return self._obs_shape

    @property
    def n_step(self) -> int:
        """Rewards folded into each stored transition."""
        return self._n_step

    @property
    def nbytes(self) -> int:
        """Bytes held by the buffer's arrays (observations, scalars, n-step window)."""
        return self._store.nbytes + self._window.nbytes

    def __len__(self) -> int:
        return self._store.size

    def add(
        self, obs: npt.ArrayLike, action: int, reward: float, next_obs: npt.ArrayLike,
        terminated: bool,
    ) -> None:
        """Store one transition.

        With ``n_step > 1`` the step joins the window and the oldest step is written
        once ``n_step`` rewards are known; ``terminated`` writes the whole window,
        and an ``obs`` whose bytes differ from the previous ``next_obs`` first
        flushes the window as a truncation (see ``flush``).

        :param obs: observation of shape ``obs_shape``.
        :param action: the action taken (an integer).
        :param reward: its reward.
        :param next_obs: the observation that followed, shape ``obs_shape``.
        :param terminated: a true terminal: the future is worth 0.
        """
        dtype = self._obs_dtype
        if (type(obs) is np.ndarray and type(next_obs) is np.ndarray  # the online case: no cast
                and obs.dtype is dtype and next_obs.dtype is dtype):
            o, nx = obs, next_obs
        else:
            o, nx = np.asarray(obs, dtype=dtype), np.asarray(next_obs, dtype=dtype)
        if o.shape != self._obs_shape or nx.shape != self._obs_shape:
            raise AgentError(
                f"obs and next_obs must have shape {self._obs_shape}, got {o.shape} and {nx.shape}"
            )
        if self._n_step == 1:
            self._write(o, action, reward, nx, terminated, self._gamma)
        else:
            self._window.add(o, action, reward, nx, terminated)

    def add_batch(
        self, obs: npt.ArrayLike, actions: npt.ArrayLike, rewards: npt.ArrayLike,
        next_obs: npt.ArrayLike, terminated: npt.ArrayLike,
    ) -> None:
        """Store ``k`` transitions in order: the same result as ``k`` calls to ``add``.

        Vectorised (wrap-around included) for ``n_step == 1``; row by row otherwise.

        :param obs: ``[k, *obs_shape]``.
        :param actions: ``[k]`` integers.
        :param rewards: ``[k]``.
        :param next_obs: ``[k, *obs_shape]``.
        :param terminated: ``[k]`` booleans.
        """
        o = np.ascontiguousarray(obs, dtype=self._obs_dtype)
        nx = np.ascontiguousarray(next_obs, dtype=self._obs_dtype)
        act = np.asarray(actions)
        rew = np.asarray(rewards, dtype=np.float32)
        term = np.asarray(terminated, dtype=np.float32)
        k = act.shape[0] if act.ndim == 1 else -1
        want = (k, *self._obs_shape)
        if o.shape != want or nx.shape != want or rew.shape != (k,) or term.shape != (k,):
            raise AgentError(
                f"add_batch wants actions [k], rewards [k], terminated [k], obs and next_obs "
                f"[k, *{self._obs_shape}]; got actions {act.shape}, rewards {rew.shape}, "
                f"terminated {term.shape}, obs {o.shape}, next_obs {nx.shape}"
            )
        if k and act.dtype.kind not in "iub":
            raise AgentError(f"actions must be integers, got {act.dtype}")
        if self._n_step > 1:
            for i in range(k):
                self._window.add(o[i], int(act[i]), float(rew[i]), nx[i], bool(term[i]))
        elif k:
            self._store.write_batch(o, act.astype(np.int64), rew, nx, term, self._gamma)

    def flush(self) -> None:
        """Write the pending n-step window as a truncation (end of data).

        Each pending step keeps its partial return of ``k`` rewards, the last
        ``next_obs`` and ``terminated = False``, with ``discounts = gamma**k`` so the
        agent still bootstraps. A no-op when ``n_step == 1`` or the window is empty.
        """
        self._window.drain(terminated=False)

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` stored transitions uniformly, with replacement.

        :param batch_size: rows to draw, ``1 <= batch_size <= len(self)``.
        """
        n = self._check_batch_size(batch_size)
        # One raw 64-bit draw per row reduced modulo len: the generator advances as
        # rng.random(n) would, at a quarter of rng.integers' cost (whose fixed overhead
        # dominates small batches); the modulo bias is below len / 2**64 (1e-13 at 1M).
        raw = self._rng.bit_generator.random_raw(n)
        raw %= self._store.size
        indices = raw.view(np.int64)  # < 2**63: the same values
        obs, actions, rewards, next_obs, terminated, discounts = self._store.gather(indices)
        return Batch(obs, actions, rewards, next_obs, terminated, self._ones(n), indices,
                     discounts)

    def _ones(self, n: int) -> np.ndarray:
        """A fresh float32 array of ``n`` ones (a copy of a cached one: 3x cheaper than np.ones)."""
        ones = self._ones_cache.get(n)
        if ones is None:
            ones = self._ones_cache[n] = np.ones(n, dtype=np.float32)
        return ones.copy()

    def gather(self, indices: npt.ArrayLike) -> Batch:
        """The stored transitions at slots ``indices``, weights 1; draws no random numbers.

        :param indices: 1-D slots in ``[0, len(self))``.
        """
        idx = self._check_indices(indices)
        return self._batch(idx, self._ones(idx.size))

    def state_dict(self) -> dict[str, Any]:
        """Copies of the arrays and counters, and the RNG state: loading it resumes identically."""
        return {
            **self._store.state_dict(),
            **self._window.state_dict(),
            "gamma": self._gamma,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned, into a buffer built with the same settings.

        :param state: a dict from ``state_dict`` (NumPy arrays, or tensors turned back).
        :raises CheckpointError: when the state is incomplete or from a buffer of another shape.
        """
        try:
            gamma = float(state["gamma"])
            rng = np.random.Generator(type(self._rng.bit_generator)())
            rng.bit_generator.state = dict(state["rng"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # RNG ints
            raise CheckpointError(f"replay state is incomplete or malformed: {exc!r}") from exc
        if gamma != self._gamma:
            raise CheckpointError(f"replay state was saved with gamma {gamma}, not {self._gamma}")
        window = NStepWindow(self._n_step, self._gamma, self._obs_shape, self._obs_dtype,
                             self._write)
        window.load_state_dict(state)
        self._store.load_state_dict(state)  # checks everything before changing anything
        self._window = window
        self._rng = rng

    def _check_batch_size(self, batch_size: int) -> int:
        try:
            n = operator.index(batch_size)
        except TypeError:
            raise AgentError(f"batch_size must be an integer, got {batch_size!r}") from None
        if not 0 < n <= self._store.size:
            raise AgentError(
                f"cannot sample {n} transitions from a buffer holding {self._store.size}: "
                "batch_size must lie in [1, len(buffer)]; add transitions before sampling"
            )
        return n

    def _check_indices(self, indices: npt.ArrayLike) -> np.ndarray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise AgentError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self._store.size):
            raise AgentError(
                f"indices must lie in [0, {self._store.size}) (the stored transitions), "
                f"got [{idx.min()}, {idx.max()}]"
            )
        return idx.astype(np.int64)

    def _batch(self, indices: np.ndarray, weights: np.ndarray) -> Batch:
        obs, actions, rewards, next_obs, terminated, discounts = self._store.gather(indices)
        return Batch(obs, actions, rewards, next_obs, terminated, weights, indices, discounts)
