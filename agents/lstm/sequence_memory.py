"""Memory of complete supervised examples: (window, label) pairs in a preallocated ring.

An example enters only once its label is known (at bar ``t + horizon`` for the
window ending at bar ``t``), so everything stored and sampled is complete and
lies in the past. Windows are kept raw (unscaled): the forecaster scales a
sampled batch with its current running statistics, the same ones it predicts
with. Example ``e`` (counting every add) lives in slot ``e % capacity``; the
oldest are overwritten first. The memory owns its ``numpy.random.Generator``.

Memory: ``capacity * window_size * n_features * 4`` bytes, e.g. 10,000 examples
of 32 bars x 8 features is about 10 MB.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import numpy.typing as npt

from rlbt.agents.errors import AgentError, CheckpointError


class SequenceMemory:
    """A ring of ``capacity`` (window, label) examples with uniform sampling."""

    def __init__(self, capacity: int, window_size: int, n_features: int, *, seed: int) -> None:
        """:param capacity: examples kept; the oldest are overwritten first.
        :param window_size: bars per window.
        :param n_features: features per bar.
        :param seed: seeds the memory's own generator (sampling).
        """
        for name, value in (("capacity", capacity), ("window_size", window_size),
                            ("n_features", n_features)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise AgentError(f"{name} must be an integer >= 1, got {value!r}")
        self.capacity = int(capacity)
        self.window_shape = (int(window_size), int(n_features))
        self._windows = np.zeros((self.capacity, *self.window_shape), dtype=np.float32)
        self._labels = np.zeros(self.capacity, dtype=np.float32)
        self._rng = np.random.default_rng(seed)
        self.written = 0  # examples added so far
        self.cursor = 0  # the next slot: written % capacity

    def __len__(self) -> int:
        """Examples held: ``min(written, capacity)``."""
        return min(self.written, self.capacity)

    def add(self, window: npt.ArrayLike, label: float) -> None:
        """Store one example.

        :param window: ``(window_size, n_features)``, oldest bar first.
        :param label: its target value.
        """
        self.add_batch(np.asarray(window, dtype=np.float32)[np.newaxis], [label])

    def add_batch(self, windows: npt.ArrayLike, labels: npt.ArrayLike) -> None:
        """Store ``k`` examples in order: the same result as ``k`` calls to ``add``.

        :param windows: ``(k, window_size, n_features)``.
        :param labels: ``(k,)``.
        """
        w = np.asarray(windows, dtype=np.float32)
        y = np.asarray(labels, dtype=np.float32)
        if w.ndim != 3 or w.shape[1:] != self.window_shape or y.shape != w.shape[:1]:
            raise AgentError(
                f"examples have windows {w.shape} and labels {y.shape}; expected windows "
                f"(k, *{self.window_shape}) and labels (k,)"
            )
        k = w.shape[0]
        if k > self.capacity:  # only the newest `capacity` would survive anyway
            w, y = w[-self.capacity:], y[-self.capacity:]
            self.written += k - self.capacity
            self.cursor = self.written % self.capacity
        slots = (self.cursor + np.arange(w.shape[0])) % self.capacity
        self._windows[slots] = w
        self._labels[slots] = y
        self.written += w.shape[0]
        self.cursor = self.written % self.capacity

    def sample(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``batch_size`` stored examples uniformly, with replacement.

        :param batch_size: rows to draw, ``1 <= batch_size <= len(self)``.
        :return: C-contiguous float32 windows ``(B, window_size, n_features)`` and labels ``(B,)``.
        """
        try:
            n = operator.index(batch_size)
        except TypeError:
            raise AgentError(f"batch_size must be an integer, got {batch_size!r}") from None
        if not 0 < n <= len(self):
            raise AgentError(
                f"cannot sample {n} examples from a memory holding {len(self)}: "
                "batch_size must lie in [1, len(memory)]; add examples before sampling"
            )
        indices = self._rng.integers(len(self), size=n)  # only filled slots
        return self.gather(indices)

    def gather(self, indices: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The examples at slots ``indices``; draws no random numbers.

        :param indices: 1-D slots in ``[0, len(self))``.
        """
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise AgentError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise AgentError(f"indices must lie in [0, {len(self)}) (the stored examples)")
        return self._windows.take(idx, axis=0), self._labels.take(idx)

    def state_dict(self) -> dict[str, Any]:
        """Copies of the filled slots, the counters and the RNG state."""
        size = len(self)
        return {
            "windows": self._windows[:size].copy(),
            "labels": self._labels[:size].copy(),
            "written": self.written,
            "rng": dict(self._rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned, into a memory of the same settings.

        :param state: a dict from ``state_dict`` (arrays, or tensors turned back).
        :raises CheckpointError: when it is incomplete or from a memory of another shape.
        """
        try:
            windows = np.asarray(state["windows"], dtype=np.float32)
            labels = np.asarray(state["labels"], dtype=np.float32)
            written = int(state["written"])
            rng = np.random.Generator(type(self._rng.bit_generator)())
            rng.bit_generator.state = dict(state["rng"])
        except (KeyError, TypeError, ValueError, OverflowError) as exc:  # RNG ints
            raise CheckpointError(f"sequence memory state is incomplete: {exc!r}") from exc
        size = min(written, self.capacity)
        if windows.shape != (size, *self.window_shape) or labels.shape != (size,):
            raise CheckpointError(
                f"sequence memory state holds windows {windows.shape} and labels {labels.shape}; "
                f"this memory expects ({size}, *{self.window_shape}) and ({size},) "
                f"(capacity {self.capacity})"
            )
        self._windows[:size] = windows
        self._labels[:size] = labels
        self.written = written
        self.cursor = written % self.capacity
        self._rng = rng
