"""Load price bars from a CSV or Parquet file, a DataFrame or a bundled dataset.

Every source ends in the same shape (see :func:`rlbt.engine.data.validate.validate_prices`):
a new DataFrame with float64 columns ``open, high, low, close, volume`` and a
sorted, unique, tz-naive DatetimeIndex named ``datetime``. Prices are used raw:
``Adj Close`` and ``OpenInterest`` columns are dropped, and volume is 0 when the
source has none.

CSV files may be Yahoo-style (``Date,Open,High,Low,Close,Adj Close,Volume``),
intraday (``Date,Time,...``, the two combined) or written by
``DataFrame.to_csv`` (timestamps in an unnamed first column). Column names are
case-insensitive and trimmed. Dates are parsed as ISO 8601 unless a strptime
``date_format`` is given; an ISO UTC offset is dropped and the local wall-clock
time kept. Blank lines are skipped; line numbers in messages count them.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from rlbt.engine.data import bundled as bundled_data
from rlbt.engine.data.validate import (
    canonical_name,
    format_timestamp,
    parse_dates,
    parse_times,
    validate_prices,
)
from rlbt.engine.errors import ConfigError, DataError, UnknownNameError

PriceSource: TypeAlias = str | os.PathLike[str] | pd.DataFrame

# Parsing a CSV holds the text, pandas' temporary string objects and the float
# columns at once; ten times the file size is a generous bound for that peak.
PARSE_FACTOR = 10
PARQUET_SUFFIXES = (".parquet", ".pq")

# Column names that can hold the timestamps, best first.
_DATE_NAMES = ("datetime", "timestamp", "date_time", "date", "time")


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
    path = Path(source)
    if path.is_file():
        origin = str(source)
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return origin, read_parquet_prices(path, origin, max_bytes)
        return origin, read_csv_prices(path, origin, date_format, max_bytes)
    if path.exists():
        raise DataError(f"{source}: not a file. Pass a CSV or Parquet file.")
    name = str(source)
    if isinstance(source, str) and bundled_data.is_bundled(name):
        return read_bundled(name, max_bytes)
    unknown = UnknownNameError("bundled dataset", name, bundled_data.bundled_names())
    raise DataError(f"File not found: {name!r}, and it is not a bundled dataset. {unknown}")


def read_bundled(name: str, max_bytes: int | None = None) -> tuple[str, pd.DataFrame]:
    """Read a bundled dataset by name; return (origin, frame)."""
    key = bundled_data.get_bundled(name).name
    origin = f"bundled dataset {key!r}"
    with bundled_data.bundled_path(key) as path:
        return origin, read_csv_prices(path, origin, None, max_bytes)


def read_csv_prices(
    path: Path, origin: str, date_format: str | None = None, max_bytes: int | None = None
) -> pd.DataFrame:
    """Read and validate one CSV file of bars (see the module docstring for the forms)."""
    check_file_size(path, origin, max_bytes)
    if path.stat().st_size == 0:
        raise DataError(
            f"{origin}: the file is empty. Expected a header line such as "
            "Date,Open,High,Low,Close,Volume and then one line per bar."
        )
    header = _read_csv(path, origin, nrows=0).columns
    date_pos, time_pos = _csv_date_columns(header, origin)
    # Timestamps stay text so pandas never guesses (and warns about) their format.
    text = {pos: str for pos in (date_pos, time_pos) if pos is not None}
    raw = _read_csv(path, origin, dtype=text, skip_blank_lines=False, low_memory=False)
    # Line numbers are taken before blank lines are dropped, so they match the file.
    lines = np.arange(len(raw)) + 2
    filled = raw.notna().any(axis=1).to_numpy()
    raw, lines = raw[filled], lines[filled]
    return _with_time_index(raw, date_pos, time_pos, origin, date_format, lines)


def _read_csv(path: Path, origin: str, **options: object) -> pd.DataFrame:
    """``pd.read_csv`` with its parse errors (and ragged-row warning) as a DataError.

    ``index_col=False`` stops pandas from silently turning extra leading fields
    into an index; it warns instead, which is made an error here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, index_col=False, **options)  # type: ignore[call-overload]
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
    ) as exc:
        raise DataError(
            f"{origin}: cannot read it as CSV ({exc}). Expected a comma-separated text "
            "file with a header line and the same number of fields on every line."
        ) from None


def read_parquet_prices(path: Path, origin: str, max_bytes: int | None = None) -> pd.DataFrame:
    """Read and validate a Parquet file of bars (index or a date column holds the time)."""
    check_file_size(path, origin, max_bytes)
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(
            f"{origin}: reading Parquet needs pyarrow. Install it: pip install pyarrow"
        ) from None
    except (OSError, ValueError, TypeError, NotImplementedError) as exc:
        raise DataError(f"{origin}: cannot read it as Parquet ({exc}).") from None
    return frame_from_dataframe(frame, origin, None)


