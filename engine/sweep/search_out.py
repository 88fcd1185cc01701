"""What a search leaves in its folder, rebuilt from the study each call:
``trials.csv`` (one row per trial: number, state COMPLETE / PRUNED / FAIL,
validation value (a pruned trial's: its last episode's), episodes run,
settings, error), ``failures.json (as for grids: run id -> error) and ``best.json``
(the best trial's settings and validation value, the counts of trials,
completed and pruned ones, and the test slice of one
ordinary run with those settings, with the deflated Sharpe for the number of
trials when the objective is the Sharpe ratio)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.output.run_folder import write_csv, write_json
from rlbt.engine.sweep.deflated import deflated_sharpe, expected_max_sharpe
from rlbt.engine.sweep.search_space import Dimension, as_text
from rlbt.engine.sweep.spec import SweepSpec, run_id


@dataclass
class SearchResult:
    """The trials of a search, its best settings and what went wrong."""

    trials: pd.DataFrame
    best: dict[str, Any] = field(default_factory=dict)
    """best.json's content; empty when no trial finished."""
    failures: dict[str, str] = field(default_factory=dict)
    skipped: int = 0
    """Trials found finished in the folder and not run again."""
    interrupted: bool = False
    pruned: int = 0
    """Trials stopped early by the pruner."""


def finish(study: Any, spec: SweepSpec, space: tuple[Dimension, ...], rank: str, out: Path,
           *, final: bool) -> SearchResult:
    """Write the tables; with ``final``, run the best settings once on the test slice."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    table = trials_table(trials, space, rank)
    write_csv(out / "trials.csv", table)
    failures = {
        str(t.user_attrs.get("run_id", f"trial-{t.number}")):
            f"trial {t.number}: {t.user_attrs.get('error', 'stopped before it finished')}"
        for t in trials if t.state == optuna.trial.TrialState.FAIL
    }
    write_json(out / "failures.json", failures)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    best: dict[str, Any] = {}
    if complete and final:
        best = _best(study.best_trial, complete, spec, rank, len(trials))
        best = {**best, "pruned": pruned}
        write_json(out / "best.json", best)
    return SearchResult(table, best, failures, pruned=pruned)


def trials_table(trials: list[Any], space: tuple[Dimension, ...], rank: str) -> pd.DataFrame:
    """One row per trial in trial order; nothing that differs between equal runs (no times)."""
    rows = []
    for t in trials:
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name,
                               f"val_{rank}": t.value if t.value is not None else math.nan,
                               "episodes": t.user_attrs.get("episodes")}
        row.update({d.name: as_text(t.params[d.name]) if d.name in t.params else ""
                    for d in space})
        row["run_id"] = t.user_attrs.get("run_id", "")
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    columns = ["trial", "state", f"val_{rank}", "episodes", *(d.name for d in space), "run_id",
               "error"]
    table = pd.DataFrame(rows, columns=columns)
    table["episodes"] = table["episodes"].astype("Int64")  # whole numbers; empty for a rule
    return table


def _best(trial: Any, complete: list[Any], spec: SweepSpec, rank: str,
          tried: int) -> dict[str, Any]:
    """best.json: the best trial and one run of its settings on the test slice."""
    params = {k: as_text(v) for k, v in trial.params.items()}
    record = _test_run(spec, params)
    best: dict[str, Any] = {
        "trials": tried,
        "complete": len(complete),
        "objective": f"validation {rank}",
        "best_trial": trial.number,
        "params": params,
        "validation_value": trial.value,
    }
    if record["status"] != "ok":
        return {**best, "test_error": record["error"]}
    row = record["rows"][0]
    best["test"] = {k[5:]: v for k, v in row.items() if k.startswith("test_")
                    and not k.startswith("test_bh_") and _plain(v)}
    best["test_buy_and_hold"] = {k[8:]: v for k, v in row.items() if k.startswith("test_bh_")
                                 and _plain(v)}
    best["test_run_id"] = record["run_id"]
    if rank == "sharpe":
        best["deflated_sharpe"] = _deflated(row, complete)
    return best


def _test_run(spec: SweepSpec, params: dict[str, str]) -> dict[str, Any]:
    """One ordinary run (train and test slice) of the best settings, in this process."""
    from rlbt.engine.sweep.runs import execute_run

    run = {
        "strategy": spec.strategy, "dataset": spec.datasets[0], "seed": spec.seeds[0],
        "grid": params, "base": spec.base.to_dict(), "walk_forward": None,
        "window_mode": spec.window_mode,
    }
    run["run_id"] = run_id(run)
    return execute_run(run)


def _deflated(row: dict[str, Any], complete: list[Any]) -> dict[str, Any]:
    """The test Sharpe deflated for the trials tried: SR0 from the spread of the
    trials' validation Sharpes (per bar), the best being chosen among them."""
    per_bar = np.array([t.value / math.sqrt(t.user_attrs.get("bars_per_year", math.nan))
                        for t in complete], dtype=float)
    per_bar = per_bar[np.isfinite(per_bar)]
    bars_per_year = float(row["bars_per_year"])
    if len(per_bar) < 2 or not math.isfinite(row.get("test_sharpe", math.nan)):
        return {}
    sr0 = expected_max_sharpe(len(per_bar), float(np.var(per_bar, ddof=1)))
    return {
        "trials": len(per_bar),
        "test_sharpe": float(row["test_sharpe"]),
        "expected_max_sharpe_of_trials": sr0 * math.sqrt(bars_per_year),
        "deflated_sharpe": deflated_sharpe(float(row["test_sharpe"]) / math.sqrt(bars_per_year),
                                           sr0, int(row["test_bars"]), float(row["test_skew"]),
                                           float(row["test_kurtosis"])),
    }


def _plain(value: Any) -> bool:
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)
