"""Checks that turn any DataFrame into clean OHLCV bars, or a :class:`DataError`.

Every error names where the problem is: the origin (a file path, ``DataFrame``
or ``bundled dataset 'orcl'``), the row (its timestamp and, for CSV files, the
1-based file line with the header as line 1; otherwise ``row i``, the position
as in ``frame.iloc[i]``), the column and the value, and says how to fix it.
Only the first offending row is reported. The checks are vectorised: masks are
built for all rows at once and NumPy finds the first hit.

Prices are used raw: an adjusted close is dropped, never used to rescale
open/high/low/close, because rescaling would change the bar's own consistency.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from rlbt.engine.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")

# high/low/open/close comparisons allow this relative slack. Rounding every
# price to the same number of decimals is monotone, so it cannot invert an
# order; the slack only absorbs float noise from computed (e.g. resampled) data.
RTOL = 1e-9

_UTC_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_ALIASES = {"vol": "volume", "adjclose": "adj_close", "adjusted_close": "adj_close"}


def canonical_name(name: object) -> str:
    """Lower-case, trimmed, punctuation runs as ``_``: ``'Adj Close'`` -> ``adj_close``."""
    text = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return _ALIASES.get(text, text)


def row_location(origin: str, index: pd.Index, pos: int, line_numbers: np.ndarray | None) -> str:
    """``"prices.csv, line 7 (2020-01-03)"`` or ``"DataFrame, row 5 (2020-01-03)"``."""
    where = f"line {int(line_numbers[pos])}" if line_numbers is not None else f"row {pos}"
    stamp = index[pos] if isinstance(index, pd.DatetimeIndex) else None
    return f"{origin}, {where}" + (f" ({format_timestamp(stamp)})" if stamp is not None else "")


def format_timestamp(stamp: object) -> str:
    """A timestamp as a date when it is midnight, else date and time; NaT as 'no timestamp'."""
    if not isinstance(stamp, pd.Timestamp) or pd.isna(stamp):
        return "no timestamp"
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def validate_prices(
    frame: pd.DataFrame, origin: str, *, line_numbers: np.ndarray | None = None
) -> pd.DataFrame:
    """Check ``frame`` and return a new, clean copy of its bars.

    :param frame: bars with a DatetimeIndex and columns open, high, low, close and
        optionally volume (names case-insensitive; other columns are dropped).
    :param origin: where the data came from, for messages.
    :param line_numbers: for CSV input, the file line of each row.
    :return: a new DataFrame, float64 columns exactly ``open, high, low, close,
        volume`` (volume 0 when absent), index a tz-naive ``datetime64[ns]``
        DatetimeIndex named ``datetime``, sorted and unique.
    :raises DataError: for anything else; never another exception type.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{origin}: expected a pandas DataFrame, got {type(frame).__name__}.")
    positions = _column_positions(frame, origin)
    if len(frame) == 0:
        raise DataError(f"{origin}: no rows of price data. Add at least one bar.")
    index = _clean_index(frame.index, origin, line_numbers)
    _check_order(index, _index_label(frame.index), origin, line_numbers)
    values = _check_values(frame, positions, index, origin, line_numbers)
    return pd.DataFrame(values, index=index, columns=list(COLUMNS))


def _column_positions(frame: pd.DataFrame, origin: str) -> dict[str, int]:
    """Map each of open..volume to its column position; positions survive duplicate names."""
    positions: dict[str, int] = {}
    for pos, name in enumerate(frame.columns):
        key = canonical_name(name)
        if key in COLUMNS:
            if key in positions:
                first = frame.columns[positions[key]]
                raise DataError(
                    f"{origin}: columns {str(first)!r} and {str(name)!r} both mean {key!r}. "
                    "Keep one of them."
                )
            positions[key] = pos
    missing = [c for c in PRICE_COLUMNS if c not in positions]
    if missing:
        found = ", ".join(repr(str(c)) for c in list(frame.columns)[:20]) or "(none)"
        hint = ""
        if len(frame.columns) == 1 and re.search(r"[;\t|]", str(frame.columns[0])):
            hint = " The file seems to use another delimiter than a comma; save it as CSV."
        raise DataError(
            f"{origin}: missing required column(s) {', '.join(missing)}. Found: {found}. "
            "Expected open, high, low, close and optionally volume (case-insensitive)." + hint
        )
    return positions


