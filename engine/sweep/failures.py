"""How a failed sweep run is told: one line on stderr as it fails (the grid
point, dataset and seed, and the error's gist), never wrapped mid-message;
the whole error (a bug's traceback included) stays in the run's record."""

from __future__ import annotations

from typing import Any

REASON_CHARS = 600
"""A reason longer than this is clipped (a plugin's error may be 100,000 characters)."""
_TRACEBACK = "Traceback (most recent call last)"


def one_line(text: str, limit: int = REASON_CHARS) -> str:
    """``text`` with every run of whitespace (newlines too) as one space, clipped."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def failure_line(run: dict[str, Any], error: str) -> str:
    """``run 1a2b (orcl, seed 0, fast=5) failed: ...``: one line for stderr."""
    point = ", ".join(f"{key}={value}" for key, value in run["grid"].items())
    where = ", ".join(part for part in (run["dataset"], f"seed {run['seed']}", point) if part)
    return f"run {run['run_id']} ({where}) failed: {gist(error)}"


def gist(error: str) -> str:
    """The error on one line; of a traceback (a bug's record), its last line."""
    if _TRACEBACK in error:
        last = [line for line in error.splitlines() if line.strip()][-1]
        return f"{one_line(last)} (the traceback is in the run's record)"
    return one_line(error)
