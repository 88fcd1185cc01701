"""Read one Parquet file of bars, its damage said in rlbt's words.

A Parquet file starts with the 4 bytes ``PAR1`` and ends with its footer (the
schema and where every column chunk lies), the footer's 4-byte length and
``PAR1`` again. A file cut short (a copy or download that stopped) has lost
that ending, and pyarrow then says only "magic bytes not found in footer"
behind a repeat of the path; so the frame is checked first, and pyarrow's
message, for damage inside, is passed on without the path it repeats.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from rlbt.engine.data.frames import frame_from_dataframe
from rlbt.engine.data.messages import foreign
from rlbt.engine.data.source import check_file_size, open_checked
from rlbt.engine.errors import DataError

MAGIC = b"PAR1"
_FRAME = len(MAGIC) * 2 + 4  # leading magic, footer length, trailing magic
_PATH_PREFIX = re.compile(r"^Could not open Parquet input source '.*?': ", re.DOTALL)


def read_parquet_prices(path: Path, origin: str, max_bytes: int | None = None) -> pd.DataFrame:
    """Read and validate a Parquet file of bars (index or a date column holds the time)."""
    check_file_size(path, origin, max_bytes)
    problem = frame_problem(path, origin)
    if problem:
        raise DataError(f"{origin}: cannot read it as Parquet: {problem}")
    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(
            f"{origin}: reading Parquet needs pyarrow. Install it: pip install pyarrow"
        ) from None
    except _parquet_errors() as exc:
        reason = _PATH_PREFIX.sub("", str(exc)).strip()
        raise DataError(
            f"{origin}: cannot read it as Parquet: the file is damaged ({foreign(reason, 160)})."
        ) from None
    return frame_from_dataframe(frame, origin, None)


def frame_problem(path: Path, origin: str) -> str:
    """What is wrong with the file's Parquet frame (module docstring), or ``""``."""
    size = os.path.getsize(path)
    with open_checked(path, origin) as stream:
        head = stream.read(len(MAGIC))
        stream.seek(max(size - 8, 0))
        tail = stream.read(8)
    if head != MAGIC:
        return f"it does not start with {MAGIC.decode()}, so it is not a Parquet file."
    footer = int.from_bytes(tail[:4], "little") if len(tail) == 8 else -1
    if size < _FRAME or tail[4:] != MAGIC or not 0 < footer <= size - _FRAME:
        return (
            f"it is not a complete Parquet file ({size:,} bytes, and no footer ending in "
            f"{MAGIC.decode()}): it was likely cut short, e.g. by a copy or download that "
            "stopped. Copy or write it again."
        )
    return ""


def _parquet_errors() -> tuple[type[Exception], ...]:
    """What a damaged Parquet file raises: pyarrow's own errors besides the builtin ones."""
    errors: tuple[type[Exception], ...] = (OSError, ValueError, TypeError, KeyError, IndexError)
    try:
        from pyarrow import ArrowException
    except ImportError:
        return (*errors, NotImplementedError)
    return (*errors, NotImplementedError, ArrowException)
