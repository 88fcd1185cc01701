"""From a validated price frame to a backtrader data feed with its bar
frequency (timeframe and compression). Bars per year, for the metrics, are
``rlbt.engine.data.calendar``'s."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rlbt.engine.compat import bt

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class BarFrequency:
    """How often bars come: backtrader's timeframe and compression."""

    timeframe: int
    compression: int


def bar_frequency(index: pd.DatetimeIndex) -> BarFrequency:
    """Infer the bar frequency from the median spacing of ``index``."""
    if len(index) < 2:
        return BarFrequency(bt.TimeFrame.Days, 1)
    spacing = pd.Series(index).diff().median()
    if spacing >= pd.Timedelta(days=25):
        return BarFrequency(bt.TimeFrame.Months, 1)
    if spacing >= pd.Timedelta(days=5):
        return BarFrequency(bt.TimeFrame.Weeks, 1)
    if spacing >= _DAY * 0.99:
        return BarFrequency(bt.TimeFrame.Days, 1)
    if spacing >= pd.Timedelta(minutes=1):
        minutes = max(1, round(spacing / pd.Timedelta(minutes=1)))
        return BarFrequency(bt.TimeFrame.Minutes, minutes)
    seconds = max(1, round(spacing / pd.Timedelta(seconds=1)))
    return BarFrequency(bt.TimeFrame.Seconds, seconds)


def make_feed(frame: pd.DataFrame, name: str = "data") -> bt.feed.DataBase:
    """A backtrader feed over ``frame`` (columns open, high, low, close, volume).

    ``PandasDirectData`` walks ``itertuples`` once instead of one ``iloc`` per
    field and bar, which is most of ``PandasData``'s cost.
    """
    freq = bar_frequency(pd.DatetimeIndex(frame.index))
    # A panel asset's ``tradable`` flag rides in backtrader's openinterest line
    # (engine/data/panel.py): a portfolio strategy reads it at the open.
    fields = ["open", "high", "low", "close", "volume"]
    tradable = "tradable" in frame.columns
    columns = frame[[*fields, "tradable"] if tradable else fields]
    return bt.feeds.PandasDirectData(
        dataname=columns,
        name=name,
        datetime=0,
        open=1,
        high=2,
        low=3,
        close=4,
        volume=5,
        openinterest=6 if tradable else -1,
        timeframe=freq.timeframe,
        compression=freq.compression,
    )
