"""``ForecastStrategy``: a sequence forecaster reads a sliding window of past
bars, predicts the log return over the next ``horizon`` bars, and the
strategy buys or sells on the forecast.

Label timing: the example for the window ending at bar t is complete only at
bar t + horizon, and only then is it handed to the forecaster
(``add_example``); the forecaster trains on its own cadence (``step``). At
every bar the strategy records its forecast beside the mean-of-20 and
last-value forecasts of the same bar, for the forecast metrics.

The forecaster ("agent" param, built by ``build_agent``) needs
``predict(window) -> float`` and ``add_example(window, label)``; ``step()``
and ``end_episode()`` are optional. With ``--tensorboard`` the stats that
``step()`` returns go to the live log as ``AgentStrategy``'s do: their means
every ``PROGRESS_EVERY`` bars.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.agent_strategy import PROGRESS_EVERY, _set_by_runner, summarise
from rlbt.strategies.exposure import ExposureStrategy
from rlbt.strategies.forecast_features import (
    feature_matrix,
    feature_row,
    forecast_label,
    supervised_table,
)
from rlbt.strategies.forecast_metrics import forecast_metrics, forecast_table

MEAN_WINDOW = 20  # the course's baseline: the mean of the last 20 closes


class ForecastStrategy(ExposureStrategy):
    """Long when the forecast return exceeds `threshold`, flat (or short) below
    -threshold, else hold."""

    params: Any = (
        ("agent", None),  # the forecaster; set by the runner
        ("learn", True),  # hand complete examples to the forecaster and let it train
        ("explore", True),  # unused: forecasts are deterministic
        ("progress", None),  # callable for progress bars; set by the runner
        ("window_size", 32),  # past bars in each input window
        ("horizon", 1),  # bars ahead the forecast is for
        ("threshold", 0.0),  # minimum |forecast| (log return) to change position
        # live training log (engine TrainingLog): update(bars, stats); set by the runner
        ("tensorboard", None),
    )
    param_rules: ClassVar[dict[str, Rule]] = {
        "window_size": Rule(low=1, integer=True),
        "horizon": Rule(low=1, integer=True),
        "threshold": Rule(low=0.0, example="0.001 (a 0.1% forecast return)"),
        "tensorboard": Rule(check=_set_by_runner),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ("window_size", "horizon")

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """A window of ``window_size`` bars and its label ``horizon`` bars later."""
        merged = cls.with_defaults(params)
        return int(merged["window_size"]) + int(merged["horizon"])

    def __init__(self) -> None:
        super().__init__()
        if self.p.agent is None:
            raise ConfigError(f"{type(self).__name__} needs a forecaster (param 'agent').")
        self.forecaster = self.p.agent
        self.min_history = max(2, MEAN_WINDOW)
        self._rows: deque[np.ndarray] = deque(maxlen=self.p.window_size)
        self._awaiting_label: deque[tuple[np.ndarray, float]] = deque()
        self._action = self._index(0.0)
        self.forecasts: list[tuple[Any, float, float, float]] = []
        self._windows: list[np.ndarray] = []  # for batch comparison forecasts at the end
        self._losses: list[float] = []
        self._learn_stats: list[dict[str, float]] = []
        self._logged = 0  # learn stats already sent to the live log
        self._bars = 0

    @classmethod
    def train_table(cls, frame: pd.DataFrame, params: dict[str, Any]) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """The train slice as the windows and labels this strategy sees online:
        every label is a close inside ``frame``."""
        merged = cls.with_defaults(params)
        close, high, low, volume = (frame[c].to_numpy() for c in ("close", "high", "low", "volume"))
        features = feature_matrix(close, high, low, volume, pd.DatetimeIndex(frame.index))
        return supervised_table(features, close, merged["window_size"], merged["horizon"])

    def _index(self, exposure: float) -> int:
        return self.exposure_levels.index(exposure) if exposure in self.exposure_levels else 0

    def next(self) -> None:
        # Feature rows accumulate on history bars too, so the first tradable
        # bar already has a full window of the past.
        if len(self.data) >= 2:
            self._rows.append(self._feature_row())
        super().next()

    def decide(self) -> int:
        if self.p.learn:
            self._learn_from_completed()
        if len(self._rows) < self.p.window_size:
            return self._action
        window = np.stack(self._rows)
        self._awaiting_label.append((window, self.data.close[0]))
        forecast = float(self.forecaster.predict(window))
        self._record(forecast)
        if hasattr(self.forecaster, "compare"):
            self._windows.append(window)
        self._action = self._rule(forecast)
        self._tick()
        return self._action

    def _feature_row(self) -> np.ndarray:
        d = self.data
        return feature_row(
            d.close[0],
            d.close[-1],
            d.high[0],
            d.low[0],
            d.volume[0],
            d.volume[-1],
            d.datetime.datetime(0),
        )

    def _learn_from_completed(self) -> None:
        # The window that ended `horizon` bars ago has its label now, not before.
        while len(self._awaiting_label) >= self.p.horizon:
            window, close_then = self._awaiting_label.popleft()
            self.forecaster.add_example(window, forecast_label(close_then, self.data.close[0]))
        stats = self.forecaster.step() if hasattr(self.forecaster, "step") else None
        if stats and math.isfinite(stats.get("loss", math.nan)):
            self._losses.append(stats["loss"])
        if stats and self.p.tensorboard is not None:  # kept only for the live log
            self._learn_stats.append(stats)

    def _record(self, forecast: float) -> None:
        closes = self.data.close.get(size=MEAN_WINDOW)
        self.forecasts.append(
            (self.data.datetime.datetime(0), self.data.close[0], forecast, float(np.mean(closes)))
        )

    def _rule(self, forecast: float) -> int:
        if not math.isfinite(forecast):
            return self._action
        if forecast > self.p.threshold:
            return self._index(1.0)
        if forecast < -self.p.threshold:
            return self._index(-1.0) if -1.0 in self.exposure_levels else self._index(0.0)
        return self._action

    def _tick(self) -> None:
        self._bars += 1
        if self._bars % PROGRESS_EVERY:
            return
        if self.p.progress is not None:
            self.p.progress(PROGRESS_EVERY, self.episode_stats())
        if self.p.tensorboard is not None:
            self._log_updates()

    def _log_updates(self) -> None:
        """The means of the updates since the last call, to the live log."""
        chunk = self._learn_stats[self._logged:]
        self._logged = len(self._learn_stats)
        if chunk:
            self.p.tensorboard.update(self._bars, summarise(chunk, self._counters()))

    def _counters(self) -> set[str]:
        """The forecaster's running totals (``counter_stats``), logged as their last value."""
        model = getattr(self.forecaster, "primary", self.forecaster)  # a ForecasterPair's LSTM
        names: Any = (getattr(self.forecaster, "counter_stats", None)
                      or getattr(model, "counter_stats", ()))
        return set(names)

    def stop(self) -> None:
        if self.p.tensorboard is not None:  # the updates of the last, partial chunk
            self._log_updates()
        if self.p.learn and hasattr(self.forecaster, "end_episode"):
            self.forecaster.end_episode()

    def period_extras(self) -> dict[str, Any]:
        """Forecast metrics and the forecast table of this run (see rlbt.engine.runner)."""
        comparisons = {}
        if self._windows and hasattr(self.forecaster, "compare"):
            comparisons = self.forecaster.compare(np.stack(self._windows))
        table = forecast_table(self.forecasts, self.p.horizon, comparisons)
        return {"metrics": {"forecast": forecast_metrics(table)}, "tables": {"forecasts": table}}

    def episode_stats(self) -> dict[str, float]:
        """Mean training loss of the pass and the bars forecast."""
        loss = float(np.mean(self._losses)) if self._losses else math.nan
        return {"loss": loss, "bars": float(self._bars)}
