"""How data errors show what they point at: where (file, line, timestamp) and
what (a cell, a column name), always short.

Every value a message echoes goes through :func:`clip`: a file whose header is
one 20 MB line, or a cell holding a whole document, must still give a one-line
error a user can read.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

ECHO_LIMIT = 80  # characters of any echoed value, header or foreign message
LIST_LIMIT = 12  # column names listed in a "Found: ..." part, each clipped to NAME_LIMIT
NAME_LIMIT = 40


def clip(text: object, limit: int = ECHO_LIMIT) -> str:
    """``text`` as a string of at most ``limit`` characters (``...`` marks a cut)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def foreign(exc: object, limit: int = 120) -> str:
    """Another library's message (pandas, pyarrow) on one clipped line: theirs
    may span lines, and a user error is one line."""
    return clip(" ".join(str(exc).split()), limit)


def quoted(name: object) -> str:
    """A column name or value for a message: clipped, then quoted as Python would."""
    return repr(clip(name))


def name_list(names: Iterable[object]) -> str:
    """Up to :data:`LIST_LIMIT` quoted names, with the count of the rest."""
    names = list(names)
    shown = ", ".join(repr(clip(n, NAME_LIMIT)) for n in names[:LIST_LIMIT]) or "(none)"
    rest = len(names) - LIST_LIMIT
    return shown + (f" and {rest:,} more" if rest > 0 else "")


def show_value(cell: object) -> str:
    """A cell for a message: short, quoted when text, ``an empty cell`` when missing."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return "an empty cell"
    return repr(clip(cell, 40)) if isinstance(cell, str) else clip(cell, 40)


def format_timestamp(stamp: object) -> str:
    """A timestamp as a date when it is midnight, else date and time; NaT as 'no timestamp'."""
    if not isinstance(stamp, pd.Timestamp) or pd.isna(stamp):
        return "no timestamp"
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


def row_location(origin: str, index: pd.Index, pos: int, line_numbers: np.ndarray | None) -> str:
    """``"prices.csv, line 7 (2020-01-03)"`` or ``"DataFrame, row 5 (2020-01-03)"``."""
    where = f"line {int(line_numbers[pos])}" if line_numbers is not None else f"row {pos}"
    stamp = index[pos] if isinstance(index, pd.DatetimeIndex) else None
    return f"{origin}, {where}" + (f" ({format_timestamp(stamp)})" if stamp is not None else "")
