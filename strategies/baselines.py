"""Baseline strategies every learning agent is compared against."""

from __future__ import annotations

from typing import Any, ClassVar

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.exposure import ExposureStrategy

FLAT, LONG = 0, 1


class BuyAndHold(ExposureStrategy):
    """Buy on the first bar (filled at the next open) and hold to the end."""

    def decide(self) -> int:
        return LONG


class SmaCross(ExposureStrategy):
    """Long while the fast simple moving average is above the slow one, else flat."""

    params: Any = (("fast", 10), ("slow", 30))
    param_rules: ClassVar[dict[str, Rule]] = {
        "fast": Rule(low=1, integer=True),
        "slow": Rule(low=2, integer=True),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ("slow",)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """The slow average's bars, and the bar its crossing is traded on."""
        return int(cls.with_defaults(params)["slow"]) + 1

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Params checked together, before any bar (and per grid point by sweeps)."""
        merged = cls.with_defaults(params)
        if not 0 < merged["fast"] < merged["slow"]:
            raise ConfigError(
                f"--param fast={merged['fast']}, --param slow={merged['slow']}: sma-cross "
                "needs 0 < fast < slow."
            )

    def __init__(self) -> None:
        super().__init__()
        self.check_params({"fast": self.p.fast, "slow": self.p.slow})
        self.fast_sma = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.slow_sma = bt.ind.SMA(self.data.close, period=self.p.slow)

    def decide(self) -> int:
        return LONG if self.fast_sma[0] > self.slow_sma[0] else FLAT


class MeanForecast(ExposureStrategy):
    """The course's baseline forecaster: the next close is predicted as the mean
    of the last `window` closes; long when that forecast is above the close."""

    params: Any = (("window", 20),)
    param_rules: ClassVar[dict[str, Rule]] = {"window": Rule(low=1, integer=True)}
    lookback_params: ClassVar[tuple[str, ...]] = ("window",)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """The average's bars, and the bar its forecast is traded on."""
        return int(cls.with_defaults(params)["window"]) + 1

    def __init__(self) -> None:
        super().__init__()
        self.forecast = bt.ind.SMA(self.data.close, period=self.p.window)

    def decide(self) -> int:
        return LONG if self.forecast[0] > self.data.close[0] else FLAT