def _clean_index(index: pd.Index, origin: str, line_numbers: np.ndarray | None) -> pd.DatetimeIndex:
    """A tz-naive nanosecond DatetimeIndex named ``datetime`` with no NaT."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{origin}: the index holds {index.dtype} values, not timestamps. Give the frame "
            "a DatetimeIndex, e.g. df.set_index(pd.to_datetime(df['date']))."
        )
    if index.tz is not None:
        # Keep the local wall-clock time: a daily bar stamped midnight New York
        # stays on its own date instead of moving to 04:00 or 05:00 UTC.
        index = index.tz_localize(None)
    bad = index.isna() | (index < pd.Timestamp.min) | (index > pd.Timestamp.max)
    if bad.any():
        pos = int(np.argmax(bad))
        value = "a missing timestamp (NaT)" if pd.isna(index[pos]) else f"timestamp {index[pos]}"
        raise DataError(
            f"{row_location(origin, index, pos, line_numbers)}, column "
            f"{_index_label(index)!r}: {value}. Timestamps must be dates between "
            "1677 and 2262; fix or remove the row."
        )
    return pd.DatetimeIndex(index.as_unit("ns"), name="datetime")


def _index_label(index: pd.Index) -> str:
    return str(index.name) if index.name is not None else "index"


def _check_order(
    index: pd.DatetimeIndex, column: str, origin: str, line_numbers: np.ndarray | None
) -> None:
    """Timestamps must strictly increase: report the first step back or repeat."""
    steps = np.diff(index.asi8)
    back = np.flatnonzero(steps < 0)
    if back.size:
        pos = int(back[0]) + 1
        fix = (
            "The rows are newest first; reverse them (oldest first)."
            if bool((steps < 0).all())
            else "Sort the rows by date, oldest first."
        )
        raise DataError(
            f"{row_location(origin, index, pos, line_numbers)}, column {column!r}: timestamp "
            f"{format_timestamp(index[pos])} is earlier than the previous row's "
            f"{format_timestamp(index[pos - 1])}. {fix}"
        )
    repeat = np.flatnonzero(steps == 0)
    if repeat.size:
        pos = int(repeat[0]) + 1
        raise DataError(
            f"{row_location(origin, index, pos, line_numbers)}, column {column!r}: timestamp "
            f"{format_timestamp(index[pos])} repeats the previous row's. Remove duplicate "
            "rows, e.g. df[~df.index.duplicated()]."
        )


def _to_float(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The column as float64 and a mask of cells that are present but not numbers."""
    plain_number = (
        ptypes.is_numeric_dtype(column)
        and not ptypes.is_bool_dtype(column)
        and not ptypes.is_complex_dtype(column)
    )
    if plain_number:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    # Everything else (text, objects, booleans, dates, categories) is parsed as
    # text: one path for every dtype, and a cell that is no number becomes NaN.
    missing = column.isna().to_numpy(dtype=bool)
    parsed = pd.to_numeric(column.astype(str), errors="coerce")
    values = np.asarray(parsed, dtype=np.float64)
    return values, np.isnan(values) & ~missing


def _check_values(
    frame: pd.DataFrame,
    positions: dict[str, int],
    index: pd.DatetimeIndex,
    origin: str,
    line_numbers: np.ndarray | None,
) -> np.ndarray:
    """The (rows, 5) float64 block; raise for the first row with any bad value."""
    rows = len(frame)
    values = np.zeros((rows, len(COLUMNS)), dtype=np.float64)
    not_number = np.zeros((rows, len(COLUMNS)), dtype=bool)
    for col, key in enumerate(COLUMNS):
        if key in positions:
            values[:, col], not_number[:, col] = _to_float(frame.iloc[:, positions[key]])
    names = [str(frame.columns[positions[k]]) if k in positions else k for k in COLUMNS]
    o, h, lo, c, v = values.T
    with np.errstate(invalid="ignore", over="ignore"):
        slack = RTOL * np.maximum(np.abs(h), np.abs(lo))
        open_out = (o - h > slack) | (lo - o > slack)
        close_out = (c - h > slack) | (lo - c > slack)
        checks = [  # (mask, problem, how to fix), in report order for one row
            (not_number, "{cell} is not a number", "Fix the value or remove the row."),
            (np.isnan(values) & ~not_number, "the value is missing", "Fill it or remove the row."),
            (np.isinf(values), "{cell} is not finite", "Fix the value or remove the row."),
            (values[:, :4] <= 0, "price {cell} is not positive", "Prices must be above 0."),
            (v < 0, "volume {cell} is negative", "Volume must be 0 or more."),
            (lo - h > slack, "high {h} is below low {lo}", "Fix or swap high and low."),
            (open_out, "open {o} is outside the bar's range [low {lo}, high {h}]", "Fix it."),
            (close_out, "close {c} is outside the bar's range [low {lo}, high {h}]", "Fix it."),
        ]
    firsts = [_first_row(mask) for mask, _, _ in checks]
    if all(f is None for f in firsts):
        return values
    pos = min(f for f in firsts if f is not None)
    which = firsts.index(pos)
    mask, problem, fix = checks[which]
    col = int(np.argmax(mask[pos])) if mask.ndim == 2 else _ONE_COLUMN[which]
    cell = show_value(frame.iloc[pos, positions[COLUMNS[col]]])
    text = problem.format(cell=cell, o=o[pos], h=h[pos], lo=lo[pos], c=c[pos])
    raise DataError(
        f"{row_location(origin, index, pos, line_numbers)}, column {names[col]!r}: {text}. {fix}"
    )