def frame_from_dataframe(
    frame: pd.DataFrame, origin: str = "DataFrame", date_format: str | None = None
) -> pd.DataFrame:
    """Validate a DataFrame's bars, taking the time from its index or a date column.

    The input is not modified: only new frames are built from it.
    """
    if isinstance(frame.index, pd.DatetimeIndex):
        return validate_prices(frame, origin)
    date_pos, time_pos = _date_columns(frame.columns)
    if date_pos is not None:
        return _with_time_index(frame, date_pos, time_pos, origin, date_format, None)
    if _is_text(frame.index):
        stamps = parse_dates(frame.index, origin, _label(frame.index), date_format, None)
        return validate_prices(frame.set_axis(stamps, axis=0), origin)
    return validate_prices(frame, origin)  # reports the index that holds no timestamps


def _is_text(index: pd.Index) -> bool:
    """True for an index of strings (e.g. from ``read_csv(index_col=0)``)."""
    return bool(pd.api.types.is_string_dtype(index.dtype) or index.dtype == object)


def _label(index: pd.Index) -> str:
    return str(index.name) if index.name is not None else "index"


def _date_columns(columns: pd.Index) -> tuple[int | None, int | None]:
    """Positions of the timestamp column and, for intraday ``Date,Time`` data, the time.

    Positions, not names, so duplicate column names cannot select two columns.
    """
    keys = [canonical_name(c) for c in columns]
    for name in _DATE_NAMES:
        if name in keys:
            time_pos = keys.index("time") if name == "date" and "time" in keys else None
            return keys.index(name), time_pos
    return None, None


def _csv_date_columns(columns: pd.Index, origin: str) -> tuple[int, int | None]:
    """As :func:`_date_columns`, or the first column when it is unnamed (``to_csv``)."""
    date_pos, time_pos = _date_columns(columns)
    if date_pos is not None:
        return date_pos, time_pos
    first = str(columns[0]) if len(columns) else "?"
    if canonical_name(first) in ("", "index") or first.startswith("Unnamed: 0"):
        return 0, None
    found = ", ".join(repr(str(c)) for c in list(columns)[:20]) or "(none)"
    raise DataError(
        f"{origin}: no date column. Found: {found}. Name the timestamp column Date, "
        "Datetime or Timestamp (or leave the first column unnamed, as DataFrame.to_csv does)."
    )


def _with_time_index(
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
        stamps, date_name = stamps + times, f"{date_name}+{time_name}"
    keep = [i for i in range(frame.shape[1]) if i not in (date_pos, time_pos)]
    bars = frame.iloc[:, keep].set_axis(stamps.rename(date_name), axis=0)
    return validate_prices(bars, origin, line_numbers=lines)


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
        raise ConfigError(f"start {start} is after end {end}; swap them.")
    keep = np.ones(len(frame), dtype=bool)
    if lo is not None:
        keep &= frame.index >= lo
    if hi is not None:
        keep &= frame.index <= hi
    if not keep.any():
        first, last = (format_timestamp(t) for t in (frame.index[0], frame.index[-1]))
        raise DataError(
            f"{origin}: no bars between start {start or '(none)'} and end {end or '(none)'}; "
            f"the data spans {first} to {last}. Choose dates inside that span."
        )
    return frame[keep]


def _bound(value: str | pd.Timestamp | None, option: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"{option} {value!r} is not a date; use e.g. 2020-01-31.") from None
    if pd.isna(stamp):
        raise ConfigError(f"{option} {value!r} is not a date; use e.g. 2020-01-31.")
    return stamp.tz_localize(None) if stamp.tz is not None else stamp


def end_of_day(stamp: pd.Timestamp) -> pd.Timestamp:
    """The last instant of ``stamp``'s day: a bare end date includes that whole day."""
    return stamp.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def is_bare_date(value: str | pd.Timestamp) -> bool:
    """True for a date string without a time of day, such as ``"2020-01-31"``."""
    return isinstance(value, str) and ":" not in value and "T" not in value.upper()


def available_memory() -> int | None:
    """Bytes of memory available now, or None when the platform does not say.

    Linux's ``MemAvailable`` counts reclaimable page cache; ``SC_AVPHYS_PAGES``
    (free pages only) is the fallback, and underestimates on a busy machine.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_file_size(path: Path, origin: str, max_bytes: int | None = None) -> None:
    """Refuse, before parsing, a file whose parsed size would not fit in memory.

    The parsed size is estimated as :data:`PARSE_FACTOR` times the file size and
    compared with ``max_bytes`` when given, else with the memory available now.
    """
    size = os.path.getsize(path)
    need = size * PARSE_FACTOR
    budget = max_bytes if max_bytes is not None else available_memory()
    if budget is None or need <= budget:
        return
    limit = "the limit (max_bytes)" if max_bytes is not None else "the memory available"
    raise DataError(
        f"{origin}: the file is {size:,} bytes; loading it needs about {need:,} bytes "
        f"({PARSE_FACTOR}x its size) but {limit} is {budget:,} bytes. Load a smaller file "
        "(split it by date) or free memory."
    )


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
