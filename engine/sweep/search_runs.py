"""One search trial in a worker: the trial's settings scored on the
VALIDATION part of the train slice. No bar of the test slice is run.

- A learning strategy trains its episodes as a run does and is scored by the
  selected episode's validation metric (``engine/training.py``: the last
  ``--val`` of the train slice after a purge gap): ``sharpe`` or
  ``total_return``. Only training and validation run, no train or test pass.
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
    """``[{"value": validation metric, "bars_per_year": ...}]`` of one trial."""
    from rlbt.engine.contracts import check_strategy
    from rlbt.engine.data.prices import load_prices
    from rlbt.engine.params import coerce_params
    from rlbt.engine.plugins.registry import resolve_strategy
    from rlbt.engine.runner import annualisation
    from rlbt.engine.split import split_frame
    from rlbt.engine.sweep.spec import config_for
    from rlbt.engine.validation import check_history

    config = config_for(run)
    cls = resolve_strategy(run["strategy"])
    contract = check_strategy(run["strategy"], cls)
    params = coerce_params(run["strategy"], cls, config.params)
    frame = load_prices(run["dataset"], date_format=config.date_format, start=config.start,
                        end=config.end)
    split = split_frame(frame, config)
    check_history(cls, params, split.train_bars, "The train slice",
                  "a larger --split (or a later --train-end)")
    annual = annualisation(frame, config)
    if contract.learning:
        value = _learning_value(contract, params, split.train, config, annual, run["objective"])
    else:
        value = _rule_value(run["strategy"], split.train, config, annual, run["objective"])
    return [{"value": value, "bars_per_year": annual.bars_per_year}]


def _learning_value(contract: Any, params: dict[str, Any], train: Any, config: Any,
                    annual: Any, metric: str) -> float:
    from rlbt.engine.training import train_and_select

    trained = train_and_select(contract, params, train, config, annual, progress=False)
    log = trained.log
    chosen = trained.selection.get("selected_episode")
    if chosen is None or log.empty:
        return float("nan")
    return float(log.loc[log["episode"] == chosen, LEARNING_METRICS[metric]].iloc[0])


def _rule_value(strategy: str, train: Any, config: Any, annual: Any, metric: str) -> float:
    from rlbt.engine.runner import backtest

    inner = dataclasses.replace(config, start=None, end=None, train_end=None,
                                split=1.0 - config.val, bars_per_year=annual.bars_per_year)
    result = backtest(strategy, train, inner)
    return float(result.test.metrics[metric])  # the inner "test" is the validation part
