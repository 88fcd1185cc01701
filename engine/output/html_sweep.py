"""``sweep.html``: what a sweep folder holds, on one self-contained page:
heatmaps of the ranked test metric over the grid, the spread over seeds of
each parameter set, the summary table, the deflated Sharpe of the best run,
the break-even commission and the failures.

Read from the folder's files (sweep.json, runs.csv, summary.csv,
deflated_sharpe.json, failures.json, break_even.csv), so it can be drawn
again for any finished or interrupted sweep."""

from __future__ import annotations

import html
import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd

from rlbt.engine.errors import ConfigError
from rlbt.engine.output import html_sweep_figures as sfigs
from rlbt.engine.output.html_parts import (
    figure_html,
    fmt,
    graph_objects,
    note,
    settings_table,
    table,
    write_page,
)

_MAX_HEATMAPS = 3
_MAX_FAILURES = 20


def write_sweep_html(sweep_folder: Path) -> Path:
    """Write ``sweep.html`` into ``sweep_folder`` atomically; returns its path.

    :raises ConfigError: when the folder holds no sweep (no readable
        sweep.json), a file of it is unreadable, or plotly is missing.
    """
    graph_objects()
    folder = Path(sweep_folder)
    spec = _read_json(folder / "sweep.json", required=True).get("spec", {})
    grid = spec.get("grid", {}) if isinstance(spec, dict) else {}
    keys = sorted(grid) if isinstance(grid, dict) else []
    runs, summary = _read_csv(folder / "runs.csv"), _read_csv(folder / "summary.csv")
    failures = _read_json(folder / "failures.json")
    rank = _rank(summary)
    strategy = spec.get("strategy", "?") if isinstance(spec, dict) else "?"
    title = f"sweep of {strategy}: {len(runs)} result rows, {len(failures)} failed"
    sections = [("Summary", _overview(runs, failures, rank, folder))]
    if not runs.empty and rank and f"test_{rank}" in runs:
        sections += _figures(runs, keys, rank)
    if not summary.empty:
        sections.append(("Parameter sets, best first", table(summary)))
    sections += _extras(folder, failures)
    if isinstance(spec, dict) and spec:
        sections.append(("Sweep settings", settings_table(spec)))
    return write_page(folder / "sweep.html", title, sections)


def _figures(runs: pd.DataFrame, keys: list[str], rank: str) -> list[tuple[str, str]]:
    varying = [k for k in keys if k in runs and runs[k].nunique(dropna=False) > 1]
    out = []
    for number, (x, y) in enumerate(itertools.islice(itertools.combinations(varying, 2),
                                                     _MAX_HEATMAPS)):
        out.append((f"test {rank} over {x} and {y} (mean over seeds and other settings)",
                    figure_html(sfigs.heatmap(runs, x, y, rank), f"rlbt-heatmap-{number}")))
    if len(varying) == 1:
        out.append((f"test {rank} over {varying[0]}",
                    figure_html(sfigs.one_param(runs, varying[0], rank), "rlbt-one-param")))
    group = [k for k in ("dataset", *keys) if k in runs and runs[k].nunique(dropna=False) > 1]
    out.append((f"test {rank} per parameter set: every seed",
                figure_html(sfigs.seed_spread(runs, group, rank), "rlbt-seeds")))
    return out


def _overview(runs: pd.DataFrame, failures: dict[str, Any], rank: str, folder: Path) -> str:
    deflated = _read_json(folder / "deflated_sharpe.json")
    lines = [f"{len(runs):,} result rows ({runs['run_id'].nunique() if 'run_id' in runs else 0:,}"
             f" runs), {len(failures):,} failed runs; ranked by test {rank or '?'}."]
    if {"test_sharpe", "expected_max_sharpe_of_trials", "deflated_sharpe"} <= set(deflated):
        lines.append(
            f"Best run {deflated.get('run_id', '?')}: test Sharpe "
            f"{fmt(deflated['test_sharpe'])}; the best of {deflated.get('trials', '?')} runs "
            f"with no skill would reach {fmt(deflated['expected_max_sharpe_of_trials'])}; "
            f"deflated Sharpe ratio {fmt(deflated['deflated_sharpe'])} (the probability it "
            "is skill, not the luck of the best draw).")
    return "".join(f"<p>{html.escape(line)}</p>" for line in lines)


def _extras(folder: Path, failures: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    break_even = _read_csv(folder / "break_even.csv")
    if not break_even.empty:
        out.append(("Break-even commission", note(
            "The commission at which the mean test edge over buy-and-hold falls to zero; "
            "empty: no edge even at the lowest commission swept; inf: the edge survives "
            "the highest.") + table(break_even, formats={"break_even_commission": ""})))
    if failures:
        shown = list(failures.items())[:_MAX_FAILURES]
        frame = pd.DataFrame(shown, columns=["run_id", "error"])
        more = (note(f"First {_MAX_FAILURES} of {len(failures):,}; all in failures.json.")
                if len(failures) > _MAX_FAILURES else "")
        out.append((f"Failures ({len(failures):,})", more + table(frame)))
    return out


def _rank(summary: pd.DataFrame) -> str:
    """The ranked metric, from summary.csv's ``<metric>_mean`` column."""
    means = [c[: -len("_mean")] for c in summary.columns if c.endswith("_mean") and c != "bh_mean"]
    return means[0] if means else ""


def _read_json(path: Path, *, required: bool = False) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise ConfigError(f"{path.parent}: not a sweep folder (no {path.name}).")
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as JSON ({exc}).") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a JSON object, found {type(value).__name__}.")
    return value


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{path}: cannot be read as CSV ({exc}).") from None
