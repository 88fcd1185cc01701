"""A short description of loaded bars for the terminal (``rlbt data``).

Gaps are holes in the data, not market closures. An interval between two
consecutive bars counts as a gap when

- the bars fall on the same calendar day and the interval is longer than
  3 x the median spacing (a missing stretch inside an intraday session), or
- the bars fall on different days and the interval is longer than
  max(4 days, 3 x the median spacing).

Four days covers a weekend plus a one-day holiday (Friday to Tuesday), so
daily data counts closures such as 11-17 September 2001, and intraday data
does not count its nights and weekends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.errors import DataError

GAP_FACTOR = 3
GAP_DAYS = 4


@dataclass(frozen=True, eq=False)  # eq=False: DataFrame fields have no single truth value
class DataSummary:
    """Figures about a frame of bars.

    :param bars: number of bars.
    :param start: time of the first bar.
    :param end: time of the last bar.
    :param frequency: the median spacing in words, e.g. ``"1 day"``, ``"5 minutes"``.
    :param gaps: number of intervals counted as gaps (see the module docstring).
    :param gap_rule: the gap threshold in words, for the reader.
    :param largest_gap: the longest interval between two consecutive bars
        (None for a single bar), whether or not it counts as a gap.
    :param largest_gap_after: the bar just before that interval.
    :param largest_is_gap: whether that interval counts as a gap.
    :param head: the first rows.
    :param tail: the last rows.
    """

    bars: int
    start: pd.Timestamp
    end: pd.Timestamp
    frequency: str
    gaps: int
    gap_rule: str
    largest_gap: pd.Timedelta | None
    largest_gap_after: pd.Timestamp | None
    head: pd.DataFrame
    tail: pd.DataFrame
    largest_is_gap: bool = False


def summarize(frame: pd.DataFrame, rows: int = 5) -> DataSummary:
    """Summarise a loaded frame (see :func:`rlbt.engine.data.prices.load_prices`).

    :param frame: bars with a sorted DatetimeIndex.
    :param rows: how many first and last rows to keep.
    :raises DataError: when the frame has no bars or no DatetimeIndex.
    """
    if not isinstance(frame.index, pd.DatetimeIndex) or len(frame) == 0:
        raise DataError("Nothing to summarise: no bars with timestamps.")
    index = frame.index
    steps = pd.TimedeltaIndex(np.diff(index.as_unit("ns").asi8).astype("m8[ns]"))
    head, tail = frame.head(rows).copy(), frame.tail(rows).copy()
    if len(steps) == 0:
        return DataSummary(
            1, index[0], index[0], "unknown (1 bar)", 0, "none", None, None, head, tail
        )
    median = steps.median()
    same_day = np.asarray(index[1:].normalize() == index[:-1].normalize())
    between_days = max(pd.Timedelta(days=GAP_DAYS), GAP_FACTOR * median)
    is_gap = np.where(same_day, steps > GAP_FACTOR * median, steps > between_days)
    longest = int(np.argmax(steps.asi8))
    rule = f"> {describe_span(between_days)} between days"
    if median < pd.Timedelta(days=1):
        rule = f"> {describe_span(GAP_FACTOR * median)} within a day, or {rule}"
    return DataSummary(
        bars=len(frame),
        start=index[0],
        end=index[-1],
        frequency=describe_frequency(median),
        gaps=int(is_gap.sum()),
        gap_rule=rule,
        largest_gap=steps[longest],
        largest_gap_after=index[longest],
        head=head,
        tail=tail,
        largest_is_gap=bool(is_gap[longest]),
    )


_UNITS = (
    ("week", pd.Timedelta(weeks=1)),
    ("day", pd.Timedelta(days=1)),
    ("hour", pd.Timedelta(hours=1)),
    ("minute", pd.Timedelta(minutes=1)),
    ("second", pd.Timedelta(seconds=1)),
)


# Calendar names for median spacings (in days): a month of bars is 28-31 days apart.
_CALENDAR = (("daily", 1, 1), ("weekly", 7, 7), ("monthly", 28, 31), ("quarterly", 89, 92),
             ("yearly", 365, 366))


def describe_frequency(median: pd.Timedelta) -> str:
    """The median spacing as a reader names it: ``"monthly (median 31 days apart)"``,
    ``"5 minutes"`` for intraday data."""
    days = median / pd.Timedelta(days=1)
    for name, low, high in _CALENDAR:
        if low <= days <= high:
            return name if low == high else f"{name} (median {describe_span(median)} apart)"
    return describe_span(median)


def describe_span(span: pd.Timedelta) -> str:
    """A duration in words, at most two units: ``"1 day"``, ``"2 hours 30 minutes"``;
    four weeks and more in days (``"31 days"``, never ``"4 weeks 3 days"``)."""
    parts: list[str] = []
    rest = span
    units = _UNITS[1:] if span >= pd.Timedelta(weeks=4) else _UNITS
    for name, size in units:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    if not parts:
        return str(span)  # under a second: let pandas say it
    return " ".join(parts[:2])


def format_summary(summary: DataSummary) -> str:
    """The summary as lines of text for the terminal."""
    span = summary.end - summary.start
    lines = [
        f"bars       {summary.bars:,}",
        f"span       {_stamp(summary.start)} to {_stamp(summary.end)} ({_length(span)})",
        f"frequency  {summary.frequency}",
        f"gaps       {summary.gaps:,} (intervals {summary.gap_rule})",
    ]
    if summary.largest_gap is not None:
        # the longest interval is shown even when it is no gap (a weekend); say which
        verdict = "a gap" if summary.largest_is_gap else "within the rule, so not a gap"
        lines.append(
            f"longest    interval {describe_span(summary.largest_gap)} "
            f"after {_stamp(summary.largest_gap_after)} ({verdict})"
        )
    lines += ["", "first rows:", summary.head.to_string(), "", "last rows:"]
    lines.append(summary.tail.to_string())
    return "\n".join(lines)


def _length(span: pd.Timedelta) -> str:
    """A data span in words: calendar days, with years once it is over a year."""
    if span == pd.Timedelta(0):
        return "a single bar"
    if span < pd.Timedelta(days=1):
        return describe_span(span)
    years = f", {span.days / 365.25:.1f} years" if span.days > 365 else ""
    return f"{span.days:,} calendar days{years}"


def _stamp(stamp: pd.Timestamp | None) -> str:
    if stamp is None:
        return "-"
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def format_panel(sources: list[Any], **load: Any) -> str:
    """``rlbt data a,b``: each asset's summary, then the common calendar and,
    per asset, the bars outside it and the bars carried forward."""
    from rlbt.engine.data.panel import load_panel
    from rlbt.engine.data.prices import load_prices

    parts = [f"{item}:\n{format_summary(summarize(load_prices(item, **load)))}\n"
             for item in sources]
    panel, info = load_panel(sources, **load)
    parts.append(f"portfolio of {', '.join(info.assets)}: {len(panel):,} bars on the common "
                 f"calendar {_stamp(panel.index[0])} .. {_stamp(panel.index[-1])}")
    parts += [f"  {asset}: {info.trimmed[asset]:,} bars outside the common span, "
              f"{info.filled[asset]:,} carried forward (untradable)" for asset in info.assets]
    return "\n".join(parts)
