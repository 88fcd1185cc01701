"""``sweep()``: every run of a ``SweepSpec`` on an executor, with resume.

Each finished run is written at once to ``runs/<run_id>.json`` (atomically),
so Ctrl-C or a crash keeps what finished, and rerunning the same sweep folder
skips finished runs. The tables are rebuilt from those records at the end:
``runs.csv`` (one row per run and window), ``summary.csv`` (per parameter
set over seeds, ranked), ``break_even.csv`` (when commission is swept),
``deflated_sharpe.json`` (the best run's Sharpe deflated for the number of
runs tried) and ``sweep.png``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import write_text
from rlbt.engine.output.run_folder import write_csv, write_json
from rlbt.engine.sweep.deflated import best_run_deflated
from rlbt.engine.sweep.executors import EXECUTORS, default_workers, run_local, run_ray
from rlbt.engine.sweep.plot import write_sweep_plot
from rlbt.engine.sweep.spec import SweepSpec
from rlbt.engine.sweep.summary import break_even_commission, summarize_runs


@dataclass
class SweepResult:
    """Tables of a sweep and what went wrong."""

    rows: pd.DataFrame
    summary: pd.DataFrame
    break_even: pd.DataFrame | None
    failures: dict[str, str] = field(default_factory=dict)
    """run_id -> error of the runs that failed."""
    deflated: dict[str, Any] = field(default_factory=dict)
    """The best run's Sharpe deflated for every run tried (engine/sweep/deflated.py)."""
    skipped: int = 0
    """Runs found finished in the folder and not run again."""
    interrupted: bool = False


def sweep(
    spec: SweepSpec,
    out: Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    rank: str = "sharpe",
    progress: bool = False,
) -> SweepResult:
    """Run ``spec`` into the folder ``out`` and summarise it.

    :param executor: ``local`` (process pool) or ``ray``.
    :param workers: parallel runs (default: CPU count).
    :param address: Ray cluster address (``ray`` only; default: start a local Ray).
    :param rank: test metric to rank parameter sets by.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: expected one of {', '.join(EXECUTORS)}.")
    if address and executor != "ray":
        raise ConfigError("--address is for --executor ray.")
    runs = spec.runs()
    records_dir = out / "runs"
    records_dir.mkdir(parents=True, exist_ok=True)
    write_json(out / "sweep.json", {"spec": _spec_dict(spec), "runs": len(runs)})
    finished = {r["run_id"] for r in runs if _load(records_dir, r["run_id"]).get("status") == "ok"}
    pending = [r for r in runs if r["run_id"] not in finished]
    interrupted = False
    with _progress(progress, len(runs), len(finished)) as advance:

        def on_done(record: dict[str, Any]) -> None:
            write_text(records_dir / f"{record['run_id']}.json", json.dumps(record, default=str))
            advance(record)

        try:
            if executor == "ray":
                run_ray(pending, workers or default_workers(), address, on_done)
            elif pending:
                run_local(pending, workers or default_workers(), on_done)
        except KeyboardInterrupt:
            interrupted = True
    result = _tables(spec, runs, records_dir, rank, out)
    result.skipped, result.interrupted = len(finished), interrupted
    return result


def _tables(
    spec: SweepSpec, runs: list[dict[str, Any]], records_dir: Path, rank: str, out: Path
) -> SweepResult:
    rows, failures = [], {}
    for run in runs:
        record = _load(records_dir, run["run_id"])
        if record.get("status") == "ok":
            rows += record["rows"]
        elif record:
            failures[run["run_id"]] = record.get("error", "")
    table = pd.DataFrame(rows)
    group_keys = ["dataset", *sorted(spec.grid)]
    summary, break_even, deflated = pd.DataFrame(), None, {}
    if not table.empty:
        table = table.sort_values(["dataset", *sorted(spec.grid), "seed", "wf_window"])
        write_csv(out / "runs.csv", table)
        summary = summarize_runs(table, group_keys, rank)
        write_csv(out / "summary.csv", summary)
        if "commission" in spec.grid:
            break_even = break_even_commission(table, group_keys)
            write_csv(out / "break_even.csv", break_even)
        write_sweep_plot(table, group_keys, rank, out / "sweep.png")
        deflated = best_run_deflated(table)
        write_json(out / "deflated_sharpe.json", deflated)
    write_json(out / "failures.json", failures)
    return SweepResult(table, summary, break_even, failures, deflated)


def _load(records_dir: Path, run_id: str) -> dict[str, Any]:
    path = records_dir / f"{run_id}.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}  # not run yet (atomic writes: never a half-written record)


def _spec_dict(spec: SweepSpec) -> dict[str, Any]:
    return {
        "strategy": spec.strategy,
        "datasets": list(spec.datasets),
        "grid": {k: list(v) for k, v in spec.grid.items()},
        "seeds": list(spec.seeds),
        "base": spec.base.to_dict(),
        "walk_forward": spec.walk_forward,
        "window_mode": spec.window_mode,
    }


class _progress:
    """A rich progress bar over runs (or nothing), as a context manager."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self._bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            disable=not enabled,
        )
        self._task = self._bar.add_task("runs", total=total, completed=done, failed=0)
        self._failed = 0

    def __enter__(self) -> Any:
        self._bar.__enter__()
        return self.advance

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def advance(self, record: dict[str, Any]) -> None:
        self._failed += record["status"] != "ok"
        self._bar.update(self._task, advance=1, failed=self._failed)
