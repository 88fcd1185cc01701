"""Bars per year from the data's own calendar, the options that override it,
and whole-day dates on every date option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.calendar import bars_per_year
from rlbt.engine.data.prices import load_prices
from rlbt.engine.runner import backtest
from rlbt.engine.split import split_frame


@pytest.mark.parametrize(("index", "expected"), [
    (pd.date_range("2020-01-01", periods=730, freq="D"), 365.25),  # crypto days
    (pd.date_range("2020-01-01", periods=100, freq="D"), 365.25),  # under a year
    (pd.date_range("2020-01-01", periods=24 * 21, freq="h"), 8766.0),  # 24/7 hours
    (pd.date_range("2020-01-03", periods=24 * 400, freq="h"), 8766.0),
    (pd.bdate_range("2020-01-01", periods=40), 260.9),  # weekdays, short
    (pd.date_range("2020-01-05", periods=60, freq="W"), 52.18),
    (pd.date_range("2020-01-01", periods=36, freq="MS"), 12.0),
])
def test_bars_per_year_follows_the_calendar(index: pd.DatetimeIndex, expected: float) -> None:
    assert bars_per_year(index) == pytest.approx(expected, rel=0.01)


def test_stock_days_with_holidays_are_about_252() -> None:
    index = pd.DatetimeIndex(load_prices("orcl").index)
    assert 250 < bars_per_year(index) < 254


def test_crypto_sharpe_is_annualised_with_365_days() -> None:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0.001, 0.02, 730)))
    frame = make_prices(close, freq="D")
    inferred = backtest("buy-and-hold", frame)
    fixed = backtest("buy-and-hold", frame, bars_per_year=252)
    assert inferred.annualisation["bars_per_year"] == pytest.approx(365.25)
    ratio = inferred.test.metrics["sharpe"] / fixed.test.metrics["sharpe"]
    assert ratio == pytest.approx(np.sqrt(365.25 / 252), rel=1e-9)


def test_risk_free_lowers_sharpe() -> None:
    base = backtest("buy-and-hold", "orcl").test.metrics["sharpe"]
    assert backtest("buy-and-hold", "orcl", risk_free=0.05).test.metrics["sharpe"] < base


def test_a_bare_train_end_date_keeps_that_whole_day_in_train() -> None:
    frame = load_prices("intraday")
    split = split_frame(frame, BacktestConfig(train_end="2006-01-20"))
    assert split.train.index[-1].date() == pd.Timestamp("2006-01-20").date()
    assert split.test_start.date() > pd.Timestamp("2006-01-20").date()
    timed = split_frame(frame, BacktestConfig(train_end="2006-01-20 12:00"))
    assert timed.test_start == frame.index[frame.index > "2006-01-20 12:00"][0]


def test_bare_start_and_end_dates_mean_whole_days() -> None:
    frame = load_prices("intraday", start="2006-01-10", end="2006-01-11")
    days = sorted({t.date() for t in frame.index})
    assert [str(d) for d in days] == ["2006-01-10", "2006-01-11"]
    full = load_prices("intraday")
    assert len(frame) == full.index.normalize().isin(
        pd.to_datetime(["2006-01-10", "2006-01-11"])).sum()
