"""Built-in observation features that read the bars themselves (no indicator).

Each is an object with ``size`` (floats it adds), ``lookback`` (bars it reads,
bar t included), ``setup(strategy)`` and ``value(strategy)`` (see
``feature_specs``). ``value`` is called at bar t and reads bars <= t only:
``[0]`` is bar t, ``[-1]`` the bar before.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TWO_PI = 2.0 * math.pi


class Feature:
    """Defaults of the feature contract: one float from bar t, nothing to set up."""

    size = 1
    lookback = 1

    def setup(self, strategy: Any) -> None:
        """Create indicators on ``strategy.data`` (inside the strategy's ``__init__``)."""

    def value(self, strategy: Any) -> Any:  # pragma: no cover - every feature overrides
        raise NotImplementedError


class Returns(Feature):
    """``returns:N``: the last N log returns of the close, oldest first, x obs_scale."""

    def __init__(self, bars: int) -> None:
        self.size, self.lookback = bars, bars + 1  # N returns need N + 1 closes

    def value(self, strategy: Any) -> Any:
        closes = np.asarray(strategy.data.close.get(size=self.lookback))
        return np.diff(np.log(closes)) * strategy.p.obs_scale


class Range(Feature):
    """``range``: log(high / low) of bar t, x obs_scale."""

    def value(self, strategy: Any) -> Any:
        return (math.log(strategy.data.high[0] / strategy.data.low[0]) * strategy.p.obs_scale,)


class VolumeChange(Feature):
    """``volume_change``: log(volume t / volume t-1); 0 when either volume is 0
    (no trade reported is no information, not an infinite change)."""

    lookback = 2

    def value(self, strategy: Any) -> Any:
        now, before = strategy.data.volume[0], strategy.data.volume[-1]
        return (math.log(now / before) if now > 0 and before > 0 else 0.0,)


class Exposure(Feature):
    """``exposure``: the current target exposure (0 flat, 1 long, -1 short)."""

    def value(self, strategy: Any) -> Any:
        return (strategy._exposure,)


class Calendar(Feature):
    """``calendar``: sin and cos of the day of the week (Monday 0 of 7) and of the
    month (January 0 of 12) of bar t: 4 floats, continuous across the week's and
    year's wrap."""

    size = 4

    def value(self, strategy: Any) -> Any:
        when = strategy.data.datetime.date(0)
        day, month = TWO_PI * when.weekday() / 7, TWO_PI * (when.month - 1) / 12
        return (math.sin(day), math.cos(day), math.sin(month), math.cos(month))
