"""Walk-forward evaluation: K successive windows, each training on the past
(an expanding or a rolling window) and testing on the next slice. Test slices
follow one another without overlap, and their equity curves are chained into
one out-of-sample curve, beside buy-and-hold held over the same span."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.cerebro import equity_frame, run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.engine.contracts import check_strategy
from rlbt.engine.data.panel import is_panel
from rlbt.engine.errors import ConfigError
from rlbt.engine.metrics import Annualisation, curve_metrics, period_metrics
from rlbt.engine.params import coerce_params
from rlbt.engine.plugins.registry import resolve_strategy
from rlbt.engine.portfolio_run import EQUAL_WEIGHT_HOLD, load_data
from rlbt.engine.results import RunResult
from rlbt.engine.runner import BENCHMARK, annualisation, backtest, resolve
from rlbt.engine.split import MIN_BARS
from rlbt.engine.validation import check_history, lookback, lookback_source, validation_split

MODES = ("expanding", "rolling")


@dataclass(frozen=True)
class Window:
    """Bar positions of one window: train is [train_start, test_start), test
    is [test_start, test_end)."""

    number: int
    train_start: int
    test_start: int
    test_end: int


@dataclass
class WalkForwardResult:
    """Each window's run, the per-window metrics and the chained test curve."""

    windows: list[Window]
    runs: list[RunResult]
    table: pd.DataFrame
    """One row per window: its span and test metrics beside buy-and-hold."""
    stitched: pd.DataFrame
    """Chained out-of-sample equity: columns value and benchmark."""
    metrics: dict[str, Any]
    """Metrics of the stitched curve, with a ``buy_and_hold`` object."""


def make_windows(n_bars: int, k: int, split: float, mode: str) -> list[Window]:
    """Window boundaries: the first ``split`` of the bars is the first train
    slice; the rest is cut into ``k`` test slices.

    :param n_bars: bars in the data.
    :param k: number of windows.
    :param split: fraction of bars before the first test slice.
    :param mode: ``expanding`` (train from bar 0) or ``rolling`` (train on the
        same number of bars each time).
    """
    if mode not in MODES:
        raise ConfigError(f"--window-mode={mode!r}: expected one of {', '.join(MODES)}.")
    if k < 1:
        raise ConfigError(f"--walk-forward={k}: expected at least 1 window.")
    first_test = int(n_bars * split)
    bounds = np.linspace(first_test, n_bars, k + 1).astype(int)
    if first_test < MIN_BARS or np.diff(bounds).min() < MIN_BARS:
        raise ConfigError(
            f"--walk-forward={k} with --split={split} on {n_bars} bars leaves windows "
            f"shorter than {MIN_BARS} bars; use fewer windows or more data."
        )
    return [
        Window(i + 1, 0 if mode == "expanding" else int(lo) - first_test, int(lo), int(hi))
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]


def check_windows(strategy: str | type, frame: pd.DataFrame, windows: list[Window],
                  config: BacktestConfig) -> None:
    """Every window's train slice is long enough for the strategy's lookback
    (and its validation split), checked before the first window runs, so a
    late window cannot fail after the early ones trained."""
    name, cls = resolve(strategy)
    params = coerce_params(name, cls, config.params)
    learning = check_strategy(name, cls).learning
    fix = "fewer --walk-forward windows, a larger --split or --window-mode expanding"
    for window in windows:
        bars = window.test_start - window.train_start
        check_history(cls, params, bars, f"The train slice of window {window.number}", fix)
        if learning and config.episodes:
            train = frame.iloc[window.train_start : window.test_start]
            validation_split(train, config.val, lookback(cls, params),
                             lookback_source(cls, params))


def walk_forward(
    strategy: str | type,
    data: str | Path | pd.DataFrame,
    config: BacktestConfig,
    k: int,
    mode: str = "expanding",
    *,
    progress: bool = False,
) -> WalkForwardResult:
    """Run ``backtest`` once per window and chain the test slices."""
    frame, _ = load_data(data, config)  # one asset or a portfolio's panel
    windows = make_windows(len(frame), k, config.split, mode)
    check_windows(strategy, frame, windows, config)
    runs = []
    for window in windows:
        part = frame.iloc[window.train_start : window.test_end]
        train_end = str(frame.index[window.test_start - 1])
        window_config = dataclasses.replace(config, start=None, end=None, train_end=train_end)
        runs.append(backtest(strategy, part, window_config, progress=progress))
    stitched = chain_equity([run.test.equity for run in runs], config.cash)
    annual = annualisation(frame, config)
    # Holding over the stitched span is one buy-and-hold run, not a chain of
    # window runs (each of which would re-enter one bar late).
    first_test = runs[0].test.start
    bench = EQUAL_WEIGHT_HOLD if is_panel(frame) else BENCHMARK
    held = run_strategy(resolve_strategy(bench), {}, frame, first_test, config)
    held_equity = equity_frame(held, first_test)
    stitched["benchmark"] = held_equity["value"].reindex(stitched.index)
    metrics: dict[str, Any] = {
        **_stitched_metrics(stitched, runs, config.cash, annual),
        "buy_and_hold": period_metrics(held, held_equity, config.cash, annual),
    }
    return WalkForwardResult(windows, runs, _window_table(windows, runs), stitched, metrics)


def _stitched_metrics(stitched: pd.DataFrame, runs: list[RunResult], cash: float,
                      annual: Annualisation) -> dict[str, Any]:
    """Every single-period metric key, for the chain of test windows: curve
    figures from the stitched curve, counts summed over the windows (the win
    rate pools each window's closed trades, won as backtrader counts them)."""
    windows = [run.test.metrics for run in runs]
    closed = [m["trades"] - m["open_trades"] for m in windows]
    won = sum(m["win_rate"] * n for m, n in zip(windows, closed, strict=True) if n)
    return {
        **curve_metrics(stitched["value"], cash, annual, stitched["position"]),
        "trades": sum(m["trades"] for m in windows),
        "open_trades": sum(m["open_trades"] for m in windows),
        "win_rate": won / sum(closed) if sum(closed) else math.nan,
        "rejected_orders": sum(m["rejected_orders"] for m in windows),
    }


def chain_equity(curves: list[pd.DataFrame], cash: float) -> pd.DataFrame:
    """Chain test equity curves: each window starts with the value the previous
    one ended with (every window's own curve starts from ``cash``)."""
    parts, level = [], {"value": cash, "benchmark": cash}
    for curve in curves:
        part = pd.DataFrame(index=curve.index)
        for column in ("value", "benchmark"):
            part[column] = curve[column] / cash * level[column]
            level[column] = float(part[column].iloc[-1])
        if "position" in curve:
            part["position"] = curve["position"]
        parts.append(part)
    return pd.concat(parts)


def _window_table(windows: list[Window], runs: list[RunResult]) -> pd.DataFrame:
    rows = []
    for window, run in zip(windows, runs, strict=True):
        row: dict[str, Any] = {
            "window": window.number,
            "train_start": run.train.start,
            "test_start": run.test.start,
            "test_end": run.test.end,
        }
        row.update({f"test_{k}": v for k, v in run.test.metrics.items()})
        row.update({f"test_bh_{k}": v for k, v in run.test.benchmark.items()})
        rows.append(row)
    return pd.DataFrame(rows)
