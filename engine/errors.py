"""The one exception hierarchy of rlbt.

    RlbtError                 base: a user mistake, shown as one line, exit 1
    ├── DataError             bad or unreadable price data (names file, row, column)
    ├── ConfigError           a bad option or parameter value (names the option)
    │   └── UnknownNameError  an unknown strategy / dataset / param ("did you mean")
    └── OutputError           a file or folder rlbt cannot write (disk full, permissions)

``agents/`` may not import ``engine`` (see DESIGN.md), so its own user errors
(``rlbt.agents.errors.AgentError``: a corrupt, foreign or unsafe checkpoint, a bad
agent setting) carry the class attribute ``is_user_error = True`` instead;
``is_user_error`` below recognises both. Anything else escaping the engine is a
bug in rlbt and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RlbtError(Exception):
    """Base class for errors caused by the user's input, not by rlbt itself."""


class DataError(RlbtError):
    """Price data that cannot be used; the message says where and how to fix it."""


class ConfigError(RlbtError):
    """An option or parameter with a value rlbt cannot use."""


class UnknownNameError(ConfigError):
    """A name (strategy, dataset, parameter) that is not known."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(known) if known else "(none)"
        super().__init__(f"Unknown {kind} {name!r}.{hint} Known: {listing}.")
        self.kind, self.name, self.known = kind, name, known


class OutputError(RlbtError):
    """A file or folder that cannot be written; nothing half-written is left behind."""


def is_user_error(exc: BaseException) -> bool:
    """True for errors the CLI shows as one line (no traceback) with exit 1."""
    return isinstance(exc, RlbtError) or bool(getattr(exc, "is_user_error", False))
