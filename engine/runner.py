"""``backtest()``: the one entry point used by the CLI, the Python API and
sweeps. Loads and validates data, splits it in time, runs the strategy on
each slice beside buy-and-hold, and gathers the results."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from rlbt.engine.analyzers import ORDER_COLUMNS, PORTFOLIO_COLUMN, TRADE_COLUMNS
from rlbt.engine.bootstrap import sharpe_intervals
from rlbt.engine.cerebro import equity_frame, run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.engine.contracts import StrategyContract, check_strategy
from rlbt.engine.data.calendar import bars_per_year
from rlbt.engine.data.panel import is_panel
from rlbt.engine.data.prices import data_fingerprint
from rlbt.engine.errors import ConfigError
from rlbt.engine.metrics import Annualisation, curve_returns, period_metrics
from rlbt.engine.output.atomic import write_bytes
from rlbt.engine.params import coerce_params
from rlbt.engine.plugins.registry import resolve_strategy, strategy_params
from rlbt.engine.portfolio_run import (
    EQUAL_WEIGHT_HOLD,
    EQUAL_WEIGHT_REBALANCED,
    cadence,
    check_match,
    describe_data,
    load_data,
    with_assets,
)
from rlbt.engine.results import PeriodResult, RunResult
from rlbt.engine.split import split_frame
from rlbt.engine.training import evaluation_params, train_and_select
from rlbt.engine.validation import check_history

BENCHMARK = "buy-and-hold"
_SLICE_FIX = "a larger --split (or a later --train-end)"
_VERSIONED = ("rlbt", "backtrader", "torch", "numpy", "pandas", "matplotlib", "click")


def backtest(
    strategy: str | type,
    data: str | Path | pd.DataFrame = "orcl",
    config: BacktestConfig | None = None,
    *,
    progress: bool = False,
    probe: Callable[[Any], None] | None = None,
    **settings: Any,
) -> RunResult:
    """Run ``strategy`` on the train slice, then the test slice, each beside
    buy-and-hold on the same bars.

    :param strategy: a registered name (``"sma-cross"``), ``"module:Class"``, or a
        ``bt.Strategy`` subclass.
    :param data: a CSV or Parquet path, a DataFrame, or a bundled dataset name.
    :param config: all settings; or pass them as keywords (``cash=...``,
        ``split=...``, ``params={...}``), which override ``config``'s.
    :param progress: show a progress bar per training episode.
    :param probe: called with the strategy after each decision of the evaluation
        runs (train and test), for strategies that accept it (look-ahead checks).
    """
    config = dataclasses.replace(config or BacktestConfig(), **settings)
    name, cls = resolve(strategy)
    contract = check_strategy(name, cls)
    params = coerce_params(name, cls, config.params)
    frame, panel = load_data(data, config)
    check_match(name, cls, frame)
    params = with_assets(cls, params, frame)
    split = split_frame(frame, config)
    # Before any agent is built or bar run: a window longer than the slice
    # would allocate for nothing and train on no bars.
    check_history(cls, params, split.train_bars, "The train slice", _SLICE_FIX)
    annual = annualisation(frame, config)
    train_params, test_params = params, params
    trained = None
    check_device(name, cls, params, config.device, learning=contract.learning)
    if not contract.learning and (config.save or config.load):
        option = "--save" if config.save else "--load"
        raise ConfigError(f"{option}: strategy {name!r} does not learn; it has no agent to "
                          "save or load.")
    if contract.learning:
        trained = train_and_select(contract, params, split.train, config, annual, progress)
        train_params = evaluation_params(params, trained.agent, learn=False)
        test_params = evaluation_params(params, trained.agent, learn=not config.freeze)
    if probe is not None and "probe" in cls.params._getkeys():  # type: ignore[attr-defined]
        train_params = {**train_params, "probe": probe}
        test_params = {**test_params, "probe": probe}
    train = _run_period("train", contract, train_params, split.train, None, config, annual)
    test = _run_period("test", contract, test_params, frame, split.test_start, config, annual)
    test.extra_metrics["bootstrap"] = bootstrap_block(test, config, annual)
    learning = _describe_learning(trained, test_params)
    if trained is not None:
        if not trained.pretraining.empty:
            train.tables["pretraining"] = trained.pretraining.set_index("epoch")
        if config.save and trained.checkpoint is not None:
            write_bytes(config.save, trained.checkpoint)
    stated = {"bars_per_year": annual.bars_per_year, "risk_free": annual.risk_free,
              "bars_per_year_inferred": config.bars_per_year is None}
    described = _describe_run(name, data, config, frame, split.test_start)
    if panel is not None:
        described["portfolio"] = panel.to_dict()
    return RunResult(
        strategy=name,
        config={
            **described,
            # the params as the run used them (5, not the command line's "5")
            "params": {key: params[key] for key in config.params},
            "strategy_params": {**strategy_params(cls), **params},
            "annualisation": stated,
            "learning": learning,
        },
        annualisation=stated,
        train=train,
        test=test,
        training_log=trained.log if trained is not None else pd.DataFrame(),
        agent=trained.agent if trained is not None else None,
        trained_checkpoint=trained.checkpoint if trained is not None else None,
        learning=learning,
    )


def _describe_learning(trained: Any, test_params: dict[str, Any]) -> dict[str, Any]:
    """How the agent was chosen and how it acts in the test slice (config.json, console)."""
    if trained is None:
        return {}
    online = bool(test_params.get("learn"))
    return {
        **trained.selection,
        "test_learning": "online" if online else "frozen",
        "test_actions": "sampled from the policy" if test_params.get("explore") else "greedy",
        "notes": list(trained.notes),
    }


def bootstrap_block(period: PeriodResult, config: BacktestConfig,
                    annual: Annualisation) -> dict[str, Any]:
    """Bootstrap intervals of the period's Sharpe, alone and minus buy-and-hold's."""
    equity = period.equity
    return sharpe_intervals(curve_returns(equity["value"], config.cash),
                            curve_returns(equity["benchmark"], config.cash), annual,
                            seed=config.seed)


def annualisation(frame: pd.DataFrame, config: BacktestConfig) -> Annualisation:
    """``config.bars_per_year`` when set, else inferred from the whole frame's calendar."""
    per_year = config.bars_per_year or bars_per_year(pd.DatetimeIndex(frame.index))
    return Annualisation(per_year, config.risk_free)


