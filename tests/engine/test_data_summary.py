"""summarize / format_summary on hand-made bars whose figures are known."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from rlbt.engine.data.summary import describe_span, format_summary, summarize
from rlbt.engine.errors import DataError


def frame_at(stamps: list[str] | pd.DatetimeIndex) -> pd.DataFrame:
    index = pd.DatetimeIndex(stamps, name="datetime")
    return pd.DataFrame(
        {"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 0.0}, index=index
    )


def test_daily_bars_count_closures_longer_than_four_days() -> None:
    # Mon 6 .. Fri 10 Jan; Thu 16 Jan to Mon 20 Jan is a 4-day holiday weekend (not
    # a gap); Tue 21 Jan to Mon 27 Jan is 6 days (a gap, and the longest interval).
    days = ["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10"]
    days += ["2020-01-13", "2020-01-14", "2020-01-15", "2020-01-16", "2020-01-20"]
    days += ["2020-01-21", "2020-01-27", "2020-01-28"]
    summary = summarize(frame_at(days))
    assert summary.bars == 13
    assert (summary.start, summary.end) == (pd.Timestamp("2020-01-06"), pd.Timestamp("2020-01-28"))
    assert summary.frequency == "daily"
    assert summary.gaps == 1
    assert summary.largest_gap == pd.Timedelta(days=6)
    assert summary.largest_gap_after == pd.Timestamp("2020-01-21")


def test_intraday_gaps_are_holes_in_a_session_not_nights() -> None:
    day1 = pd.date_range("2020-01-06 09:00", "2020-01-06 10:00", freq="5min")
    day1 = day1[(day1 < "2020-01-06 09:30") | (day1 > "2020-01-06 09:45")]  # 20 minutes missing
    day2 = pd.date_range("2020-01-07 09:00", "2020-01-07 10:00", freq="5min")
    summary = summarize(frame_at(day1.append(day2)))
    assert summary.bars == len(day1) + len(day2) == 22
    assert summary.frequency == "5 minutes"
    assert summary.gaps == 1  # the 09:25 -> 09:50 hole; the night is not a gap
    assert summary.largest_gap == pd.Timedelta(hours=23)
    assert "15 minutes within a day" in summary.gap_rule


def test_single_bar() -> None:
    summary = summarize(frame_at(["2020-01-06"]))
    assert (summary.bars, summary.gaps, summary.largest_gap) == (1, 0, None)
    assert summary.frequency == "unknown (1 bar)"


def test_head_and_tail_rows_and_frozen() -> None:
    frame = frame_at(pd.date_range("2020-01-01", periods=12, freq="D"))
    summary = summarize(frame, rows=3)
    assert list(summary.head.index) == list(frame.index[:3])
    assert list(summary.tail.index) == list(frame.index[-3:])
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.bars = 0  # type: ignore[misc]


def test_no_bars_is_a_data_error() -> None:
    with pytest.raises(DataError, match="no bars"):
        summarize(frame_at([]))


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (pd.Timedelta(days=1), "1 day"),
        (pd.Timedelta(minutes=5), "5 minutes"),
        (pd.Timedelta(hours=2, minutes=30), "2 hours 30 minutes"),
        (pd.Timedelta(weeks=1), "1 week"),
        (pd.Timedelta(seconds=90), "1 minute 30 seconds"),
        (pd.Timedelta(days=2, hours=15, minutes=35), "2 days 15 hours"),
    ],
)
def test_describe_span(span: pd.Timedelta, words: str) -> None:
    assert describe_span(span) == words


def test_format_summary_shows_the_figures_and_rows() -> None:
    frame = frame_at(pd.date_range("2019-01-01", periods=800, freq="D"))
    text = format_summary(summarize(frame))
    assert "bars       800" in text
    assert "span       2019-01-01 to 2021-03-10 (799 calendar days, 2.2 years)" in text
    assert "frequency  daily" in text and "gaps       0 (intervals > 4 days between days)" in text
    assert "first rows:" in text and "2019-01-05" in text and "2021-03-10" in text


@pytest.mark.parametrize(
    ("freq", "said"),
    [("W-FRI", "weekly"), ("ME", "monthly (median 31 days apart)"),
     ("QE", "quarterly (median 92 days apart)"), ("YE", "yearly (median 365 days apart)"),
     ("h", "1 hour")],
)
def test_frequency_is_named_as_a_calendar_reader_would(freq: str, said: str) -> None:
    summary = summarize(frame_at(pd.date_range("2001-01-01", periods=40, freq=freq)))
    assert summary.frequency == said
    assert "weeks" not in summary.frequency


def test_the_longest_interval_says_whether_it_is_a_gap() -> None:
    weekdays = pd.bdate_range("2019-01-01", periods=30)  # weekends, no gap
    text = format_summary(summarize(frame_at(weekdays)))
    assert "gaps       0" in text and "(within the rule, so not a gap)" in text
    holed = weekdays.delete(range(10, 16))
    text = format_summary(summarize(frame_at(holed)))
    assert "gaps       1" in text and "(a gap)" in text
