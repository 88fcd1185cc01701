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

from rlbt.engine.data.dates import clock_back_hint, parse_dates, parse_times, wall_clock
from rlbt.engine.data.messages import (
    format_timestamp,
    name_list,
    quoted,
    row_location,
    show_value,
)
from rlbt.engine.errors import DataError

__all__ = [  # parse_dates .. show_value: their old home, kept for importers
    "COLUMNS",
    "PRICE_COLUMNS",
    "RTOL",
    "MIN_PRICE",
    "MAX_PRICE",
    "MAX_VOLUME",
    "canonical_name",
    "validate_prices",
    "parse_dates",
    "parse_times",
    "format_timestamp",
    "row_location",
    "show_value",
]

PRICE_COLUMNS = ("open", "high", "low", "close")
COLUMNS = (*PRICE_COLUMNS, "volume")

# high/low/open/close comparisons allow this relative slack. Rounding every
# price to the same number of decimals is monotone, so it cannot invert an
# order; the slack only absorbs float noise from computed (e.g. resampled) data.
RTOL = 1e-9

# The range of a valid price. The engine divides cash by a price (shares),
# multiplies shares by prices and volume by price, compounds returns (ratios of
# prices) over the whole data and sums squares of them (math.fsum). Within
# [1e-8, 1e12] any ratio of two prices is at most 1e20, so these stay below
# about 1e45, far from the float maximum (1.8e308, where 1e305 overflowed), and
# every price stays far above the subnormal floats (< 2.2e-308, where 5e-324
# rounded positions to 0). The range still holds every real quote: from a
# satoshi (1e-8 BTC) to far above the dearest share (Berkshire A, about 7e5).
MIN_PRICE = 1e-8
MAX_PRICE = 1e12
# More units than any market trades in a bar (the busiest meme tokens: ~1e14 a
# day); volume x the largest price is then at most 1e30, still exact to 16 digits.
MAX_VOLUME = 1e18

_ALIASES = {"vol": "volume", "adjclose": "adj_close", "adjusted_close": "adj_close"}


def canonical_name(name: object) -> str:
    """Lower-case, trimmed, punctuation runs as ``_``: ``'Adj Close'`` -> ``adj_close``."""
    text = re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")
    return _ALIASES.get(text, text)


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
                    f"{origin}: columns {quoted(first)} and {quoted(name)} both mean {key!r}. "
                    "Keep one of them."
                )
            positions[key] = pos
    missing = [c for c in PRICE_COLUMNS if c not in positions]
    if missing:
        raise DataError(
            f"{origin}: missing required column(s) {', '.join(missing)}. "
            f"Found: {name_list(frame.columns)}. Expected open, high, low, close and "
            "optionally volume (case-insensitive)." + _delimiter_hint(frame.columns)
        )
    return positions


def _delimiter_hint(columns: pd.Index) -> str:
    if len(columns) == 1 and re.search(r"[;\t|]", str(columns[0])):
        return " The data seems to use another delimiter than a comma; save it as CSV."
    return ""


