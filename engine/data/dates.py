"""Timestamps, strictly: the dates and times of bars, and the date options.

One rule for every date rlbt reads without a ``date_format``, in a data file
and in an option (``--start``, ``--end``, ``--train-end``): it is ISO 8601 written
in digits, ``YYYY-MM-DD``, optionally a time ``HH:MM[:SS[.fff]]`` after a space
or ``T``, optionally a UTC offset (``Z``, ``+01:00``). Words that a parser would
take for a date (``now``, ``today``, ``NaT``) are not dates: a bar stamped
"now" would move with the clock. Other forms need a strptime ``date_format``.

A separate time column holds ``HH:MM`` or ``HH:MM:SS[.fff]`` (hours 0-23).

Bars keep their local wall-clock time (a UTC offset is dropped), so a daily bar
stamped midnight New York stays on its date. Where the offsets change (daylight
saving ends) the wall clock repeats an hour while UTC still advances: that is
refused with the reason, since the bars would overlap. No time-zone name is ever
applied to naive times, so non-existent local times (spring forward) cannot arise.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from rlbt.engine.data.messages import clip, format_timestamp, row_location, show_value
from rlbt.engine.errors import ConfigError, DataError

_DATE = r"\d{4}-\d\d-\d\d"
_TIME = r"[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?"
_OFFSET = r"Z|[+-]\d\d(?::?\d\d)?"
# A UTC offset only follows a time: in "2020-01-02" the "-02" is the day.
ISO_TIMESTAMP = re.compile(rf"{_DATE}(?:{_TIME}(?:{_OFFSET})?)?", re.IGNORECASE)
_PARTS = rf"^(?P<wall>{_DATE}(?:{_TIME})?)(?P<offset>{_OFFSET})?$"
_TIME_OF_DAY = re.compile(r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?")
_ISO_HINT = (
    "Dates must be ISO 8601 (2020-01-31 or 2020-01-31 09:30:00); for another form "
    "pass its strptime format, e.g. --date-format '%d/%m/%Y' (date_format=)."
)
_CALENDAR_HINT = (
    "It has the ISO form but is no calendar date or time (month 1-12, a day the month has, "
    "hours 0-23), or lies outside 1677-2262."
)
_HOUR = pd.Timedelta(hours=1)
# Offsets in use run from -12:00 to +14:00; +-18:00 is the ISO / java.time bound.
_MAX_OFFSET_HOURS = 18


def parse_date_option(value: str | pd.Timestamp | None, option: str) -> pd.Timestamp | None:
    """A date option (``--start`` ...) as a tz-naive Timestamp; ConfigError naming ``option``."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and not ISO_TIMESTAMP.fullmatch(text):
        raise ConfigError(
            f"{option} {clip(value)!r} is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS]."
        )
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(
            f"{option} {clip(value)!r} is not a valid date (between 1677 and 2262); "
            "write YYYY-MM-DD."
        ) from None
    if pd.isna(stamp):
        raise ConfigError(f"{option} {clip(value)!r} is not a date; write YYYY-MM-DD.")
    return stamp.tz_localize(None) if stamp.tz is not None else stamp


def end_of_day(stamp: pd.Timestamp) -> pd.Timestamp:
    """The last instant of ``stamp``'s day: a bare end date includes that whole day."""
    return stamp.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def is_bare_date(value: str | pd.Timestamp) -> bool:
    """True for a date string without a time of day, such as ``"2020-01-31"``."""
    return isinstance(value, str) and ":" not in value and "T" not in value.upper()


