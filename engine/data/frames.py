"""From a table (a DataFrame, a parsed CSV or Parquet file) to validated bars:
find the columns that hold the time, parse them, validate the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rlbt.engine.data.dates import combine_date_and_time, parse_dates, parse_times
from rlbt.engine.data.validate import canonical_name, validate_prices

# Column names that can hold the timestamps, best first.
DATE_NAMES = ("datetime", "timestamp", "date_time", "date", "time")


def frame_from_dataframe(
    frame: pd.DataFrame, origin: str = "DataFrame", date_format: str | None = None
) -> pd.DataFrame:
    """Validate a DataFrame's bars, taking the time from its index or a date column.

    The input is not modified: only new frames are built from it.
    """
    if isinstance(frame.index, pd.DatetimeIndex):
        return validate_prices(frame, origin)
    date_pos, time_pos = date_columns(frame.columns)
    if date_pos is not None:
        return index_by_time(frame, date_pos, time_pos, origin, date_format, None)
    if _is_text(frame.index):
        stamps = parse_dates(frame.index, origin, _label(frame.index), date_format, None)
        return validate_prices(frame.set_axis(stamps, axis=0), origin)
    return validate_prices(frame, origin)  # reports the index that holds no timestamps


def _is_text(index: pd.Index) -> bool:
    """True for an index of strings (e.g. from ``read_csv(index_col=0)``)."""
    return bool(pd.api.types.is_string_dtype(index.dtype) or index.dtype == object)


def _label(index: pd.Index) -> str:
    return str(index.name) if index.name is not None else "index"


def date_columns(columns: pd.Index) -> tuple[int | None, int | None]:
    """Positions of the timestamp column and, for intraday ``Date,Time`` data, the time.

    Positions, not names, so duplicate column names cannot select two columns.
    """
    keys = [canonical_name(c) for c in columns]
    for name in DATE_NAMES:
        if name in keys:
            time_pos = keys.index("time") if name == "date" and "time" in keys else None
            return keys.index(name), time_pos
    return None, None


def index_by_time(
    frame: pd.DataFrame,
    date_pos: int,
    time_pos: int | None,
    origin: str,
    date_format: str | None,
    lines: np.ndarray | None,
) -> pd.DataFrame:
    """Validate the other columns as bars indexed by the parsed date (+ time) columns."""
    date_name = str(frame.columns[date_pos])
    stamps = parse_dates(frame.iloc[:, date_pos], origin, date_name, date_format, lines)
    if time_pos is not None:
        time_name = str(frame.columns[time_pos])
        times = parse_times(frame.iloc[:, time_pos], origin, time_name, lines, stamps)
        names = (date_name, time_name)
        stamps = combine_date_and_time(stamps, times, origin, names, lines)
        date_name = f"{date_name}+{time_name}"
    keep = [i for i in range(frame.shape[1]) if i not in (date_pos, time_pos)]
    bars = frame.iloc[:, keep].set_axis(stamps.rename(date_name), axis=0)
    return validate_prices(bars, origin, line_numbers=lines)
