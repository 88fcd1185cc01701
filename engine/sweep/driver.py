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

import click
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import write_text
from rlbt.engine.output.run_folder import write_csv, write_json
from rlbt.engine.sweep.checks import check_rank
from rlbt.engine.sweep.deflated import best_run_deflated
from rlbt.engine.sweep.executors import EXECUTORS, default_workers, run_local, run_ray
from rlbt.engine.sweep.failures import failure_line
from rlbt.engine.sweep.plot import write_sweep_plot
from rlbt.engine.sweep.records import read_record
from rlbt.engine.sweep.signals import sigterm_as_interrupt
from rlbt.engine.sweep.spec import SweepSpec, check_size
from rlbt.engine.sweep.summary import break_even_commission, summarize_runs

_NOTICES = 5  # ignored records named one by one; the rest counted


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
    report: bool = True,
) -> SweepResult:
    """Run ``spec`` into the folder ``out`` and summarise it.

    :param executor: ``local`` (worker processes) or ``ray``.
    :param workers: parallel runs (default: CPU count).
    :param address: Ray cluster address (``ray`` only; default: start a local Ray).
    :param rank: test metric to rank parameter sets by.
    :param progress: show a progress bar, each failed run as it fails, and notices
        (ignored records), all on stderr.
    :param report: draw sweep.png and sweep.html (``--no-report``: tables only).
    """
    _check(spec, executor, workers, address, rank)
    runs = spec.runs()
    records_dir = _make_folder(out)
    write_json(out / "sweep.json", {"spec": _spec_dict(spec), "runs": len(runs)})
    records = _read_records(runs, records_dir, progress)
    pending = [r for r in runs if records.get(r["run_id"], {}).get("status") != "ok"]
    skipped = len(runs) - len(pending)
    interrupted = False
    by_id = {run["run_id"]: run for run in pending}
    with _progress(progress, len(runs), skipped, by_id) as advance:

        def on_done(record: dict[str, Any]) -> None:
            text = json.dumps(record, default=str)
            try:
                write_text(records_dir / f"{record['run_id']}.json", text)
            except OSError as exc:
                raise ConfigError(f"--out {out}: cannot write a run record: {exc}") from exc
            records[record["run_id"]] = json.loads(text)  # as a rerun will read it
            advance(record)

        try:
            with sigterm_as_interrupt():
                if executor == "ray":
                    run_ray(pending, workers or default_workers(), address, on_done)
                elif pending:
                    run_local(pending, workers or default_workers(), on_done)
        except KeyboardInterrupt:
            interrupted = True
    result = _tables(spec, runs, records, rank, out, report)
    result.skipped, result.interrupted = skipped, interrupted
    return result


def _check(
    spec: SweepSpec, executor: str, workers: int | None, address: str | None, rank: str
) -> None:
    """Refuse bad options before anything is written or expanded."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: expected one of {', '.join(EXECUTORS)}.")
    if address and executor != "ray":
        raise ConfigError("--address is for --executor ray.")
    if workers is not None and (type(workers) is not int or workers < 1):
        raise ConfigError(f"--workers {workers!r}: expected a whole number >= 1.")
    check_rank(rank)
    check_size(spec)


def _make_folder(out: Path) -> Path:
    records_dir = out / "runs"
    try:
        records_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"--out {out}: cannot create the sweep folder: {exc.strerror or exc}."
        ) from exc
    return records_dir


def _read_records(
    runs: list[dict[str, Any]], records_dir: Path, notify: bool
) -> dict[str, dict[str, Any]]:
    """The usable records in the folder by run id; unusable ones are named on
    stderr (when ``notify``) and their runs done again."""
    records, ignored = {}, []
    for run in runs:
        path = records_dir / f"{run['run_id']}.json"
        record, problem = read_record(path, run)
        if record is not None:
            records[run["run_id"]] = record
        elif problem:
            ignored.append(f"{path}: {problem}")
    if notify:
        for line in ignored[:_NOTICES]:
            click.echo(f"Ignoring sweep record {line}; the run will be done again.", err=True)
        if len(ignored) > _NOTICES:
            click.echo(f"... and {len(ignored) - _NOTICES} more sweep records ignored.", err=True)
    return records


def _tables(
    spec: SweepSpec,
    runs: list[dict[str, Any]],
    records: dict[str, dict[str, Any]],
    rank: str,
    out: Path,
    report: bool = True,
) -> SweepResult:
    rows, failures = [], {}
    for run in runs:
        record = records.get(run["run_id"])
        if record is None:
            continue
        if record["status"] == "ok":
            rows += record["rows"]
        else:
            failures[run["run_id"]] = record["error"]
    table = pd.DataFrame(rows)
    group_keys = ["dataset", *sorted(spec.grid)]
    summary, break_even, deflated = pd.DataFrame(), None, {}
    if not table.empty:
        order = ["dataset", *sorted(spec.grid), "seed", "wf_window"]
        table = table.sort_values(order, key=numeric_order, kind="stable")
        write_csv(out / "runs.csv", table)
        summary = summarize_runs(table, group_keys, rank)
        write_csv(out / "summary.csv", summary)
        if "commission" in spec.grid:
            break_even = break_even_commission(table, group_keys)
            write_csv(out / "break_even.csv", break_even)
        if report:
            write_sweep_plot(table, group_keys, rank, out / "sweep.png")
        deflated = best_run_deflated(table)
        write_json(out / "deflated_sharpe.json", deflated)
    write_json(out / "failures.json", failures)
    if report:
        write_html(out)
    return SweepResult(table, summary, break_even, failures, deflated)


def numeric_order(column: pd.Series) -> pd.Series:
    """Sort key of a table column: grid values (text) as numbers when every one
    is a number (5, 10, 20, not "10", "20", "5"); other columns as they are."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column


def write_html(out: Path) -> None:
    """``sweep.html`` when plotly is there; else a one-line notice (the tables stand)."""
    from rlbt.engine.output.html_parts import EXTRA, plotly_available

    if not plotly_available():
        click.echo(f"sweep.html not written: the interactive report needs plotly ({EXTRA}).",
                   err=True)
        return
    from rlbt.engine.output.html_sweep import write_sweep_html

    write_sweep_html(out)


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
    """A rich progress bar over runs (or nothing), as a context manager, on
    stderr with each failed run's line above it (stdout keeps the results)."""

    def __init__(
        self, enabled: bool, total: int, done: int, runs: dict[str, dict[str, Any]]
    ) -> None:
        self._enabled, self._runs = enabled, runs
        self._bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
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
        failed = record["status"] != "ok"
        self._failed += failed
        self._bar.update(self._task, advance=1, failed=self._failed)
        run = self._runs.get(record["run_id"])
        if failed and self._enabled and run is not None:
            # soft_wrap: one line however narrow the terminal, so it can be grepped
            line = failure_line(run, str(record["error"]))
            self._bar.console.print(line, soft_wrap=True, markup=False, highlight=False)
