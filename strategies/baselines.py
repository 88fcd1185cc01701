"""Baseline strategies every learning agent is compared against."""

from __future__ import annotations

from typing import Any

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError
from rlbt.strategies.exposure import ExposureStrategy

FLAT, LONG = 0, 1


class BuyAndHold(ExposureStrategy):
    """Buy on the first bar (filled at the next open) and hold to the end."""

    def decide(self) -> int:
        return LONG


class SmaCross(ExposureStrategy):
    """Long while the fast simple moving average is above the slow one, else flat."""

    params: Any = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        super().__init__()
        if not 0 < self.p.fast < self.p.slow:
            raise ConfigError(
                f"sma-cross needs 0 < fast < slow, got fast={self.p.fast}, slow={self.p.slow}."
            )
        self.fast_sma = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.slow_sma = bt.ind.SMA(self.data.close, period=self.p.slow)

    def decide(self) -> int:
        return LONG if self.fast_sma[0] > self.slow_sma[0] else FLAT


class MeanForecast(ExposureStrategy):
    """The course's baseline forecaster: the next close is predicted as the mean
    of the last `window` closes; long when that forecast is above the close."""

    params: Any = (("window", 20),)

    def __init__(self) -> None:
        super().__init__()
        if self.p.window < 1:
            raise ConfigError(f"mean-forecast needs window >= 1, got {self.p.window}.")
        self.forecast = bt.ind.SMA(self.data.close, period=self.p.window)

    def decide(self) -> int:
        return LONG if self.forecast[0] > self.data.close[0] else FLAT
