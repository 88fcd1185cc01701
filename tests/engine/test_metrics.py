"""Period and curve metrics against numbers worked out by hand from the
equity curve of a real run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.metrics import METRIC_KEYS, Annualisation, curve_metrics
from rlbt.engine.runner import backtest


@pytest.fixture
def up_down_up() -> pd.DataFrame:
    """Up 20%, down a third, up again: one known drawdown in the test slice."""
    close = np.concatenate([np.linspace(100, 120, 120), np.linspace(120, 80, 60),
                            np.linspace(80, 130, 120)])
    return make_prices(close)


def _by_hand(values: np.ndarray, cash: float, per_year: float = 252,
             risk_free: float = 0.0) -> dict[str, float]:
    path = np.concatenate([[cash], values])
    returns = np.diff(path) / path[:-1]
    excess = returns - ((1 + risk_free) ** (1 / per_year) - 1)
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return {
        "sharpe": float(excess.mean() / excess.std(ddof=1) * math.sqrt(per_year)),
        "sortino": float(excess.mean() / downside * math.sqrt(per_year)),
        "volatility": float(returns.std(ddof=1) * math.sqrt(per_year)),
        "max_drawdown": float((1 - path / np.maximum.accumulate(path)).max()),
    }


def test_buy_and_hold_metrics_match_the_equity_curve(up_down_up: pd.DataFrame) -> None:
    result = backtest("buy-and-hold", up_down_up, split=0.3, cash=10_000, bars_per_year=250,
                      risk_free=0.03)
    metrics, equity = result.test.metrics, result.test.equity
    assert tuple(metrics) == METRIC_KEYS
    assert result.annualisation == {"bars_per_year": 250, "risk_free": 0.03,
                                    "bars_per_year_inferred": False}
    values = equity["value"].to_numpy()
    hand = _by_hand(values, 10_000, 250, 0.03)
    for key in ("sharpe", "sortino", "volatility", "max_drawdown"):
        assert metrics[key] == pytest.approx(hand[key], rel=1e-6), key
    assert metrics["max_drawdown"] > 0.3  # the 120 -> 80 fall is in the test slice
    assert metrics["final_value"] == pytest.approx(values[-1])
    assert metrics["total_return"] == pytest.approx(values[-1] / 10_000 - 1)
    years = (equity.index[-1] - equity.index[0]) / pd.Timedelta(days=365.25)
    assert metrics["cagr"] == pytest.approx((values[-1] / 10_000) ** (1 / years) - 1, rel=1e-6)
    assert metrics["exposure"] == pytest.approx((equity["position"] != 0).mean())
    # Held to the end: one open trade, with no closed trade to give a win rate.
    assert metrics["trades"] == metrics["open_trades"] == 1 and math.isnan(metrics["win_rate"])
    trade = result.test.trades.iloc[0]
    assert trade["status"] == "open" and pd.isna(trade["exit_time"])
    assert trade["pnl"] == pytest.approx(trade["size"] * (trade["exit_price"] -
                                                          trade["entry_price"]))
    assert trade["exit_price"] == up_down_up["close"].iloc[-1]


def test_trade_counts_and_win_rate_follow_the_closed_trades() -> None:
    rng = np.random.default_rng(5)
    walk = make_prices(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300))))
    result = backtest("sma-cross", walk, split=0.3, params={"fast": 3, "slow": 8},
                      commission=0.002)
    metrics, trades = result.test.metrics, result.test.trades
    closed = trades[trades["status"] == "closed"]
    wins = (closed["pnl_net"] > 0).mean()
    assert metrics["trades"] == len(trades) > 5
    assert metrics["trades"] - metrics["open_trades"] == len(closed)
    assert 0 < wins < 1  # winners and losers both, so the rate is a real count
    assert metrics["win_rate"] == pytest.approx(wins)


def test_flat_curve_has_zero_risk_figures() -> None:
    index = pd.date_range("2021-01-01", periods=10, freq="B")
    flat = curve_metrics(pd.Series(100.0, index=index), 100.0, Annualisation(252))
    assert flat["sharpe"] == 0.0 and flat["sortino"] == 0.0 and flat["max_drawdown"] == 0.0
    assert flat["total_return"] == 0.0


def test_curve_metrics_by_hand() -> None:
    index = pd.date_range("2021-01-01", periods=4, freq="B")
    values = pd.Series([110.0, 99.0, 121.0, 110.0], index=index)
    metrics = curve_metrics(values, 100.0, Annualisation(252))
    hand = _by_hand(values.to_numpy(), 100.0)
    assert metrics["max_drawdown"] == pytest.approx(hand["max_drawdown"])
    assert metrics["max_drawdown"] == pytest.approx(0.1)
    assert metrics["sharpe"] == pytest.approx(hand["sharpe"])
    assert metrics["sortino"] == pytest.approx(hand["sortino"])
    assert metrics["total_return"] == pytest.approx(0.1)
