"""The order path: every decision is executed as documented (flips with costs,
leverage, rebalancing), costs are charged in full, and an order the broker did
not execute is counted, listed and said."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from price_series import make_prices

from rlbt.engine.compat import bt
from rlbt.engine.output.console import unexecuted_orders
from rlbt.engine.runner import backtest
from rlbt.strategies.exposure import ExposureStrategy
from rlbt.strategies.sizing import Book, max_buy, target_shares


class Flip(ExposureStrategy):
    """Alternates between its first two positions every ``every`` bars."""

    params: Any = (("every", 1),)

    def decide(self) -> int:
        return (len(self.decisions) // self.p.every) % 2


class Hold(ExposureStrategy):
    """Always the last position in ``positions``."""

    def decide(self) -> int:
        return len(self.exposure_levels) - 1


def _held_vs_decided(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sign of the position held on each bar vs the exposure decided one bar before."""
    held = np.sign(result.test.equity["position"].to_numpy()[1:])
    decided = np.sign(result.test.actions["exposure"].to_numpy()[:-1])
    return held, decided


@pytest.mark.parametrize("positions", [(1.0, -1.0), (-1.0, 1.0), (0.0, -1.0)])
def test_flipping_every_bar_with_costs_holds_every_decision(positions: tuple) -> None:
    result = backtest(Flip, "orcl", params={"positions": positions}, commission=0.001,
                      slippage=0.001)
    held, decided = _held_vs_decided(result)
    assert len(held) > 1000
    np.testing.assert_array_equal(held, decided)
    assert result.test.metrics["rejected_orders"] == 0
    assert (result.test.orders["status"] == "Completed").all()


def test_leverage_two_holds_twice_its_equity() -> None:
    result = backtest(Flip, "orcl", params={"positions": (0.0, 2.0), "every": 5},
                      commission=0.001)
    equity = result.test.equity
    held = equity["position"] * result.test.equity["close"] / equity["value"]
    entered = held[held > 0]
    assert len(entered) > 500 and result.test.metrics["rejected_orders"] == 0
    # At each fill the position is 2x equity; it then drifts with the price.
    assert entered.median() == pytest.approx(2.0, rel=0.05)


def test_exposure_is_sized_net_of_the_costs_of_a_flip() -> None:
    book = Book(cash=20_000.0, size=-100.0, entry=100.0)  # short 100 at 100: equity 10,000
    shares = target_shares(book, 1.0, 100.0, slippage=0.01, commission=0.01)
    fill = 101.0
    cash_after = book.cash - (shares - book.size) * fill * 1.01
    assert 0 <= cash_after < 1e-3  # the cover's costs came out of the new long
    assert shares < 10_000 / (fill * 1.01)
    assert max_buy(Book(0.0, 0.0, 0.0), 100.0, 0.0) == 0.0


def test_an_order_the_broker_refuses_is_counted_listed_and_said(tmp_path: Any) -> None:
    class TooBig(bt.Strategy):
        def next(self) -> None:
            if not self.position:
                self.buy(size=1e9)

    result = backtest(TooBig, "orcl")
    orders = result.test.orders
    assert result.test.metrics["rejected_orders"] == len(orders) > 0
    assert set(orders["status"]) == {"Margin"}
    assert orders["reason"].str.contains("not enough cash").all()
    lines = unexecuted_orders("test", orders)
    assert lines[0].startswith(f"test: {len(orders)} of {len(orders)} orders did not execute")


def test_cli_announces_unexecuted_orders(tmp_path: Any) -> None:
    plugin = tmp_path / "toobig.py"
    plugin.write_text("import backtrader as bt\n\nclass TooBig(bt.Strategy):\n"
                      "    def next(self):\n        if not self.position:\n"
                      "            self.buy(size=1e9)\n")
    from rlbt.engine.cli import main

    out = CliRunner().invoke(main, ["run", f"{plugin}:TooBig", "--out", str(tmp_path / "r"),
                                    "--no-report"])
    assert out.exit_code == 0, out.output
    assert "orders did not execute (see orders.csv)" in out.output
    orders = pd.read_csv(tmp_path / "r" / "orders.csv")
    assert (orders["status"] == "Margin").all() and len(orders) > 0


def test_slippage_is_charged_in_full_where_the_open_is_the_high() -> None:
    frame = make_prices(100.0 * 1.001 ** np.arange(60))
    frame["high"] = np.maximum(frame["open"], frame["close"])  # open == high on down bars
    frame.loc[frame.index[30:], "high"] = frame["open"].iloc[30:]
    frame.loc[frame.index[30:], "close"] = frame["open"].iloc[30:] * 0.999
    frame["low"] = np.minimum(frame["open"], frame["close"]) * 0.999
    result = backtest(Flip, frame, params={"positions": (0.0, 1.0), "every": 3},
                      slippage=0.0005, split=0.5)
    orders = result.test.orders
    opens = frame["open"].reindex(pd.DatetimeIndex(orders["executed"]))
    sign = np.where(orders["side"] == "buy", 1.0, -1.0)
    np.testing.assert_allclose(orders["price"].to_numpy(), opens.to_numpy() * (1 + sign * 5e-4),
                               rtol=1e-12)
    assert (orders["price"].to_numpy()[sign > 0] > opens.to_numpy()[sign > 0]).all()


