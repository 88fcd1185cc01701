"""``rlbt sweep --search optuna`` on the console: run the search, then print
the best trials, the best settings' test slice beside the number of trials,
failures and where the files are."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table

from rlbt.engine.sweep.search_out import SearchResult
from rlbt.engine.sweep.spec import SweepSpec

_SHOWN = 10  # best trials listed


def run_search(spec: SweepSpec, options: dict[str, Any]) -> int:
    """Run the search of ``options`` and print it; returns the exit code
    (130 interrupted, 1 when a trial failed, else 0), as a grid sweep's."""
    from rlbt.engine.sweep.search import search

    settings = options["search"]
    result = search(
        spec, settings["space"], options["out"], trials=settings["trials"],
        sampler=settings["sampler"], pruner=settings["pruner"],
        executor=options["executor"], workers=options["workers"],
        address=options["address"], rank=options["rank"], progress=True,
        labels=options["labels"], report=options["report"],
    )
    print_search(result, options["rank"], options["out"])
    if result.interrupted:
        return 130
    return 1 if result.failures else 0


def print_search(result: SearchResult, rank: str, out: Any, console: Console | None = None) -> None:
    """The best trials by validation value, the best settings' test run, failures."""
    console = console or Console()
    column = f"val_{rank}"
    done = result.trials[result.trials["state"] == "COMPLETE"]
    if not done.empty:
        from rlbt.engine.sweep.summary import LOWER_IS_BETTER

        ranked = done.sort_values(column, ascending=rank in LOWER_IS_BETTER, kind="stable")
        console.print(_table(ranked.drop(columns=["state", "episodes", "error"]).head(_SHOWN),
                             f"search: validation {rank} per trial (best first)"))
    best = result.best
    if best:
        _print_best(console, best, rank)
    if result.pruned:
        noun = "trial" if result.pruned == 1 else "trials"
        console.print(f"{result.pruned} {noun} pruned: stopped after an episode whose "
                      "validation score was below the median of the completed trials' "
                      "(trials.csv: state PRUNED, episodes run).", highlight=False)
    if result.skipped:
        console.print(f"{result.skipped} finished trials found in {out} were not run again.")
    for run_id, error in result.failures.items():
        console.print(f"run {run_id} failed: {error}", style="red", markup=False, highlight=False)
    if result.interrupted:
        console.print("[yellow]Interrupted: told trials are kept; rerun to resume.[/yellow]")
    console.print(f"Sweep folder: {out}")


def _print_best(console: Console, best: dict[str, Any], rank: str) -> None:
    params = ", ".join(f"{k}={v}" for k, v in best["params"].items())
    console.print(f"Best of {best['trials']} trials ({best['complete']} scored, "
                  f"{best.get('pruned', 0)} pruned): trial "
                  f"{best['best_trial']}, {params}: validation {rank} "
                  f"{_num(best['validation_value'])}.", highlight=False)
    if "test_error" in best:
        console.print(f"Its test run failed: {best['test_error']}", style="red", markup=False,
                      highlight=False)
        return
    test, hold = best.get("test", {}), best.get("test_buy_and_hold", {})
    console.print(f"Test slice, run once with these settings: {rank} {_num(test.get(rank))} "
                  f"(buy-and-hold {_num(hold.get(rank))}).", highlight=False)
    deflated = best.get("deflated_sharpe") or {}
    if deflated:
        console.print(f"Deflated Sharpe ratio for {deflated['trials']} trials: "
                      f"{_num(deflated['deflated_sharpe'])} (the best of {deflated['trials']} "
                      f"trials with no skill would reach "
                      f"{_num(deflated['expected_max_sharpe_of_trials'])}).", highlight=False)


def _table(frame: Any, title: str) -> Table:
    table = Table(title=title)
    for name in frame.columns:
        table.add_column(str(name), justify="right", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_num(v) if isinstance(v, float) else str(v) for v in row])
    return table


def _num(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    return "n/a" if math.isnan(value) else f"{value:.4g}"
