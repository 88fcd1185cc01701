"""Telling a plugin's own failure from a bug in rlbt.

A plugin's code runs inside rlbt's loop (``next``, ``stop``, ``decide``...).
When it raises, the fault is its author's: they need the plugin named, their
own frames and the exception line, not forty frames of click and backtrader.
The loader records where every plugin it imported lives; an exception whose
traceback passes through one of those places is the plugin's. Messages are
capped so that a plugin raising a 100 kB string cannot flood the terminal.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from rlbt.engine.plugins.loader import PluginError, plugin_places

MAX_MESSAGE = 1_000
"""Characters of the exception's own text shown; the rest is counted."""
MAX_FRAMES = 12
"""Innermost plugin frames shown (a RecursionError has a thousand)."""
FULL_TRACEBACK_ENV = "RLBT_TRACEBACK"
"""Set to 1 to get Python's whole traceback instead of the short report."""


class PluginRuntimeError(PluginError):
    """A plugin's own code raised while rlbt ran it."""


def cap(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def plugin_failure(exc: BaseException) -> PluginRuntimeError | None:
    """A short, user-facing report when ``exc`` came through a plugin's code;
    None when no plugin frame is on its traceback (then it is rlbt's bug)."""
    if os.environ.get(FULL_TRACEBACK_ENV) == "1":
        return None
    places = plugin_places()
    if not places:
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if _in_places(f.filename, places)]
    if not own:
        return None
    where = own[-1]
    lines = traceback.StackSummary.from_list(own[-MAX_FRAMES:]).format()
    skipped = len(own) - MAX_FRAMES
    head = [f"  ({skipped:,} outer plugin frames left out)\n"] if skipped > 0 else []
    message = cap(_one_line(exc))
    return PluginRuntimeError(
        f"the plugin in {Path(where.filename).name} raised {type(exc).__name__} in "
        f"{where.name}() at line {where.lineno}: {message}\n"
        f"Its frames (set {FULL_TRACEBACK_ENV}=1 for the whole traceback):\n"
        + "".join(head + lines).rstrip()
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else "(no message)"


def _in_places(filename: str, places: tuple[str, ...]) -> bool:
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError, RuntimeError):
        return False
    return any(resolved == place or resolved.startswith(place + os.sep) for place in places)