def test_rebalance_trades_drift_back_to_the_target() -> None:
    rising = make_prices(100.0 * 1.01 ** np.arange(200))

    def exposure(params: dict) -> pd.Series:
        result = backtest(Hold, rising, params={"positions": (0.0, 0.5), **params}, split=0.3)
        equity = result.test.equity
        return equity["position"] * equity["close"] / equity["value"]

    drifted, kept = exposure({}), exposure({"rebalance": 0.02})
    assert drifted.iloc[-1] > 0.75  # set once, never traded back
    assert (kept.iloc[1:] - 0.5).abs().max() < 0.03


def test_rebalance_must_be_positive() -> None:
    from rlbt.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="rebalance=-1"):
        backtest(Hold, "orcl", params={"rebalance": -1})


def test_lean_broker_books_the_same_trades_as_backtraders_own() -> None:
    """Without notification copies (LeanBroker) the trades, values and order
    fates are those of BackBroker, which a strategy with notify_order gets."""
    from rlbt.engine.cerebro import build_cerebro
    from rlbt.engine.lean_broker import LeanBroker

    class Watched(Flip):
        def notify_order(self, order: Any) -> None:
            pass

    frame = make_prices(100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, 300))))
    runs = {}
    for cls in (Flip, Watched):
        cerebro = build_cerebro(frame, cls, {"positions": (1.0, -1.0), "every": 3},
                                cash=10_000, commission=0.001, slippage=0.0005)
        strat = cerebro.run()[0]
        runs[cls] = (isinstance(cerebro.broker, LeanBroker),
                     strat.analyzers.equity.get_analysis(),
                     strat.analyzers.tradelog.get_analysis(),
                     strat.analyzers.orderlog.get_analysis(),
                     dict(strat.analyzers.trades.get_analysis().total))
    lean, plain = runs[Flip], runs[Watched]
    assert lean[0] and not plain[0]
    assert len(lean[2]) > 50
    assert lean[1:] == plain[1:]


class Cycle(ExposureStrategy):
    """Walks through its positions, one step every ``every`` bars, and now and
    then sends an order far beyond its cash; records the broker after each bar."""

    params: Any = (("every", 2),)

    def __init__(self) -> None:
        super().__init__()
        self.book: list[tuple[float, float, float, float]] = []
        self.fates: list[int] = []

    def decide(self) -> int:
        return (len(self.decisions) // self.p.every) % len(self.exposure_levels)

    def next_open(self) -> None:
        super().next_open()
        if len(self) % 37 == 0:
            self.fates.append(id(self.buy(size=1e9)))

    def next(self) -> None:
        position = self.position
        self.book.append((self.broker.getcash(), self.broker.getvalue(), position.size,
                          position.price))
        super().next()


def test_training_broker_fills_bit_for_bit_as_backtraders_own() -> None:
    """A training pass (no analyzers) fills its market orders through
    TrainingBroker: cash, value, position and entry price on every bar equal
    BackBroker's exactly, through flips, leverage, shorts and refused orders."""
    from rlbt.engine.cerebro import build_cerebro
    from rlbt.engine.training_broker import TrainingBroker

    frame = make_prices(100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.02, 400))))
    runs = {}
    for analyzers in (False, True):
        cerebro = build_cerebro(frame, Cycle, {"positions": (1.0, -1.0, 0.5, 2.0, 0.0, -0.3)},
                                cash=10_000, commission=0.001, slippage=0.0005,
                                analyzers=analyzers)
        strat = cerebro.run()[0]
        runs[analyzers] = (cerebro.broker, strat)
    (quick_broker, quick), (full_broker, full) = runs[False], runs[True]
    assert isinstance(quick_broker, TrainingBroker) and not isinstance(full_broker, TrainingBroker)
    assert quick.book == full.book
    assert len({size for _, _, size, _ in quick.book}) > 50  # it did trade
    refused = full.analyzers.orderlog.get_analysis()
    assert sum(1 for row in refused if row["status"] == "Margin") == len(quick.fates) > 5


def test_training_broker_takes_only_plain_market_orders() -> None:
    """A limit order in a training pass goes through BackBroker, as a real Order."""
    from rlbt.engine.cerebro import build_cerebro
    from rlbt.engine.training_broker import QuickOrder

    class Limits(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.orders: list[Any] = []

        def next(self) -> None:
            self.orders.append(self.buy(size=1, exectype=bt.Order.Limit,
                                        price=self.data.close[0] * 0.99))
            self.orders.append(self.sell(size=1))

    frame = make_prices(100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 50))))
    cerebro = build_cerebro(frame, Limits, {}, cash=10_000, commission=0.0, slippage=0.0,
                            analyzers=False)
    strat = cerebro.run()[0]
    kinds = {type(order) for order in strat.orders}
    assert kinds == {bt.order.BuyOrder, QuickOrder}
