"""Observation features from backtrader indicators.

The indicators are created in the strategy's ``__init__`` (``setup``), so
backtrader computes them from bars <= t at bar t and holds the strategy back
until they are warm. ``lookback`` is the indicator's own minimum period, asked
of backtrader once per kind and arguments (a Cerebro on one bar that stops
before running), so the slice-length check and the purge gap count the
warm-up exactly.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable
from typing import Any

import pandas as pd

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.strategies.builtin_features import Feature

# backtrader's Ichimoku chikou span is the close 26 bars *ahead*: refused by name.
LOOKS_AHEAD = frozenset({"Ichimoku"})

_PROBED: dict[Any, tuple[int, int]] = {}


class _Probed(Exception):
    """Stops the probe Cerebro once the indicators exist."""


def probe(key: Any, make: Callable[[Any], Any]) -> tuple[int, int]:
    """(minimum period, number of lines) of the indicator ``make(data)`` builds."""
    if key not in _PROBED:
        found: list[tuple[int, int]] = []

        class Probe(bt.Strategy):  # type: ignore[misc]
            def __init__(self) -> None:
                self.indicator = make(self.data)

            def start(self) -> None:
                found.append((int(self._minperiod), int(self.indicator.size())))
                raise _Probed

        bar = pd.DataFrame({c: [1.0] for c in ("open", "high", "low", "close", "volume")},
                           index=pd.DatetimeIndex(["2000-01-03"]))
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=bar))
        cerebro.addstrategy(Probe)
        with contextlib.suppress(_Probed):
            cerebro.run()
        _PROBED[key] = found[0]
    return _PROBED[key]


class IndicatorFeature(Feature):
    """A feature computed from one backtrader indicator on the data."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.lookback, lines = probe(key, self.make)
        self.size = self.size or lines
        self.indicator: Any = None

    def make(self, data: Any) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def setup(self, strategy: Any) -> None:
        self.indicator = self.make(strategy.data)


class Rsi(IndicatorFeature):
    """``rsi:N``: (RSI - 50) / 50, in [-1, 1] (backtrader's RSI, safe division)."""

    def __init__(self, period: int) -> None:
        self.period = period
        super().__init__(("rsi", period))

    def make(self, data: Any) -> Any:
        return bt.indicators.RSI(data, period=self.period, safediv=True)

    def value(self, strategy: Any) -> Any:
        return ((self.indicator[0] - 50.0) / 50.0,)


class SmaRatio(IndicatorFeature):
    """``sma_ratio:N``: close / SMA(N) - 1."""

    def __init__(self, period: int) -> None:
        self.period = period
        super().__init__(("sma_ratio", period))

    def make(self, data: Any) -> Any:
        return bt.indicators.SMA(data.close, period=self.period)

    def value(self, strategy: Any) -> Any:
        return (strategy.data.close[0] / self.indicator[0] - 1.0,)


class Macd(IndicatorFeature):
    """``macd[:FAST:SLOW:SIGNAL]`` (default 12:26:9): (MACD - signal) / close."""

    size = 1

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        if fast >= slow:
            raise ConfigError(f"--param features: macd:{fast}:{slow}:{signal}: the fast "
                              f"period ({fast}) must be shorter than the slow one ({slow}).")
        self.periods = (fast, slow, signal)
        super().__init__(("macd", *self.periods))

    def make(self, data: Any) -> Any:
        fast, slow, signal = self.periods
        return bt.indicators.MACD(data.close, period_me1=fast, period_me2=slow,
                                  period_signal=signal)

    def value(self, strategy: Any) -> Any:
        line = self.indicator
        return ((line.macd[0] - line.signal[0]) / strategy.data.close[0],)


class Atr(IndicatorFeature):
    """``atr:N``: ATR(N) / close."""

    def __init__(self, period: int) -> None:
        self.period = period
        super().__init__(("atr", period))

    def make(self, data: Any) -> Any:
        return bt.indicators.ATR(data, period=self.period)

    def value(self, strategy: Any) -> Any:
        return (self.indicator[0] / strategy.data.close[0],)


class AnyIndicator(IndicatorFeature):
    """``bt:NAME[:PARAM=VALUE...]``: every line of ``bt.indicators.NAME`` on the
    data, as backtrader computes it (not normalised: scale it yourself if it is
    in price units)."""

    size = 0  # the indicator's number of lines, known from the probe

    def __init__(self, name: str, settings: dict[str, float | int | bool]) -> None:
        self.cls, self.settings = indicator_class(name), settings
        unknown = sorted(set(settings) - set(self.cls.params._getkeys()))
        if unknown:
            raise UnknownNameError(f"param of bt.indicators.{name} (--param features)",
                                   unknown[0], self.cls.params._getkeys())
        try:
            super().__init__(("bt", name, *sorted(settings.items())))
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"--param features: bt:{name} cannot be built on one data "
                              f"feed with {settings or 'its defaults'}: {exc}") from exc

    def make(self, data: Any) -> Any:
        return self.cls(data, **self.settings)

    def value(self, strategy: Any) -> Any:
        return tuple(line[0] for line in self.indicator.lines)


def indicator_class(name: str) -> Any:
    """``bt.indicators.NAME``, a real Indicator class, not one that reads ahead."""
    known = sorted(n for n in dir(bt.indicators) if _is_indicator(getattr(bt.indicators, n)))
    if name not in known:  # 300-odd names: suggest, do not list
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ConfigError(f"--param features: bt:{name}: bt.indicators has no indicator "
                          f"{name!r}.{hint} (e.g. bt:Stochastic:period=14)")
    if name in LOOKS_AHEAD:
        raise ConfigError(f"--param features: bt:{name} reads bars after the current one "
                          "(backtrader's Ichimoku chikou span), which is look-ahead.")
    return getattr(bt.indicators, name)


def _is_indicator(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, bt.Indicator)
