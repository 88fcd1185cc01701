"""Load price bars from a CSV or Parquet file, a DataFrame or a bundled dataset.

Every source ends in the same shape (see :func:`rlbt.engine.data.validate.validate_prices`):
a new DataFrame with float64 columns ``open, high, low, close, volume`` and a
sorted, unique, tz-naive DatetimeIndex named ``datetime``. Prices are used raw:
``Adj Close`` and ``OpenInterest`` columns are dropped, and volume is 0 when the
source has none.

CSV files may be Yahoo-style (``Date,Open,High,Low,Close,Adj Close,Volume``),
intraday (``Date,Time,...``, the two combined) or written by
``DataFrame.to_csv`` (timestamps in an unnamed first column). Column names are
case-insensitive and trimmed. Dates are ISO 8601 in digits unless a strptime
``date_format`` is given; an ISO UTC offset is dropped and the local wall-clock
time kept (:mod:`rlbt.engine.data.dates` has the rules). Blank lines are
skipped; line numbers in messages count them. What a path may point at (a
regular file; CSV, compressed CSV or Parquet) is :mod:`rlbt.engine.data.source`'s.
"""

from __future__ import annotations

import hashlib
import os
from typing import TypeAlias

import numpy as np
import pandas as pd

from rlbt.engine.data import bundled as bundled_data
from rlbt.engine.data.csv_file import read_csv_prices
from rlbt.engine.data.dates import end_of_day, is_bare_date, parse_date_option
from rlbt.engine.data.frames import frame_from_dataframe
from rlbt.engine.data.messages import clip
from rlbt.engine.data.parquet_file import read_parquet_prices
from rlbt.engine.data.source import (
    PARQUET_SUFFIXES,
    PARSE_FACTOR,
    available_memory,
    check_file_size,
    regular_file,
    sniff,
)
from rlbt.engine.data.validate import format_timestamp
from rlbt.engine.errors import ConfigError, DataError, UnknownNameError

__all__ = [  # the names importers have found here, whichever module now holds them
    "PARQUET_SUFFIXES",
    "PARSE_FACTOR",
    "PriceSource",
    "available_memory",
    "check_file_size",
    "data_fingerprint",
    "end_of_day",
    "frame_from_dataframe",
    "is_bare_date",
    "load_prices",
    "read_bundled",
    "read_csv_prices",
    "read_parquet_prices",
    "select_span",
]

PriceSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame


def load_prices(
    source: PriceSource,
    *,
    date_format: str | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    max_bytes: int | None = None,
) -> pd.DataFrame:
    """Load and validate price bars; the caller's DataFrame is never changed.

    :param source: a CSV path, a Parquet path (``.parquet``/``.pq``), a
        DataFrame, or a bundled dataset name (``orcl``, ``nvda``, ``yhoo``,
        ``intraday``). An existing file wins over a bundled name.
    :param date_format: strptime format of the dates when they are not ISO 8601
        (e.g. ``"%d/%m/%Y"``); ignored for bundled datasets.
    :param start: first bar to keep (inclusive), a date string or Timestamp.
    :param end: last bar to keep (inclusive); a date without a time keeps that whole day.
    :param max_bytes: memory budget for the parsed file; a file whose size times
        :data:`PARSE_FACTOR` exceeds it is refused before parsing. Default: the
        memory available now.
    :return: bars as described in the module docstring.
    :raises DataError: unreadable, missing or invalid data, or nothing in [start, end].
    :raises ConfigError: ``start`` or ``end`` is not a date.
    """
    if isinstance(source, pd.DataFrame):
        origin, frame = "DataFrame", frame_from_dataframe(source, "DataFrame", date_format)
    elif isinstance(source, (str, os.PathLike)):
        origin, frame = _load_named(source, date_format, max_bytes)
    else:
        raise DataError(
            f"Cannot load prices from a {type(source).__name__}. Pass a CSV or Parquet path, "
            f"a pandas DataFrame or a bundled dataset ({', '.join(bundled_data.bundled_names())})."
        )
    return select_span(frame, origin, start, end)


def _load_named(
    source: str | os.PathLike[str], date_format: str | None, max_bytes: int | None
) -> tuple[str, pd.DataFrame]:
    """Resolve a path or a bundled name and read it; return (origin, frame)."""
    path = regular_file(source)
    if path is not None:
        origin = str(source)
        kind = sniff(path, origin)
        if kind.format == "parquet":
            return origin, read_parquet_prices(path, origin, max_bytes)
        return origin, read_csv_prices(path, origin, date_format, max_bytes, kind.compression)
    name = str(source)
    if isinstance(source, str) and bundled_data.is_bundled(name):
        return read_bundled(name, max_bytes)
    unknown = UnknownNameError("bundled dataset", clip(name), bundled_data.bundled_names())
    raise DataError(
        f"File not found: {clip(name, 200)!r}, and it is not a bundled dataset. {unknown}"
    )


def read_bundled(name: str, max_bytes: int | None = None) -> tuple[str, pd.DataFrame]:
    """Read a bundled dataset by name; return (origin, frame)."""
    key = bundled_data.get_bundled(name).name
    origin = f"bundled dataset {key!r}"
    with bundled_data.bundled_path(key) as path:
        return origin, read_csv_prices(path, origin, None, max_bytes)


def select_span(
    frame: pd.DataFrame,
    origin: str,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
) -> pd.DataFrame:
    """The bars with start <= time <= end; an end date without a time includes that day."""
    if start is None and end is None:
        return frame
    lo = _bound(start, "start")
    hi = _bound(end, "end")
    if end is not None and hi is not None and is_bare_date(end):
        hi = end_of_day(hi)
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"--start {clip(start)} is after --end {clip(end)}; swap them.")
    keep = np.ones(len(frame), dtype=bool)
    if lo is not None:
        keep &= frame.index >= lo
    if hi is not None:
        keep &= frame.index <= hi
    if not keep.any():
        first, last = (format_timestamp(t) for t in (frame.index[0], frame.index[-1]))
        raise DataError(
            f"{origin}: no bars between start {clip(start or '(none)')} and end "
            f"{clip(end or '(none)')}; "
            f"the data spans {first} to {last}. Choose dates inside that span."
        )
    return frame[keep]


def _bound(value: str | pd.Timestamp | None, option: str) -> pd.Timestamp | None:
    return parse_date_option(value, f"--{option}")


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 hex digest of a loaded frame: index as int64 ns, then the float64 values.

    Byte order is fixed (little-endian), so the digest is the same on every
    machine; it identifies the exact data a run used (stored in config.json).
    """
    index = pd.DatetimeIndex(frame.index).as_unit("ns").asi8.astype("<i8")
    values = np.ascontiguousarray(frame.to_numpy(dtype=np.float64), dtype="<f8")
    digest = hashlib.sha256(index.tobytes())
    digest.update(values.tobytes())
    return digest.hexdigest()
