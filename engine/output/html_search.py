"""``sweep.html`` of an Optuna search (``rlbt sweep --search optuna``): the
optimisation history (each trial's validation score by state, the running
best), one slice plot per searched key (setting vs validation score), the
best settings beside their one test-slice run, and the trials table.

Read from the folder's own files (sweep.json, trials.csv, best.json,
failures.json) with plain plotly, not from the Optuna journal: the page can
be drawn again for any finished or interrupted search without Optuna."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.output.html_parts import (
    figure_html,
    graph_objects,
    note,
    settings_table,
    table,
    write_page,
)
from rlbt.engine.output.html_sweep import _read_csv, _read_json

_STATES = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "FAIL": "#d62728"}
_MAX_FAILURES = 20


def write_search_html(folder: Path) -> Path:
    """Write ``sweep.html`` for the search in ``folder`` atomically; returns its path.

    :raises ConfigError: no readable sweep.json, an unreadable file, or no plotly.
    """
    graph_objects()
    folder = Path(folder)
    spec = _read_json(folder / "sweep.json", required=True).get("spec", {})
    trials, best = _read_csv(folder / "trials.csv"), _read_json(folder / "best.json")
    failures = _read_json(folder / "failures.json")
    space = spec.get("space", {}) if isinstance(spec, dict) else {}
    score = next((c for c in trials.columns if c.startswith("val_")), "")
    title = (f"search of {spec.get('strategy', '?')}: {len(trials):,} trials, objective "
             f"{spec.get('objective', score)}")
    sections = [("Summary", _summary(trials, best, failures))]
    if score and not trials.empty:
        sections.append(("Optimisation history",
                         figure_html(history_figure(trials, score), "rlbt-history")))
        for number, key in enumerate(k for k in space if k in trials):
            log = bool(space[key].get("log")) if isinstance(space[key], dict) else False
            sections.append((f"{score} over {key}", figure_html(
                slice_figure(trials, key, score, log), f"rlbt-slice-{number}")))
    if best:
        sections.append(("Best settings and their test slice", settings_table(best)))
    if not trials.empty and score:
        ranked = trials.sort_values(score, ascending=False, kind="stable", na_position="last")
        sections.append(("Trials, best first", table(ranked)))
    if failures:
        shown = pd.DataFrame(list(failures.items())[:_MAX_FAILURES], columns=["run_id", "error"])
        sections.append((f"Failures ({len(failures):,})", table(shown)))
    if isinstance(spec, dict) and spec:
        sections.append(("Search settings", settings_table(spec)))
    return write_page(folder / "sweep.html", title, sections)


def _summary(trials: pd.DataFrame, best: dict[str, Any], failures: dict[str, Any]) -> str:
    states = trials["state"].value_counts() if "state" in trials else pd.Series(dtype=int)
    counts = ", ".join(f"{int(n):,} {state.lower()}" for state, n in states.items())
    lines = [f"{len(trials):,} trials ({counts or 'none finished'}); {len(failures):,} failed."]
    if best:
        params = ", ".join(f"{k}={v}" for k, v in best.get("params", {}).items())
        test, nan = best.get("test", {}), float("nan")
        lines.append(f"Best: trial {best.get('best_trial')} ({params}), "
                     f"{best.get('objective', '')} {best.get('validation_value', nan):.4g};"
                     f" its one test-slice run: Sharpe {test.get('sharpe', nan):.3f}, "
                     f"total return {test.get('total_return', nan):.2%}.")
    page = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return page + note("Trials are scored on the validation slice only; the test slice ran "
                       "once, for the best settings.")


def history_figure(trials: pd.DataFrame, score: str) -> Any:
    """Each trial's validation score by trial number and state, and the best so far."""
    go = graph_objects()
    fig = go.Figure()
    for state, color in _STATES.items():
        rows = trials[trials["state"] == state]
        if not rows.empty:
            fig.add_trace(go.Scatter(x=rows["trial"], y=rows[score], mode="markers", name=state,
                                     marker={"color": color, "size": 8}))
    complete = trials[trials["state"] == "COMPLETE"].sort_values("trial")
    if not complete.empty:
        fig.add_trace(go.Scatter(x=complete["trial"], y=np.maximum.accumulate(complete[score]),
                                 mode="lines", name="best so far", line={"shape": "hv"}))
    fig.update_layout(xaxis_title="trial", yaxis_title=score, template="plotly_white",
                      height=420)
    return fig


def slice_figure(trials: pd.DataFrame, key: str, score: str, log: bool) -> Any:
    """One searched setting against the validation score, coloured by trial number."""
    go = graph_objects()
    rows = trials[trials["state"] != "FAIL"]
    values = pd.to_numeric(rows[key], errors="coerce")
    numeric = values.notna().all()
    fig = go.Figure(go.Scatter(
        x=values if numeric else rows[key].astype(str), y=rows[score], mode="markers",
        marker={"color": rows["trial"], "colorscale": "Viridis", "showscale": True,
                "colorbar": {"title": "trial"}, "size": 8},
        text=[f"trial {t} ({s})" for t, s in zip(rows["trial"], rows["state"], strict=True)]))
    fig.update_layout(xaxis_title=key, yaxis_title=score, template="plotly_white", height=380)
    if log and numeric:
        fig.update_xaxes(type="log")
    return fig
