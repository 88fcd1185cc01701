"""Where a CSV file breaks when pandas cannot parse it, said in rlbt's words.

pandas' parser errors name no line (a first data line with more fields than
the header), a line that is off once a quoted field spans lines, or a 0-based
"row". So on a parse error the file is read once more with the standard csv
module, which counts physical lines, and the first record that breaks the
form is named by the file line it starts on (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import lzma
import re
from pathlib import Path

from rlbt.engine.data.messages import foreign
from rlbt.engine.data.source import open_data, utf8_error
from rlbt.engine.errors import DataError

_FIX = "Every line needs the header's fields: a decimal comma, as in 1,5, splits a field "
_FIX += "(write 1.5), and a text holding a comma must be quoted."
# pandas' own numbering: "line N" is 1-based in the file, "row N" 0-based after the header.
_PANDAS_LINE = re.compile(r"\bline (\d+)")
_PANDAS_ROW = re.compile(r"\brow (\d+)")


def parse_error(path: Path, origin: str, compression: str | None, reason: str) -> DataError:
    """The DataError for a file pandas refused with ``reason``: the first bad
    line found by a csv-module scan, else pandas' line number when it gave one."""
    try:
        found = _first_bad_line(path, origin, compression)
    except UnicodeDecodeError:
        return utf8_error(path, origin, compression)
    except (OSError, EOFError, lzma.LZMAError):  # damaged compression: pandas' account stands
        found = None
    if found is not None:
        return DataError(f"{origin}: cannot read it as CSV: {found}")
    return DataError(
        f"{origin}{_pandas_line(reason)}: cannot read it as CSV ({foreign(reason)}). {_FIX}"
    )


def _first_bad_line(path: Path, origin: str, compression: str | None) -> str | None:
    """``"line 2 has 7 fields, ..."`` for the first malformed record, or None."""
    with open_data(path, origin, compression) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, strict=True)
        start, width = 1, None
        try:
            for row in reader:
                if width is None:
                    width = len(row)
                elif len(row) > width:
                    return _too_many(start, reader.line_num, len(row), width)
                start = reader.line_num + 1
        except csv.Error as exc:
            # strict: only then does the csv module report a quote left open at the end
            if "unexpected end of data" in str(exc):
                return _unclosed(start)
    return None  # e.g. a field over the csv module's size limit: pandas' numbering then


def _too_many(start: int, end: int, fields: int, width: int) -> str:
    where = f"line {start}" if start == end else f"the record on lines {start}-{end}"
    return f"{where} has {fields} fields, the header has {width}. {_FIX}"


def _unclosed(start: int) -> str:
    return (
        f"line {start} opens a quote (\") that is never closed, so the rest of the file "
        "would read as one field. Close the quote, or remove the stray one."
    )


def _pandas_line(reason: str) -> str:
    """``", line N"`` from pandas' message when it numbers one, else ``""``."""
    line = _PANDAS_LINE.search(reason)
    if line is not None:
        return f", line {int(line.group(1))}"
    row = _PANDAS_ROW.search(reason)
    return f", line {int(row.group(1)) + 2}" if row is not None else ""