def resolve(strategy: str | type) -> tuple[str, type]:
    """The strategy's name for messages and its class."""
    if isinstance(strategy, str):
        return strategy, resolve_strategy(strategy)
    return f"{strategy.__module__}:{strategy.__qualname__}", strategy


def check_device(name: str, cls: type, params: dict[str, Any], device: str, *,
                 learning: bool) -> None:
    """Refuse ``--device cuda`` for a strategy that never puts anything on a
    torch device (a rule, a forest, a NumPy agent): it would be silently ignored.
    A learning strategy says so with ``uses_device(params)``; without it, it is
    assumed to use the device."""
    if device == "cpu":
        return
    uses = getattr(cls, "uses_device", None)
    if learning and (not callable(uses) or uses(params)):
        return
    raise ConfigError(f"--device {device}: strategy {name!r} does not run on a torch device "
                      "(it computes on the CPU only); drop --device.")


def _run_period(
    name: str,
    contract: StrategyContract,
    params: dict[str, Any],
    frame: pd.DataFrame,
    trade_start: pd.Timestamp | None,
    config: BacktestConfig,
    annual: Annualisation,
) -> PeriodResult:
    strat = run_strategy(contract.cls, params, frame, trade_start, config)
    portfolio = is_panel(frame)
    bench = run_strategy(resolve_strategy(EQUAL_WEIGHT_HOLD if portfolio else BENCHMARK), {},
                         frame, trade_start, config)
    equity = equity_frame(strat, trade_start)
    bench_equity = equity_frame(bench, trade_start)
    equity["benchmark"] = bench_equity["value"].reindex(equity.index)
    # Strategies may add their own metrics and tables (forecast quality, ...).
    extras = strat.period_extras() if contract.period_extras else {}
    if portfolio:
        every = {"every": cadence(contract.cls, params)}
        rebalanced = run_strategy(resolve_strategy(EQUAL_WEIGHT_REBALANCED), every, frame,
                                  trade_start, config)
        rebalanced_equity = equity_frame(rebalanced, trade_start)
        equity["rebalanced"] = rebalanced_equity["value"].reindex(equity.index)
        extras.setdefault("metrics", {})["equal_weight_rebalanced"] = {
            **period_metrics(rebalanced, rebalanced_equity, config.cash, annual),
            **rebalanced.period_extras()["metrics"]["portfolio"]}
    else:
        equity["close"] = frame["close"].reindex(equity.index)
    return PeriodResult(
        name=name,
        metrics=period_metrics(strat, equity, config.cash, annual),
        benchmark=period_metrics(bench, bench_equity, config.cash, annual),
        equity=equity,
        trades=pd.DataFrame(strat.analyzers.tradelog.get_analysis(),
                            columns=_columns(TRADE_COLUMNS, portfolio)),
        orders=pd.DataFrame(strat.analyzers.orderlog.get_analysis(),
                            columns=_columns(ORDER_COLUMNS, portfolio)),
        actions=_actions_frame(strat),
        extra_metrics=extras.get("metrics", {}),
        tables=extras.get("tables", {}),
    )


def _columns(columns: tuple[str, ...], portfolio: bool) -> list[str]:
    return [PORTFOLIO_COLUMN, *columns] if portfolio else list(columns)


def _actions_frame(strat: Any) -> pd.DataFrame:
    rows = getattr(strat, "decisions", [])
    frame = pd.DataFrame(rows, columns=["datetime", "action", "exposure"])
    return frame.set_index("datetime")


def _describe_run(
    name: str,
    data: str | Path | pd.DataFrame,
    config: BacktestConfig,
    frame: pd.DataFrame,
    test_start: pd.Timestamp,
) -> dict[str, Any]:
    return {
        "strategy": name,
        "data": describe_data(data),
        **config.to_dict(),
        "data_sha256": data_fingerprint(frame),
        "bars": len(frame),
        "first_bar": str(frame.index[0]),
        "test_start": str(test_start),
        "last_bar": str(frame.index[-1]),
        "versions": {**_versions(), "python": platform.python_version()},
    }


def _versions() -> dict[str, str]:
    out = {}
    for package in _VERSIONED:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out
