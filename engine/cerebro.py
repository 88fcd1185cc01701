"""The one place where rlbt builds and runs a backtrader Cerebro.

Market orders fill at the next bar's open (backtrader's default); there is no
cheat-on-close. ``cheat_on_open`` is on so that ``ExposureStrategy`` can size
a notional order with the open it fills at (see strategies/exposure.py).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from rlbt.engine.analyzers import EquityCurve, OrderLog, TradeLog
from rlbt.engine.compat import bt
from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.feed import make_feed
from rlbt.engine.data.panel import asset_frame, is_panel, panel_assets
from rlbt.engine.lean_broker import LeanBroker, reads_order_states
from rlbt.engine.training_broker import TrainingBroker, reads_trades


def build_cerebro(
    frame: pd.DataFrame,
    strategy_cls: type,
    params: dict[str, Any],
    *,
    cash: float,
    commission: float,
    slippage: float,
    preload: bool = True,
    runonce: bool = True,
    analyzers: bool = True,
) -> bt.Cerebro:
    """A Cerebro with the data, broker settings, strategy and rlbt's analyzers.

    :param frame: validated OHLCV frame (``rlbt.engine.data.prices.load_prices``).
    :param strategy_cls: a ``bt.Strategy`` subclass.
    :param params: keyword params for the strategy.
    :param cash: starting cash.
    :param commission: fraction of traded value charged per fill.
    :param slippage: fraction of price lost per fill, in full (also at the open and
        beyond the bar's high/low).
    :param analyzers: add rlbt's analyzers. Training passes read none and skip them;
        their plain market orders then fill through ``TrainingBroker``.
    """
    cerebro = bt.Cerebro(
        stdstats=False, cheat_on_open=True, preload=preload, runonce=runonce, maxcpus=1
    )
    if not reads_order_states(strategy_cls):
        # A pass nobody audits (no analyzers, no trade notices) needs no Order objects.
        quick = not analyzers and not reads_trades(strategy_cls)
        cerebro.broker = TrainingBroker() if quick else LeanBroker()
    if is_panel(frame):  # a portfolio: one feed per asset, named, on one calendar
        for asset in panel_assets(frame):
            cerebro.adddata(make_feed(asset_frame(frame, asset), name=asset))
    else:
        cerebro.adddata(make_feed(frame))
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=commission)
    # slip_open: every rlbt fill is at an open, which backtrader exempts by default.
    # slip_out: charge the stated fraction in full even where it leaves the bar's
    # high-low range (backtrader clips it there by default, under-charging).
    cerebro.broker.set_slippage_perc(slippage, slip_open=True, slip_limit=True, slip_match=True,
                                     slip_out=True)
    cerebro.addstrategy(strategy_cls, **params)
    if analyzers:
        add_analyzers(cerebro)
    return cerebro


def add_analyzers(cerebro: bt.Cerebro) -> None:
    """The analyzers every rlbt metric is computed from."""
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="returns")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(EquityCurve, _name="equity")
    cerebro.addanalyzer(TradeLog, _name="tradelog")
    cerebro.addanalyzer(OrderLog, _name="orderlog")


def run_cerebro(cerebro: bt.Cerebro) -> Any:
    """Run and return the (single) strategy instance."""
    return cerebro.run()[0]


def run_strategy(
    cls: type,
    params: dict[str, Any],
    frame: pd.DataFrame,
    trade_start: pd.Timestamp | None,
    config: BacktestConfig,
    *,
    analyzers: bool = True,
) -> Any:
    """Run ``cls`` on ``frame`` with the broker settings of ``config``.

    Decisions start at ``trade_start`` (earlier bars are history). The seed is
    passed to strategies that take one.
    """
    accepted = cls.params._getkeys()  # type: ignore[attr-defined]
    params = dict(params)
    if "seed" in accepted:
        params["seed"] = config.seed
    if trade_start is not None:
        if "trade_start" in accepted:
            params["trade_start"] = trade_start.to_pydatetime()
        else:
            # A plain backtrader strategy cannot be told to wait, so it sees
            # the test bars only (its indicators warm up inside the slice).
            frame = frame.loc[trade_start:]
    cerebro = build_cerebro(
        frame,
        cls,
        params,
        cash=config.cash,
        commission=config.commission,
        slippage=config.slippage,
        analyzers=analyzers,
    )
    return run_cerebro(cerebro)


def equity_frame(strat: Any, trade_start: pd.Timestamp | None) -> pd.DataFrame:
    """The strategy's equity curve (value, cash, position) from ``trade_start`` on."""
    rows = strat.analyzers.equity.get_analysis()
    equity = pd.DataFrame(rows, columns=["datetime", "value", "cash", "position"])
    equity = equity.set_index("datetime")
    if trade_start is not None:
        equity = equity.loc[trade_start:]
    return equity
