"""One search trial in a worker: the trial's settings scored on the
VALIDATION part of the train slice. No bar of the test slice is run.

- A learning strategy trains its episodes as a run does and is scored by the
  selected episode's validation metric (``engine/training.py``: the last
  ``--val`` of the train slice after a purge gap): ``sharpe`` or
  ``total_return``. Only training and validation run, no train or test pass.
  Its per-episode validation scores go back with the value (the parent
  reports them to Optuna), and with ``run["pruning"]`` it may stop early
  (``search_prune.py``).
- A rule (``sma-cross``) has nothing to train: it runs on the train slice
  alone, split at ``1 - --val``, and is scored by its metric over that last
  part (the earlier bars are its history, as a test slice's are).

Both annualise as the whole run would (bars per year from the whole data).
"""

from __future__ import annotations

import dataclasses
from typing import Any

LEARNING_METRICS = {"sharpe": "val_sharpe", "total_return": "val_return"}
"""The validation figures a learning run records (``engine/training.py``)."""


def trial_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"value": validation metric, "bars_per_year": ..., "curve": [(episode,
    score), ...], "episodes": run, "pruned": bool}]`` of one trial (a rule: no
    curve, ``episodes`` None, never pruned)."""
    from rlbt.engine.contracts import check_strategy
    from rlbt.engine.params import coerce_params
    from rlbt.engine.plugins.registry import resolve_strategy
    from rlbt.engine.portfolio_run import check_match, load_data, with_assets
    from rlbt.engine.runner import annualisation
    from rlbt.engine.split import split_frame
    from rlbt.engine.sweep.spec import config_for
    from rlbt.engine.validation import check_history

    config = config_for(run)
    cls = resolve_strategy(run["strategy"])
    contract = check_strategy(run["strategy"], cls)
    params = coerce_params(run["strategy"], cls, config.params)
    frame, _ = load_data(run["dataset"], config)  # orcl+nvda: one portfolio
    check_match(run["strategy"], cls, frame)
    params = with_assets(cls, params, frame)
    split = split_frame(frame, config)
    check_history(cls, params, split.train_bars, "The train slice",
                  "a larger --split (or a later --train-end)")
    annual = annualisation(frame, config)
    if contract.learning:
        return [{**_learning_value(contract, params, split.train, config, annual,
                                   run["objective"], run.get("pruning")),
                 "bars_per_year": annual.bars_per_year}]
    value = _rule_value(run["strategy"], split.train, config, annual, run["objective"])
    return [{"value": value, "bars_per_year": annual.bars_per_year, "curve": [],
             "episodes": None, "pruned": False}]


def _learning_value(contract: Any, params: dict[str, Any], train: Any, config: Any,
                    annual: Any, metric: str, pruning: dict[str, Any] | None) -> dict[str, Any]:
    from rlbt.engine.sweep.search_prune import EpisodePruner
    from rlbt.engine.training import train_and_select

    column = LEARNING_METRICS[metric]
    pruner = EpisodePruner(pruning, column, config.episodes) if pruning else None
    trained = train_and_select(contract, params, train, config, annual, progress=False,
                               on_episode=pruner)
    log = trained.log
    chosen = trained.selection.get("selected_episode")
    value = (float("nan") if chosen is None or log.empty
             else float(log.loc[log["episode"] == chosen, column].iloc[0]))
    curve = ([] if log.empty or column not in log
             else [(int(e), float(v)) for e, v in zip(log["episode"], log[column], strict=True)])
    return {"value": value, "curve": curve, "episodes": len(log),
            "pruned": bool(pruner and pruner.pruned)}


def _rule_value(strategy: str, train: Any, config: Any, annual: Any, metric: str) -> float:
    from rlbt.engine.runner import backtest

    inner = dataclasses.replace(config, start=None, end=None, train_end=None,
                                split=1.0 - config.val, bars_per_year=annual.bars_per_year)
    result = backtest(strategy, train, inner)
    return float(result.test.metrics[metric])  # the inner "test" is the validation part
