"""Read one CSV file of bars (plain or gzip / bzip2 / xz compressed).

rlbt reads comma-separated UTF-8 text with a point as the decimal mark and the
header on line 1; a file that looks separated by ``;``, a tab or ``|`` is
refused with that diagnosis rather than guessed at, since such files usually
write decimals with a comma, which would be misread. The header's names must
not repeat (pandas would rename a second ``Close`` to ``Close.1`` and drop it).
"""

from __future__ import annotations

import csv
import lzma
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rlbt.engine.data.csv_faults import parse_error
from rlbt.engine.data.frames import DATE_NAMES, date_columns, index_by_time
from rlbt.engine.data.messages import clip, name_list, quoted
from rlbt.engine.data.source import check_file_size, first_line, utf8_error
from rlbt.engine.data.validate import COLUMNS, canonical_name
from rlbt.engine.errors import DataError

_OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}


def read_csv_prices(
    path: Path,
    origin: str,
    date_format: str | None = None,
    max_bytes: int | None = None,
    compression: str | None = None,
) -> pd.DataFrame:
    """Read and validate one CSV file of bars (see ``rlbt.engine.data.prices`` for the forms)."""
    check_file_size(path, origin, max_bytes)
    if path.stat().st_size == 0:
        raise DataError(
            f"{origin}: the file is empty. Expected a header line such as "
            "Date,Open,High,Low,Close,Volume and then one line per bar."
        )
    header = first_line(path, origin, compression)
    _check_header(header, origin)
    columns = _read_csv(path, origin, compression, nrows=0).columns
    date_pos, time_pos = _csv_date_columns(columns, origin)
    # Timestamps stay text so pandas never guesses (and warns about) their format.
    text = {pos: str for pos in (date_pos, time_pos) if pos is not None}
    raw = _read_csv(path, origin, compression, dtype=text, skip_blank_lines=False, low_memory=False)
    # Line numbers are taken before blank lines are dropped, so they match the file.
    lines = np.arange(len(raw)) + 2
    filled = raw.notna().any(axis=1).to_numpy()
    raw, lines = raw[filled], lines[filled]
    return index_by_time(raw, date_pos, time_pos, origin, date_format, lines)


def _check_header(header: str, origin: str) -> None:
    """Line 1 is a comma-separated header whose meaningful names do not repeat."""
    if not header.strip():
        raise DataError(
            f"{origin}, line 1: the line is blank. The header (Date,Open,High,Low,Close,...) "
            "must be the first line."
        )
    commas = header.count(",")
    other = max(_OTHER_DELIMITERS, key=header.count)
    if header.count(other) > commas:
        name = _OTHER_DELIMITERS[other]
        raise DataError(
            f"{origin}: the file looks {name}-separated: its header line has "
            f"{header.count(other):,} {name} and {commas:,} ','. rlbt reads comma-separated "
            "CSV (delimiter ',', decimal point '.'); save the file in that form, e.g. "
            f"pd.read_csv(path, sep={other!r}, decimal=',').to_csv(new_path)."
        )
    try:
        fields = next(csv.reader([header]))
    except csv.Error:  # a field over the csv module's limit: names are not quoted then
        fields = header.split(",")
    seen: dict[str, int] = {}
    for pos, field in enumerate(fields):
        key = canonical_name(field)
        if key in COLUMNS or key in DATE_NAMES:
            if key in seen:
                raise DataError(
                    f"{origin}, line 1: columns {seen[key] + 1} and {pos + 1} are both named "
                    f"{quoted(field)} (meaning {key!r}). Keep one of them."
                )
            seen[key] = pos


def _read_csv(path: Path, origin: str, compression: str | None, **options: object) -> pd.DataFrame:
    """``pd.read_csv`` with its parse errors (and ragged-row warning) as a DataError.

    ``index_col=False`` stops pandas from silently turning extra leading fields
    into an index; it warns instead, which is made an error here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(  # type: ignore[call-overload,no-any-return]
                path, index_col=False, compression=compression, **options
            )
    except UnicodeDecodeError:
        raise utf8_error(path, origin, compression) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{origin}: the file holds no header line, only blank lines.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        reason = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise parse_error(path, origin, compression, reason) from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{origin}: cannot read it ({clip(exc)}).") from None


def _csv_date_columns(columns: pd.Index, origin: str) -> tuple[int, int | None]:
    """As :func:`date_columns`, or the first column when it is unnamed (``to_csv``)."""
    date_pos, time_pos = date_columns(columns)
    if date_pos is not None:
        return date_pos, time_pos
    first = str(columns[0]) if len(columns) else "?"
    if canonical_name(first) in ("", "index") or first.startswith("Unnamed: 0"):
        return 0, None
    raise DataError(
        f"{origin}: no date column. Found: {name_list(columns)}. Name the timestamp column "
        "Date, Datetime or Timestamp (or leave the first column unnamed, as DataFrame.to_csv "
        "does)."
    )