def parse_dates(
    values: pd.Series | pd.Index,
    origin: str,
    column: str,
    date_format: str | None,
    lines: np.ndarray | None,
) -> pd.DatetimeIndex:
    """Parse a column of timestamps into tz-naive wall-clock times (module docstring).

    Values that already are datetimes are kept. Raises DataError naming the
    first cell that is no date, or where the UTC offset turns the clock back.
    """
    series = pd.Series(values, copy=False).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return wall_clock(pd.DatetimeIndex(series), origin, column, lines)
    text = series.astype(str).str.strip()
    if date_format is not None:
        parsed = pd.DatetimeIndex(_strptime(text, origin, column, date_format))
        _refuse_missing(parsed.isna(), values, origin, column, lines, _format_hint(date_format))
        return wall_clock(parsed, origin, column, lines)
    explicit = np.asarray(text.str.fullmatch(ISO_TIMESTAMP), dtype=bool)
    _refuse_missing(~explicit, values, origin, column, lines, _ISO_HINT)
    parts = text.str.extract(_PARTS, flags=re.IGNORECASE)
    offsets = parts["offset"]
    wall = pd.to_datetime(parts["wall"], format="ISO8601", errors="coerce")
    parsed = pd.DatetimeIndex(wall)
    _refuse_missing(parsed.isna(), values, origin, column, lines, _CALENDAR_HINT)
    if offsets.notna().any():
        _check_offsets(parsed, offsets, origin, column, lines)
    return parsed


def _strptime(text: pd.Series, origin: str, column: str, date_format: str) -> pd.Series:
    try:
        return pd.to_datetime(text, format=date_format, errors="coerce")
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(
            f"{origin}, column {clip(column)!r}: cannot parse the dates with --date-format "
            f"{clip(date_format)!r} (date_format=): {clip(exc)}."
        ) from None


def _format_hint(date_format: str) -> str:
    return f"The format {clip(date_format)!r} does not match it; fix --date-format (date_format=)."


def _refuse_missing(
    bad: np.ndarray,
    values: pd.Series | pd.Index,
    origin: str,
    column: str,
    lines: np.ndarray | None,
    hint: str,
) -> None:
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return
    pos = int(np.argmax(bad))
    where = row_location(origin, pd.RangeIndex(len(bad)), pos, lines)
    cell = show_value(_at(values, pos))
    raise DataError(f"{where}, column {clip(column)!r}: cannot parse {cell} as a date. {hint}")


def _check_offsets(
    wall: pd.DatetimeIndex,
    offsets: pd.Series,
    origin: str,
    column: str,
    lines: np.ndarray | None,
) -> None:
    """All or no timestamps carry an offset; where they do, the wall clock keeps UTC's order."""
    present = np.asarray(offsets.notna(), dtype=bool)
    _refuse_bad_offset(offsets, wall, origin, column, lines)
    if not present.all():
        pos = int(np.argmax(present != present[0]))
        raise DataError(
            f"{row_location(origin, wall, pos, lines)}, column {clip(column)!r}: some timestamps "
            "carry a UTC offset and some do not, so their times cannot be compared. Write every "
            "timestamp the same way, best in UTC."
        )
    minutes = offsets.map(_offset_minutes).to_numpy(dtype=np.int64)
    utc = wall.asi8 - minutes * 60_000_000_000
    check_clock(wall, utc, origin, column, lines, offsets.to_numpy())


def _refuse_bad_offset(
    offsets: pd.Series, wall: pd.DatetimeIndex, origin: str, column: str, lines: np.ndarray | None
) -> None:
    """Refuse the first offset beyond +-18:00 or with minutes over 59. Checked
    before the all-or-none rule: a bad offset is the culprit, not the rows without one."""
    given = offsets.dropna()
    bad = given[[not _valid_offset(text) for text in given]]
    if bad.empty:
        return
    pos = int(bad.index[0])
    raise DataError(
        f"{row_location(origin, wall, pos, lines)}, column {clip(column)!r}: {clip(bad.iloc[0])!r} "
        f"is not a valid UTC offset (from -{_MAX_OFFSET_HOURS}:00 to +{_MAX_OFFSET_HOURS}:00, "
        "minutes 00-59), e.g. +01:00 or Z."
    )


def _valid_offset(text: str) -> bool:
    if text.upper() == "Z":
        return True
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    return minutes < 60 and hours * 60 + minutes <= _MAX_OFFSET_HOURS * 60


def _offset_minutes(text: str) -> int:
    if text.upper() == "Z":
        return 0
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    return minutes if text[0] == "+" else -minutes


def wall_clock(
    index: pd.DatetimeIndex, origin: str, column: str, lines: np.ndarray | None
) -> pd.DatetimeIndex:
    """Tz-aware times as naive local wall-clock times, refusing a clock that turns back."""
    if index.tz is None:
        return index
    wall = index.tz_localize(None)
    check_clock(wall, index.asi8, origin, column, lines, None)
    return wall


