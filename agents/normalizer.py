"""Running mean and standard deviation of the data seen so far (Welford / Chan).

A forecaster scales its inputs with statistics of the PAST only: every value
enters through ``update`` once it is known, and ``normalize`` uses whatever
has been added up to now. Nothing is ever fitted on a whole series at once,
so a prediction at bar t can never depend on a bar after t.

Sums are kept in float64 and merged with Chan et al.'s parallel form of
Welford's update, so a batch of ``k`` rows gives the same statistics as ``k``
single adds (up to rounding) and long runs do not lose precision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from rlbt.agents.errors import AgentError, CheckpointError


class RunningNormalizer:
    """Per-feature running mean / std of everything passed to ``update``.

    The standard deviation is the population one (``ddof=0``). A feature whose
    std is still below ``min_std`` (nothing added yet, one value, a constant)
    is only centred, not scaled: dividing by ~0 would blow up its next change.
    """

    def __init__(
        self, shape: tuple[int, ...] = (), *, min_std: float = 1e-8, clip: float | None = None
    ) -> None:
        """:param shape: shape of one value, e.g. ``(n_features,)``; ``()`` for scalars.
        :param min_std: below this the std counts as 1 (no scaling).
        :param clip: clip normalized values to ``[-clip, clip]``; None to not clip.
        """
        if not (np.isfinite(min_std) and min_std > 0):
            raise AgentError(f"min_std must be finite and > 0, got {min_std!r}")
        if clip is not None and not (np.isfinite(clip) and clip > 0):
            raise AgentError(f"clip must be None or finite and > 0, got {clip!r}")
        self.shape = tuple(shape)
        self.min_std = float(min_std)
        self.clip = clip
        self.count = 0
        self._mean = np.zeros(self.shape, dtype=np.float64)
        self._m2 = np.zeros(self.shape, dtype=np.float64)  # sum of squared deviations

    @property
    def mean(self) -> np.ndarray:
        """Mean of the values added so far (zeros before the first)."""
        return self._mean.copy()

    @property
    def var(self) -> np.ndarray:
        """Population variance of the values added so far (zeros before two)."""
        return self._m2 / self.count if self.count else np.zeros(self.shape)

    @property
    def std(self) -> np.ndarray:
        """The divisor ``normalize`` uses: the std, or 1 where it is below ``min_std``."""
        std = np.sqrt(self.var)
        return np.where(std >= self.min_std, std, 1.0)

    def update(self, values: npt.ArrayLike) -> None:
        """Add a batch of values: shape ``(k, *shape)``, or one value of ``shape``.

        :param values: finite numbers (the caller drops non-finite ones: a NaN
            would stay in the mean forever).
        :raises AgentError: on a wrong shape or a non-finite value.
        """
        batch = np.asarray(values, dtype=np.float64)
        if batch.shape == self.shape:
            batch = batch[np.newaxis]
        if batch.shape[1:] != self.shape:
            raise AgentError(
                f"normalizer values have shape {batch.shape}, expected {self.shape} "
                f"or (k, *{self.shape})"
            )
        if not np.isfinite(batch).all():
            raise AgentError("normalizer values must be finite; drop NaN / inf rows first")
        k = batch.shape[0]
        if k == 0:
            return
        batch_mean = batch.mean(axis=0)
        batch_m2 = np.square(batch - batch_mean).sum(axis=0)
        total = self.count + k
        delta = batch_mean - self._mean
        # Chan's merge: exact for any split of the data into batches
        self._mean += delta * (k / total)
        self._m2 += batch_m2 + np.square(delta) * (self.count * k / total)
        self.count = total

    def normalize(self, values: npt.ArrayLike) -> np.ndarray:
        """``(values - mean) / std`` with the current statistics, as float32.

        :param values: any shape ending in ``shape``.
        """
        out = (np.asarray(values, dtype=np.float64) - self._mean) / self.std
        if self.clip is not None:
            out = np.clip(out, -self.clip, self.clip)
        return out.astype(np.float32)

    def denormalize(self, values: npt.ArrayLike) -> np.ndarray:
        """Inverse of ``normalize`` (without the clip): ``values * std + mean``, float64.

        :param values: any shape ending in ``shape``.
        """
        return np.asarray(values, dtype=np.float64) * self.std + self._mean

    def state_dict(self) -> dict[str, Any]:
        """Copies of the count and the float64 sums: loading them restores exactly."""
        return {"count": self.count, "mean": self._mean.copy(), "m2": self._m2.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :param state: a dict from ``state_dict`` (arrays, or tensors turned back).
        :raises CheckpointError: when it is incomplete or of another shape.
        """
        try:
            count = int(state["count"])
            mean = np.array(state["mean"], dtype=np.float64)
            m2 = np.array(state["m2"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"normalizer state is incomplete or malformed: {exc!r}") from exc
        if self.shape == () and mean.shape == m2.shape == (1,):
            mean, m2 = mean.reshape(()), m2.reshape(())  # a checkpoint stores 0-d arrays as 1-d
        if mean.shape != self.shape or m2.shape != self.shape or count < 0:
            raise CheckpointError(
                f"normalizer state has count {count}, shapes {mean.shape} / {m2.shape}; "
                f"expected shape {self.shape}"
            )
        self.count, self._mean, self._m2 = count, mean, m2
