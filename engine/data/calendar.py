"""Bars per year, inferred from the calendar of the data itself.

A stock trades about 252 days a year, a crypto pair 365, a 24/7 hourly feed
8,766 hours; no one constant suits them all. Over a year or more, the answer is
the bars observed per calendar year. Over less, that would miscount weekends at
the edges, so the estimate is bars per active day x active days per week (the
mean over full calendar weeks) x weeks per year.
"""

from __future__ import annotations

import pandas as pd

DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7
_YEAR = pd.Timedelta(days=DAYS_PER_YEAR)
FALLBACK_BARS_PER_YEAR = 252.0  # one bar: nothing to infer from; a trading year of days


def bars_per_year(index: pd.DatetimeIndex) -> float:
    """Bars in a calendar year of data laid out like ``index``."""
    if len(index) < 2:
        return FALLBACK_BARS_PER_YEAR
    span = index[-1] - index[0]
    spacing = pd.Series(index).diff().median()
    if span >= _YEAR or spacing >= pd.Timedelta(days=5):
        return float((len(index) - 1) / (span / _YEAR))
    days = pd.Series(index.normalize().unique())
    bars_per_day = len(index) / len(days)
    return bars_per_day * _days_per_week(days) * WEEKS_PER_YEAR


def _days_per_week(days: pd.Series) -> float:
    """Mean active days per calendar week, leaving out the first and last
    weeks (cut by the data's start and end) when full weeks exist."""
    iso = days.dt.isocalendar()
    per_week = days.groupby([iso["year"], iso["week"]]).size()
    inner = per_week.iloc[1:-1] if len(per_week) >= 3 else per_week
    return float(inner.mean())