def _clean_index(index: pd.Index, origin: str, line_numbers: np.ndarray | None) -> pd.DatetimeIndex:
    """A tz-naive nanosecond DatetimeIndex named ``datetime`` with no NaT."""
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{origin}: the index holds {index.dtype} values, not timestamps. Give the frame "
            "a DatetimeIndex, e.g. df.set_index(pd.to_datetime(df['date']))."
        )
    # Local wall-clock time: a daily bar stamped midnight New York stays on its
    # own date instead of moving to 04:00 or 05:00 UTC.
    index = wall_clock(index, origin, _index_label(index), line_numbers)
    bad = index.isna() | (index < pd.Timestamp.min) | (index > pd.Timestamp.max)
    if bad.any():
        pos = int(np.argmax(bad))
        value = "a missing timestamp (NaT)" if pd.isna(index[pos]) else f"timestamp {index[pos]}"
        raise DataError(
            f"{row_location(origin, index, pos, line_numbers)}, column "
            f"{quoted(_index_label(index))}: {value}. Timestamps must be dates between "
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
    back = np.flatnonzero(steps <= 0)
    if not back.size:
        return
    pos = int(back[0]) + 1
    where = f"{row_location(origin, index, pos, line_numbers)}, column {quoted(column)}"
    now, before = (format_timestamp(index[i]) for i in (pos, pos - 1))
    hint = clock_back_hint(index[pos - 1], index[pos])
    if steps[pos - 1] == 0:
        raise DataError(
            f"{where}: timestamp {now} repeats the previous row's. Remove duplicate rows, "
            "e.g. df[~df.index.duplicated()]." + hint
        )
    fix = hint or (
        " The rows are newest first; reverse them (oldest first)."
        if bool((steps < 0).all())
        else " Sort the rows by date, oldest first."
    )
    raise DataError(f"{where}: timestamp {now} is earlier than the previous row's {before}.{fix}")


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


_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+\s*")
_RANGE = f"[{MIN_PRICE:g}, {MAX_PRICE:g}]"


def _value_checks(values: np.ndarray, not_number: np.ndarray) -> list[tuple[np.ndarray, str, str]]:
    """(rows x 5 mask, problem, how to fix), in the order they are reported for one row."""
    o, h, lo, c, v = values.T
    with np.errstate(invalid="ignore", over="ignore"):
        slack = RTOL * np.maximum(np.abs(h), np.abs(lo))
        prices = values[:, :4]
        return [
            (not_number, "{cell} is not a number", "Fix the value or remove the row."),
            (np.isnan(values) & ~not_number, "the value is missing", "Fill it or remove the row."),
            (np.isinf(values), "{cell} is not finite", "Fix the value or remove the row."),
            (_cols(prices <= 0), "price {cell} is not positive", "Prices must be above 0."),
            (
                _cols((prices < MIN_PRICE) | (prices > MAX_PRICE)),
                f"price {{cell}} is outside the supported range {_RANGE}",
                "Rescale the prices (e.g. quote in another unit).",
            ),
            (_cols(v < 0, 4), "volume {cell} is negative", "Volume must be 0 or more."),
            (
                _cols(v > MAX_VOLUME, 4),
                f"volume {{cell}} is above the supported {MAX_VOLUME:g}",
                "Rescale the volume (e.g. in thousands).",
            ),
            (_cols(lo - h > slack, 1), "high {h} is below low {lo}", "Fix or swap high and low."),
            (
                _cols((o - h > slack) | (lo - o > slack), 0),
                "open {o} is outside the bar's range [low {lo}, high {h}]",
                "Fix it.",
            ),
            (
                _cols((c - h > slack) | (lo - c > slack), 3),
                "close {c} is outside the bar's range [low {lo}, high {h}]",
                "Fix it.",
            ),
        ]


def _cols(mask: np.ndarray, column: int | None = None) -> np.ndarray:
    """A (rows, 5) mask: the price columns' mask padded, or one column's mask placed."""
    full = np.zeros((len(mask), len(COLUMNS)), dtype=bool)
    if column is None:
        full[:, : mask.shape[1]] = mask
    else:
        full[:, column] = mask
    return full


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
    checks = _value_checks(values, not_number)
    hits = np.stack([mask.any(axis=1) for mask, _, _ in checks])  # (checks, rows)
    bad_rows = hits.any(axis=0)
    if not bad_rows.any():
        return values
    pos = int(np.argmax(bad_rows))
    mask, problem, fix = checks[int(np.argmax(hits[:, pos]))]
    col = int(np.argmax(mask[pos]))
    raw = frame.iloc[pos, positions[COLUMNS[col]]] if COLUMNS[col] in positions else 0
    o, h, lo, c = values[pos, :4]
    text = problem.format(cell=show_value(raw), o=o, h=h, lo=lo, c=c)
    if isinstance(raw, str) and _DECIMAL_COMMA.fullmatch(raw):
        fix = "Use a point as the decimal mark (1.5, not 1,5)."
    name = frame.columns[positions[COLUMNS[col]]] if COLUMNS[col] in positions else COLUMNS[col]
    raise DataError(
        f"{row_location(origin, index, pos, line_numbers)}, column {quoted(name)}: {text}. {fix}"
    )
