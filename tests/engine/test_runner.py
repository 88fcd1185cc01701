"""The runner against plain backtrader and hand computations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.cli import main
from rlbt.engine.compat import bt
from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.prices import load_prices
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.runner import backtest
from rlbt.strategies.baselines import SmaCross


def test_buy_and_hold_return_matches_hand_computation(wavy_prices: pd.DataFrame) -> None:
    commission, slippage, cash = 0.001, 0.0005, 10_000.0
    result = backtest("buy-and-hold", wavy_prices, cash=cash, commission=commission,
                      slippage=slippage)
    for period, bars in ((result.train, wavy_prices.iloc[:280]), (result.test, wavy_prices)):
        start = period.start
        bars = bars.loc[start:]
        # Decided on the period's first bar, filled at the next bar's open.
        fill = bars["open"].iloc[1] * (1 + slippage)
        shares = cash * (1 - 1e-9) / (fill * (1 + commission))
        expected = cash - shares * fill * (1 + commission) + shares * bars["close"].iloc[-1]
        assert period.metrics["final_value"] == pytest.approx(expected, rel=1e-12)
        assert period.metrics["total_return"] == pytest.approx(expected / cash - 1, rel=1e-12)
        assert period.benchmark == period.metrics


def _plain_cerebro_value(frame: pd.DataFrame, **params: object) -> float:
    """The same strategy and settings in a Cerebro built by hand."""
    cerebro = bt.Cerebro(cheat_on_open=True)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(SmaCross, **params)
    cerebro.run()
    return float(cerebro.broker.getvalue())


def test_rlbt_run_sma_cross_matches_plain_cerebro_on_orcl(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cli = CliRunner().invoke(main, ["run", "sma-cross", "--data", "orcl", "--commission",
                                    "0.001", "--out", str(out), "--no-report"])
    assert cli.exit_code == 0, cli.output
    metrics = json.loads((out / "metrics.json").read_text())
    frame = load_prices("orcl")
    k = int(len(frame) * 0.7)
    train_value = _plain_cerebro_value(frame.iloc[:k])
    test_value = _plain_cerebro_value(frame, trade_start=frame.index[k].to_pydatetime())
    assert metrics["train"]["final_value"] == pytest.approx(train_value, rel=1e-12)
    assert metrics["test"]["final_value"] == pytest.approx(test_value, rel=1e-12)
    assert metrics["test"]["trades"] > 5  # it did trade


def test_test_slice_trades_from_its_first_bar(wavy_prices: pd.DataFrame) -> None:
    result = backtest("sma-cross", wavy_prices, train_end="2020-10-30")
    test_start = wavy_prices.index[wavy_prices.index > "2020-10-30"][0]
    assert result.test.actions.index[0] == test_start
    assert result.test.equity.index[0] == test_start
    assert result.train.equity.index[-1] < test_start
    # History before the test slice warmed the SMAs: a decision on day one.
    assert len(result.test.actions) == len(wavy_prices.loc[test_start:])


@pytest.mark.parametrize(("preload", "runonce"), [(True, False), (False, False)])
def test_preload_and_runonce_modes_agree(
    wavy_prices: pd.DataFrame, preload: bool, runonce: bool
) -> None:
    def run(preload: bool, runonce: bool) -> tuple[float, list]:
        cerebro = build_cerebro(wavy_prices, SmaCross, {}, cash=10_000, commission=0.001,
                                slippage=0.001, preload=preload, runonce=runonce)
        strat = cerebro.run()[0]
        return cerebro.broker.getvalue(), strat.decisions

    value, decisions = run(preload, runonce)
    reference = run(True, True)  # backtrader's default, vectorised mode
    assert decisions and value != 10_000  # it traded, so there is something to compare
    assert (value, decisions) == reference


def test_same_settings_same_result(wavy_prices: pd.DataFrame) -> None:
    a = backtest("sma-cross", wavy_prices, params={"fast": 5, "slow": 20})
    b = backtest("sma-cross", wavy_prices, params={"fast": 5, "slow": 20})
    for pa, pb in zip(a.periods, b.periods, strict=True):
        pd.testing.assert_frame_equal(pa.equity, pb.equity)
        pd.testing.assert_frame_equal(pa.trades, pb.trades)
        pd.testing.assert_frame_equal(pa.actions, pb.actions)
        assert pa.metrics == pb.metrics


def test_decisions_do_not_depend_on_later_bars(wavy_prices: pd.DataFrame) -> None:
    train_end = str(wavy_prices.index[199].date())
    full = backtest("mean-forecast", wavy_prices, train_end=train_end).test.actions
    cut = 330
    future_changed = wavy_prices.copy()
    future_changed.iloc[cut:, :4] *= 1.5
    changed = backtest("mean-forecast", future_changed, train_end=train_end).test.actions
    truncated = backtest("mean-forecast", wavy_prices.iloc[:cut], train_end=train_end).test.actions
    boundary = wavy_prices.index[cut - 1]
    pd.testing.assert_frame_equal(full.loc[:boundary], changed.loc[:boundary])
    pd.testing.assert_frame_equal(full.loc[:boundary], truncated)


def test_metrics_keys_and_values(rising_prices: pd.DataFrame) -> None:
    result = backtest("buy-and-hold", rising_prices)
    metrics = result.test.metrics
    assert metrics["total_return"] > 0 and metrics["max_drawdown"] == 0.0
    assert metrics["sharpe"] > 5 and metrics["exposure"] > 0.95
    assert set(result.metrics_dict()["test"]["buy_and_hold"]) == set(metrics)
    expected_growth = rising_prices["close"].iloc[-1] / rising_prices["open"].iloc[211]
    assert metrics["total_return"] == pytest.approx(expected_growth - 1, rel=1e-6)


def test_split_leaving_too_few_bars_names_the_option(rising_prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="--train-end=2030-01-01"):
        backtest("sma-cross", rising_prices, train_end="2030-01-01")
    with pytest.raises(ConfigError, match="--split"):
        BacktestConfig(split=1.0)


def test_unknown_strategy_and_param_suggest_names(rising_prices: pd.DataFrame) -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'sma-cross'"):
        backtest("sma-cros", rising_prices)
    with pytest.raises(UnknownNameError, match="Did you mean 'fast'"):
        backtest("sma-cross", rising_prices, params={"fsat": 3})


def test_bad_param_value_is_a_config_error(rising_prices: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="fast"):
        backtest("sma-cross", rising_prices, params={"fast": "abc"})
    with pytest.raises(ConfigError, match="fast < slow"):
        backtest("sma-cross", rising_prices, params={"fast": 30, "slow": 10})


def test_caller_frame_is_not_mutated(wavy_prices: pd.DataFrame) -> None:
    before = wavy_prices.copy(deep=True)
    backtest("sma-cross", wavy_prices)
    pd.testing.assert_frame_equal(wavy_prices, before)


def test_slippage_and_commission_cost_money(wavy_prices: pd.DataFrame) -> None:
    free = backtest("sma-cross", wavy_prices).test.metrics["final_value"]
    costly = backtest("sma-cross", wavy_prices, commission=0.002, slippage=0.002)
    assert costly.test.metrics["final_value"] < free
    assert np.isfinite(costly.test.metrics["sharpe"])
