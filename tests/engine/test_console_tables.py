"""Console tables keep every value whole: at 80 columns on a terminal
(compact numbers, folding), off one at the table's natural width; intraday
periods show their times; break-even commissions are said in words."""

from __future__ import annotations

import dataclasses
import io
import math
from types import SimpleNamespace

import pandas as pd
import pytest
from rich.console import Console

from rlbt.engine.output.console import print_result, print_sweep, stamp_format
from rlbt.engine.results import RunResult
from rlbt.engine.runner import backtest

_ELLIPSIS = ("…", "...")


@pytest.fixture(scope="module")
def daily() -> RunResult:
    return backtest("sma-cross", "orcl", start="2012-01-01", params={"fast": 5, "slow": 20})


@pytest.fixture(scope="module")
def intraday() -> RunResult:
    return backtest("sma-cross", "intraday", params={"fast": 2, "slow": 5})


def _console(terminal: bool) -> Console:
    return Console(file=io.StringIO(), record=True, width=80, force_terminal=terminal,
                   color_system=None)


def _table_lines(console: Console) -> list[str]:
    return [line for line in console.export_text().splitlines() if line[:1] in "┃│┏┡└"]


def _huge(result: RunResult) -> RunResult:
    """A train slice that compounded absurdly: 272 billion, a 1e30 CAGR."""
    metrics = dict(result.train.metrics, final_value=272_320_027_654.12, cagr=1e30,
                   sharpe=-1234567.0, trades=8412)
    return dataclasses.replace(result, train=dataclasses.replace(result.train, metrics=metrics))


@pytest.mark.parametrize("terminal", [True, False])
def test_metrics_are_never_cut(daily: RunResult, terminal: bool) -> None:
    console = _console(terminal)
    print_result(_huge(daily), console)
    text = console.export_text()
    assert not any(mark in line for line in _table_lines(console) for mark in _ELLIPSIS), text
    for value in ("272.32B", "1.00e+32%", "-1.23e+06", "8,412", "rejected_orders",
                  f"{daily.test.metrics['final_value']:,.2f}"):
        assert value in text, value
    if terminal:
        assert max(map(len, text.splitlines())) <= 80  # fits the terminal


def test_intraday_periods_show_their_times(intraday: RunResult) -> None:
    console = _console(False)
    print_result(intraday, console)
    text = console.export_text()
    train_end, test_start = intraday.train.end, intraday.test.start
    assert train_end.date() == test_start.date()  # the slices meet within a day
    assert f"{train_end:%Y-%m-%d %H:%M}" in text and f"{test_start:%Y-%m-%d %H:%M}" in text


def test_daily_periods_show_dates_only(daily: RunResult) -> None:
    console = _console(False)
    print_result(daily, console)
    text = console.export_text()
    assert f"{daily.test.start:%Y-%m-%d}" in text and "00:00" not in text


def test_stamp_format() -> None:
    days = pd.date_range("2024-01-01", periods=3, freq="D")
    assert stamp_format(days) == "%Y-%m-%d"
    assert stamp_format(pd.date_range("2024-01-01", periods=3, freq="5min")) == "%Y-%m-%d %H:%M"


def _sweep_result() -> SimpleNamespace:
    summary = pd.DataFrame({
        "dataset": ["orcl", "orcl"], "fast": [5, 10], "slow": [20, 40], "learn_every": [4, 8],
        "commission": [0.001, 0.002], "runs": [1, 3], "sharpe_mean": [0.51234, 1.2],
        "sharpe_std": [math.nan, 0.3], "sharpe_ci95": [math.nan, 0.12], "bh_mean": [0.9, 0.9]})
    break_even = pd.DataFrame({"fast": [5, 10, 20],
                               "break_even_commission": [math.nan, 0.0123, math.inf]})
    return SimpleNamespace(summary=summary, break_even=break_even, deflated={}, skipped=0,
                           failures={}, interrupted=False)


def test_sweep_table_off_a_terminal_keeps_names_and_rows_whole() -> None:
    console = _console(False)
    print_sweep(_sweep_result(), "sharpe", "out", console)
    lines = _table_lines(console)
    header = next(line for line in lines if "dataset" in line)
    for name in ("learn_every", "commission", "sharpe_mean", "sharpe_std", "sharpe_ci95"):
        assert name in header, header
    rows = [line for line in lines if "orcl" in line]
    assert len(rows) == 2 and "0.5123" in rows[0] and "n/a" in rows[0], rows
    assert "nan" not in console.export_text()


@pytest.mark.parametrize("terminal", [True, False])
def test_break_even_is_a_table_with_words_for_nan_and_inf(terminal: bool) -> None:
    console = _console(terminal)
    print_sweep(_sweep_result(), "sharpe", "out", console)
    text = console.export_text()
    flat = " ".join(text.split())
    assert "break-even commission" in text
    assert "{" not in text and "nan" not in text and "inf" not in text.replace("info", "")
    assert "no edge over buy-and-hold even at the lowest commission" in flat
    assert "the edge survives the highest commission swept" in flat
    assert "0.0123 (1.23%)" in text