def check_clock(
    wall: pd.DatetimeIndex,
    utc: np.ndarray,
    origin: str,
    column: str,
    lines: np.ndarray | None,
    offsets: np.ndarray | None,
) -> None:
    """Refuse the first row where UTC advances but the local wall clock does not."""
    valid = ~np.asarray(wall.isna())
    both = valid[1:] & valid[:-1]
    turned = both & (np.diff(wall.asi8) <= 0) & (np.diff(utc) > 0)
    if not turned.any():
        return
    pos = int(np.argmax(turned)) + 1
    change = ""
    if offsets is not None and offsets[pos] != offsets[pos - 1]:
        change = f" while the UTC offset changes from {offsets[pos - 1]} to {offsets[pos]}"
    raise DataError(
        f"{row_location(origin, wall, pos, lines)}, column {clip(column)!r}: the local clock goes "
        f"back from {format_timestamp(wall[pos - 1])} to {format_timestamp(wall[pos])}{change}: "
        "a repeated clock hour, likely where daylight saving ends. rlbt keeps local wall-clock "
        "time, so these bars would overlap; give the timestamps in UTC."
    )


def clock_back_hint(previous: pd.Timestamp, current: pd.Timestamp) -> str:
    """For naive timestamps that go back or repeat: a daylight-saving hint when it fits.

    A fall-back change turns the local clock back by one hour (or less): intraday
    bars on one day then step back by at most an hour, or repeat.
    """
    back = previous - current
    same_day = previous.normalize() == current.normalize()
    intraday = current != current.normalize()
    if not (same_day and intraday and pd.Timedelta(0) <= back <= _HOUR):
        return ""
    return (
        " The clock goes back here by up to an hour: a repeated or non-monotonic clock hour, "
        "likely a daylight-saving change; give the timestamps in UTC."
    )


def parse_times(
    values: pd.Series,
    origin: str,
    column: str,
    lines: np.ndarray | None,
    dates: pd.DatetimeIndex,
) -> pd.TimedeltaIndex:
    """Parse a time-of-day column (``HH:MM`` or ``HH:MM:SS[.fff]``) into offsets from midnight."""
    if pd.api.types.is_timedelta64_dtype(values.dtype):
        times = pd.TimedeltaIndex(values)
    else:
        text = values.astype(str).str.strip().reset_index(drop=True)
        text = text.where(text.str.fullmatch(_TIME_OF_DAY))  # anything else: NaN, refused below
        text = text.where(text.str.count(":") != 1, text + ":00")  # HH:MM
        times = pd.TimedeltaIndex(pd.to_timedelta(text, errors="coerce"))
    bad = np.asarray(times.isna() | (times < pd.Timedelta(0)) | (times >= pd.Timedelta(days=1)))
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"{row_location(origin, dates, pos, lines)}, column {clip(column)!r}: cannot parse "
            f"{show_value(_at(values, pos))} as a time of day. Expected HH:MM or HH:MM:SS "
            "(24-hour clock), e.g. 09:30:00."
        )
    return times


def combine_date_and_time(
    dates: pd.DatetimeIndex,
    times: pd.TimedeltaIndex,
    origin: str,
    columns: tuple[str, str],
    lines: np.ndarray | None,
) -> pd.DatetimeIndex:
    """Date plus time of day; refused when a date already holds a time (it would be added)."""
    timed = np.asarray(dates != dates.normalize(), dtype=bool)
    if timed.any():
        pos = int(np.argmax(timed))
        date_col, time_col = (clip(c) for c in columns)
        raise DataError(
            f"{row_location(origin, dates, pos, lines)}, column {date_col!r}: the date already "
            f"holds a time of day ({dates[pos].time()}) and there is a separate time column "
            f"{time_col!r}. Keep only the date in {date_col!r}, or drop {time_col!r}."
        )
    return dates + times


def _at(values: pd.Series | pd.Index, pos: int) -> object:
    return values.iloc[pos] if isinstance(values, pd.Series) else values[pos]
