"""Forecasters beside the LSTM: the course's random-forest baseline, and the
pair that runs a model with the forest as its comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlbt.agents.memory import SHARE, format_bytes, memory_budget
from rlbt.engine.errors import ConfigError

MAX_TREES = 10_000
"""More trees than this change a forest's forecast by less than its noise and
take hours to fit: refused as a param (memory is checked at fit time too)."""


class ForestForecaster:
    """scikit-learn random forest (the course's: 500 trees, sqrt features) on
    flattened windows, fitted once on the train slice's table (``fit``, from
    the strategy's ``pretrain``) before any bar is scored, and frozen: the
    examples a run hands it online are ignored, so it never sees a window it
    is scored on."""

    NODE_BYTES = 80
    """What one fitted tree node holds (sklearn's node struct and its value)."""

    def __init__(self, n_estimators: int = 500, seed: int = 0, param: str = "trees") -> None:
        try:
            from sklearn.ensemble import RandomForestRegressor
        except ImportError as exc:
            raise ConfigError(
                "the forest forecaster needs scikit-learn: pip install 'rlbt[forest]'."
            ) from exc
        # n_jobs=1: same seed, same trees, whatever the machine; sweeps parallelise runs.
        self.model = RandomForestRegressor(
            n_estimators=n_estimators, max_features="sqrt", random_state=seed, n_jobs=1
        )
        self.fitted, self.param = False, param

    def fit(self, windows: np.ndarray, labels: np.ndarray) -> None:
        """Fit on the finite rows of a supervised table (the train slice).

        :raises ConfigError: when the fitted trees would not fit in memory.
        """
        finite = np.isfinite(windows).all(axis=(1, 2)) & np.isfinite(labels)
        self.check_memory(int(finite.sum()))
        if finite.sum() >= 2:
            self.model.fit(windows[finite].reshape(int(finite.sum()), -1), labels[finite])
            self.fitted = True

    def check_memory(self, rows: int) -> None:
        """Refuse, before fitting, a forest whose trees cannot be held: a fully
        grown tree has up to ``2 * rows`` nodes."""
        trees = int(self.model.n_estimators)
        need = trees * 2 * rows * self.NODE_BYTES
        budget, source = memory_budget()
        if need > SHARE * budget:
            raise ConfigError(
                f"--param {self.param}={trees}: {trees:,} trees on {rows:,} training "
                f"windows need about {format_bytes(need)}, more than the "
                f"{format_bytes(budget)} this process may use ({source}); choose fewer trees."
            )

    def add_example(self, window: np.ndarray, label: float) -> None:
        """Online examples are ignored: the forest is fitted on the train slice only."""

    def predict(self, window: np.ndarray) -> float:
        return float(self.predict_batch(window[np.newaxis])[0])

    def predict_batch(self, windows: np.ndarray) -> np.ndarray:
        if not self.fitted:
            return np.full(len(windows), np.nan)
        return np.asarray(self.model.predict(windows.reshape(len(windows), -1)), dtype=float)


class ForecasterPair:
    """A primary forecaster that trades, and a forest beside it for comparison
    (``compare`` gives the forest's forecasts for the forecast metrics)."""

    def __init__(self, primary: Any, forest: ForestForecaster | None) -> None:
        self.primary, self.forest = primary, forest

    def predict(self, window: np.ndarray) -> float:
        return float(self.primary.predict(window))

    def add_example(self, window: np.ndarray, label: float) -> None:
        self.primary.add_example(window, label)

    def step(self) -> dict[str, float] | None:
        stats: dict[str, float] | None = self.primary.step()
        return stats

    def compare(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        if self.forest is None:
            return {}
        return {"forest": self.forest.predict_batch(windows)}

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = self.primary.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the primary model (validation selection restores the best episode)."""
        self.primary.load_state_dict(state)

    def save(self, path: str | Path) -> None:
        """Saves the primary model (a forest is not saved: refit it from data)."""
        self.primary.save(path)
