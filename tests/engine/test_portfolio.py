"""Portfolios: the panel's calendar, the contract's sizing and costs checked
by hand, the benchmarks, untradable bars, refusals and look-ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from price_series import make_prices

from rlbt.engine.cli import main
from rlbt.engine.data.panel import load_panel, split_sources
from rlbt.engine.errors import ConfigError, DataError
from rlbt.engine.lookahead import check_lookahead
from rlbt.engine.runner import backtest
from rlbt.strategies.portfolio import PortfolioStrategy


def _assets(n_bars: int = 300, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return [make_prices(100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n_bars))))
            for _ in range(3)]


def test_panel_carries_missing_bars_forward_and_flags_them() -> None:
    a, b = _assets()[:2]
    gone = b.index[[10, 11]]
    b = b.drop(gone)  # two bars missing for b
    a = a.iloc[5:]  # a starts later: the common span starts there
    panel, info = load_panel([a, b])
    assert panel.index[0] == a.index[0] and len(panel) == len(a)
    assert info.trimmed == {"asset1": 0, "asset2": 5} and info.filled == {"asset1": 0,
                                                                         "asset2": 2}
    missing = panel.loc[gone]
    last_close = b["close"].iloc[9]
    assert (missing["tradable"]["asset2"] == 0).all()
    assert (missing[[("open", "asset2"), ("close", "asset2")]] == last_close).all().all()
    assert (missing["volume"]["asset2"] == 0).all()
    assert panel["tradable"]["asset1"].eq(1).all()


def test_panel_refusals() -> None:
    a, b, _ = _assets()
    with pytest.raises(ConfigError, match="at least two"):
        load_panel([a])
    weekly = make_prices(np.linspace(100, 110, 60), freq="W")
    with pytest.raises(DataError, match="different bar frequencies"):
        load_panel([a, weekly])
    later = make_prices(np.linspace(100, 110, 50), start="2030-01-01")
    with pytest.raises(DataError, match="share no bar dates"):
        load_panel([a, later])
    with pytest.raises(ConfigError, match="both asset 'orcl'"):
        load_panel(["orcl", "ORCL"])
    assert split_sources("orcl+nvda") == ["orcl", "nvda"] == split_sources("orcl,nvda")
    assert split_sources("orcl") is None
    with pytest.raises(ConfigError, match="empty asset name"):
        split_sources("orcl,,nvda")


def test_strategy_and_data_must_agree() -> None:
    with pytest.raises(ConfigError, match="trades one asset"):
        backtest("sma-cross", "orcl,nvda")
    with pytest.raises(ConfigError, match="portfolio strategy"):
        backtest("equal-weight", "orcl")


def test_equal_weight_hold_by_hand() -> None:
    """1/N of the equity net of commission at the first test open, held."""
    frames = _assets()
    commission, cash = 0.001, 10_000.0
    result = backtest("equal-weight-hold", frames, commission=commission, cash=cash)
    equity = result.test.equity
    start = equity.index[0]
    first_open = equity.index[1]  # decided at the first test bar, filled at the next open
    net = cash / (1 + commission)  # buys of the whole equity pay commission on it
    shares = [net / 3 / f.loc[first_open, "open"] for f in frames]
    final = sum(s * f["close"].iloc[-1] for s, f in zip(shares, frames, strict=True))
    assert equity["value"].iloc[-1] == pytest.approx(final, rel=1e-8)
    assert equity.loc[start, "value"] == cash
    # the benchmark column is that same hold, so the two coincide
    assert np.allclose(equity["value"], equity["benchmark"], rtol=1e-12)
    assert result.test.metrics["rejected_orders"] == 0


def test_rebalancing_costs_are_charged_on_the_turnover() -> None:
    frames = _assets()
    commission, slippage = 0.002, 0.001
    result = backtest("equal-weight", frames, commission=commission, slippage=slippage,
                      params={"every": 5})
    orders = result.test.orders
    assert (orders["status"] == "Completed").all() and len(orders) > 30
    # every fill pays commission x its traded value at the (slipped) fill price
    assert np.allclose(orders["commission"], commission * orders["filled"] * orders["price"])
    block = result.test.extra_metrics["portfolio"]
    assert block["commission_paid"] == pytest.approx(orders["commission"].sum())
    # slippage: the fill is `slippage` away from that bar's open, in full
    opens = [frames[["asset1", "asset2", "asset3"].index(a)].loc[t, "open"]
             for a, t in zip(orders["asset"], orders["executed"], strict=True)]
    side = np.where(orders["side"] == "buy", 1.0, -1.0)
    assert np.allclose(orders["price"], np.array(opens) * (1 + side * slippage))
    assert block["slippage_paid"] == pytest.approx(
        float((orders["filled"] * np.array(opens) * slippage).sum()))
    # rebalanced every 5 bars: each decision is back at 1/3 each after the fills
    weights = result.test.tables["weights"]
    targets = result.test.tables["targets"]
    fill_bar = weights.index[weights.index.searchsorted(targets.index[1]) + 1]
    at_close = weights.loc[fill_bar, ["asset1", "asset2", "asset3"]].to_numpy()
    drift = np.array([f.loc[fill_bar, "open"] / f.loc[fill_bar, "close"] for f in frames])
    at_open = at_close * drift  # the values the fills made, at that open
    assert np.allclose(at_open / at_open.sum(), 1 / 3, rtol=1e-6)


class _Switch(PortfolioStrategy):
    """All in asset 1, then all in asset 2 from the 20th decision: a full swap."""

    def target_weights(self) -> Any:
        return [1.0, 0.0, 0.0] if len(self.targets) < 20 else [0.0, 1.0, 0.0]


def test_full_swap_with_costs_sells_before_it_buys() -> None:
    result = backtest(_Switch, _assets(), commission=0.001, slippage=0.0005)
    assert result.test.metrics["rejected_orders"] == 0
    weights = result.test.tables["weights"]
    assert weights["asset2"].iloc[-1] == pytest.approx(1.0, abs=1e-6)
    assert weights["asset1"].iloc[-1] == 0.0
    assert weights["cash"].iloc[-1] >= -1e-9  # never borrowed to pay the costs


def test_an_asset_without_a_bar_is_not_traded_and_counted() -> None:
    frames = _assets()
    gone = frames[1].index[220:225]
    frames[1] = frames[1].drop(gone)
    result = backtest("equal-weight", frames, params={"every": 1})
    orders = result.test.orders
    traded = orders[orders["asset"] == "asset2"]["executed"]
    assert not traded.isin(gone).any()
    assert result.test.extra_metrics["portfolio"]["untradable_skips"] >= len(gone) - 1


def test_weights_must_follow_the_contract() -> None:
    class TooMuch(PortfolioStrategy):
        def target_weights(self) -> Any:
            return [0.6, 0.6, 0.0]

    with pytest.raises(Exception, match="sum to 1.2, above --param leverage=1"):
        backtest(TooMuch, _assets())
    result = backtest(TooMuch, _assets(), params={"leverage": 1.5}, commission=0.001)
    assert result.test.metrics["rejected_orders"] == 0
    assert result.test.tables["weights"].iloc[-1][["asset1", "asset2"]].sum() > 1.1


def test_cli_run_writes_a_portfolio_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", "momentum-topk", "--data", "orcl,nvda,yhoo",
                                       "--start", "2010-01-01", "--commission", "0.001",
                                       "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "equal-weight rebalanced" in result.output and "turnover" in result.output
    weights = pd.read_csv(out / "weights.csv")
    assert list(weights.columns) == ["period", "datetime", "orcl", "nvda", "yhoo", "cash"]
    assert np.allclose(weights[["orcl", "nvda", "yhoo", "cash"]].sum(axis=1), 1.0)
    assert pd.read_csv(out / "trades.csv")["asset"].isin(["orcl", "nvda", "yhoo"]).all()
    summary = CliRunner().invoke(main, ["data", "orcl,nvda"])
    assert summary.exit_code == 0 and "orcl: 1,024 bars outside the common span" in summary.output
    refused = CliRunner().invoke(main, ["run", "sma-cross", "--data", "orcl,nvda"])
    assert refused.exit_code != 0 and "trades one asset" in refused.output
    assert "Traceback" not in refused.output


class _Peeks(PortfolioStrategy):
    """Looks one bar ahead on the second asset: the harness must see it."""

    def target_weights(self) -> Any:
        if len(self.data) >= self.data.buflen():
            return None  # no next bar to peek at
        up = self.datas[1].close[1] > self.datas[1].close[0]
        return [0.0, 1.0, 0.0] if up else [0.0, 0.0, 0.0]


def test_lookahead_checks_every_feed() -> None:
    panel, _ = load_panel(_assets())
    assert not check_lookahead(_Peeks, panel, cuts=2).clean
    assert check_lookahead("momentum-topk", panel, cuts=2,
                           params={"lookback": 10, "every": 3}).clean


def test_sweep_takes_a_portfolio_as_one_dataset(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", "momentum-topk", "--data", "orcl+nvda+yhoo,nvda+yhoo", "--grid",
            "lookback=21,63", "--start", "2012-01-01", "--workers", "1", "--no-report",
            "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(set(runs["dataset"])) == ["nvda+yhoo", "orcl+nvda+yhoo"] and len(runs) == 4
    single = CliRunner().invoke(main, ["sweep", "momentum-topk", "--data", "orcl,nvda",
                                       "--out", str(tmp_path / "no")])
    assert single.exit_code != 0 and "orcl+nvda+yhoo is one portfolio" in single.output


def test_walk_forward_chains_a_portfolio_against_equal_weight_hold() -> None:
    from rlbt.engine.config import BacktestConfig
    from rlbt.engine.walk_forward import walk_forward

    frames = _assets(n_bars=400)
    result = walk_forward("inverse-vol", frames, BacktestConfig(params={"lookback": 10}), 2)
    held = backtest("equal-weight-hold", frames, train_end=str(result.runs[0].train.end))
    # the stitched benchmark is one equal-weight hold over the stitched span
    assert result.stitched["benchmark"].iloc[-1] == pytest.approx(
        held.test.equity["value"].iloc[-1], rel=1e-9)
