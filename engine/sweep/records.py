"""Reading ``runs/<run_id>.json`` back. A record is trusted only when it has
the shape ``execute_run`` writes for that very run; anything else (hand-edited,
truncated by another tool, from another version) is reported and the run is
done again, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rlbt.engine.metrics import METRIC_KEYS

_FIELDS = {"run_id": str, "status": str, "error": str, "rows": list}
# Columns the tables and the deflated Sharpe compute with: numbers in every row.
_NUMERIC = (
    *(f"{period}_{key}" for period in ("train", "test") for key in METRIC_KEYS),
    *(f"{period}_bh_{key}" for period in ("train", "test") for key in METRIC_KEYS),
    "test_bars",
    "test_skew",
    "test_kurtosis",
    "bars_per_year",
)


def read_record(path: Path, run: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """``(record, None)`` for a usable record of ``run``; ``(None, None)`` when
    there is none yet; ``(None, why)`` when the file is there but unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"unreadable ({getattr(exc, 'strerror', None) or exc})"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not valid JSON"
    problem = record_problem(record, run)
    return (None, problem) if problem else (record, None)


def record_problem(record: Any, run: dict[str, Any]) -> str | None:
    """What is wrong with ``record`` as the record of ``run``, or ``None``."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    for key, kind in _FIELDS.items():
        if not isinstance(record.get(key), kind):
            return f"'{key}' missing or not a {kind.__name__}"
    if record["run_id"] != run["run_id"]:
        return f"'run_id' is {record['run_id']!r}, not {run['run_id']!r}"
    if record["status"] not in ("ok", "error"):
        return f"'status' is {record['status']!r}, not 'ok' or 'error'"
    if record["status"] == "ok" and not record["rows"]:
        return "'rows' is empty in a finished run"
    for number, row in enumerate(record["rows"], start=1):
        problem = _row_problem(row, run)
        if problem:
            return f"row {number}: {problem}"
    return None


def _row_problem(row: Any, run: dict[str, Any]) -> str | None:
    if not isinstance(row, dict):
        return f"a JSON {type(row).__name__}, not an object"
    ident = {"run_id": run["run_id"], "dataset": run["dataset"], "seed": run["seed"], **run["grid"]}
    for key, value in ident.items():
        if key not in row or row[key] != value or type(row[key]) is not type(value):
            return f"'{key}' is {row.get(key)!r}, not {value!r}"
    if type(row.get("wf_window")) is not int or row["wf_window"] < 0:
        return "'wf_window' missing or not a whole number"
    bad = next((key for key in _NUMERIC if not _is_number(row.get(key))), None)
    return f"'{bad}' missing or not a number" if bad is not None else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # NaN allowed