# For the checks on one column (not a (rows, columns) mask): the column to name.
_ONE_COLUMN = {4: 4, 5: 1, 6: 0, 7: 3}


def _first_row(mask: np.ndarray) -> int | None:
    hit = mask.any(axis=1) if mask.ndim == 2 else mask
    return int(np.argmax(hit)) if hit.any() else None


def show_value(cell: object) -> str:
    """A cell for a message: short, quoted when text."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return "an empty cell"
    text = repr(cell) if isinstance(cell, str) else str(cell)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_dates(
    values: pd.Series | pd.Index,
    origin: str,
    column: str,
    date_format: str | None,
    lines: np.ndarray | None,
) -> pd.DatetimeIndex:
    """Parse a column of dates; DataError naming the first cell that is no date.

    Values that already are datetimes are kept. Text is parsed with
    ``date_format`` (strptime) or, without one, as ISO 8601 after dropping a
    trailing UTC offset (mixed offsets, as in daylight-saving exports, would
    otherwise not parse into one column).
    """
    series = pd.Series(values, copy=False).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = series
    else:
        text = series.astype(str).str.strip()
        try:
            if date_format is None:
                text = text.str.replace(_UTC_OFFSET, "", regex=True)
                parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
            else:
                parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(
                f"{origin}, column {column!r}: cannot parse the dates ({exc}). "
                "Check --date-format (date_format=)."
            ) from None
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_localize(None)  # keep wall-clock time, as validate_prices does
    bad = np.asarray(index.isna())
    if bad.any():
        pos = int(np.argmax(bad))
        hint = (
            f"The format {date_format!r} does not match it; fix --date-format (date_format=)."
            if date_format
            else "Dates must be ISO (2020-01-31 or 2020-01-31 09:30:00); for another form "
            "pass its strptime format, e.g. --date-format '%d/%m/%Y' (date_format=)."
        )
        where = row_location(origin, pd.RangeIndex(len(index)), pos, lines)
        cell = show_value(_at(values, pos))
        raise DataError(f"{where}, column {column!r}: cannot parse {cell} as a date. {hint}")
    return index


def parse_times(
    values: pd.Series,
    origin: str,
    column: str,
    lines: np.ndarray | None,
    dates: pd.DatetimeIndex,
) -> pd.TimedeltaIndex:
    """Parse a time-of-day column (``09:05:00`` or ``09:05``) into offsets from midnight."""
    text = values.astype(str).str.strip().reset_index(drop=True)
    text = text.where(text.str.count(":") != 1, text + ":00")  # allow HH:MM
    times = pd.TimedeltaIndex(pd.to_timedelta(text, errors="coerce"))
    bad = np.asarray(times.isna() | (times < pd.Timedelta(0)) | (times >= pd.Timedelta(days=1)))
    if bad.any():
        pos = int(np.argmax(bad))
        where = row_location(origin, dates, pos, lines)
        raise DataError(
            f"{where}, column {column!r}: cannot parse {show_value(_at(values, pos))} as a time of "
            "day. Expected HH:MM:SS or HH:MM, e.g. 09:30:00."
        )
    return times


def _at(values: pd.Series | pd.Index, pos: int) -> object:
    return values.iloc[pos] if isinstance(values, pd.Series) else values[pos]
