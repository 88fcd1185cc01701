"""Analyzers rlbt adds where backtrader has none: the per-bar equity curve
(with position, for exposure and the report), the list of trades (closed, and
open at the end with unrealised P&L) and the list of orders with their fate."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rlbt.engine.compat import bt


class EquityCurve(bt.Analyzer):
    """Per bar: datetime, portfolio value, cash and position size of data0
    (a portfolio strategy's gross exposure, the sum of its absolute weights)."""

    def start(self) -> None:
        self.rows: list[tuple[Any, float, float, float]] = []
        gross = getattr(self.strategy, "gross_exposure", None)
        if callable(gross):
            self.next = self._next_portfolio  # type: ignore[method-assign]

    def _next_portfolio(self) -> None:
        broker = self.strategy.broker
        self.rows.append((self.data.datetime[0], broker.getvalue(), broker.getcash(),
                          self.strategy.gross_exposure()))

    def next(self) -> None:
        broker = self.strategy.broker
        # The raw date number: converting it every bar costs more than the rest.
        self.rows.append(
            (
                self.data.datetime[0],
                broker.getvalue(),
                broker.getcash(),
                self.strategy.getposition(self.data).size,
            )
        )

    def get_analysis(self) -> list[tuple[Any, float, float, float]]:
        return [(bt.num2date(when), *rest) for when, *rest in self.rows]


class TradeLog(bt.Analyzer):
    """One row per trade: entry and exit time and price, size, P&L, and
    ``status`` closed, or open when the period ended with it still held
    (marked to the last close; its P&L is unrealised)."""

    def start(self) -> None:
        self.trades: list[dict[str, Any]] = []
        self._open: dict[int, Any] = {}
        self._open_size: dict[int, float] = {}

    def notify_trade(self, trade: Any) -> None:
        if trade.justopened:
            self._open_size[trade.ref] = trade.size
        if not trade.isclosed:
            self._open[trade.ref] = trade
            return
        self._open.pop(trade.ref, None)
        size = self._open_size.pop(trade.ref, float("nan"))
        self.trades.append(
            {
                "entry_time": bt.num2date(trade.dtopen),
                "exit_time": bt.num2date(trade.dtclose),
                "size": size,
                "entry_price": trade.price,
                # Stock P&L is size x (exit - entry), so the exit price follows.
                "exit_price": trade.price + trade.pnl / size if size else float("nan"),
                "pnl": trade.pnl,
                "pnl_net": trade.pnlcomm,
                "commission": trade.commission,
                "bars": trade.barlen,
                "status": "closed",
                "asset": trade.data._name,
            }
        )

    def stop(self) -> None:
        for trade in self._open.values():
            last_close = float(trade.data.close[0])  # its own asset's close
            unrealised = trade.size * (last_close - trade.price) + trade.pnl
            self.trades.append(
                {
                    "entry_time": bt.num2date(trade.dtopen),
                    "exit_time": pd.NaT,
                    "size": trade.size,
                    "entry_price": trade.price,
                    "exit_price": last_close,
                    "pnl": unrealised,
                    "pnl_net": unrealised - trade.commission,
                    "commission": trade.commission,
                    "bars": len(trade.data) - trade.baropen,
                    "status": "open",
                    "asset": trade.data._name,
                }
            )

    def get_analysis(self) -> list[dict[str, Any]]:
        return self.trades


TRADE_COLUMNS = ("entry_time", "exit_time", "size", "entry_price", "exit_price", "pnl",
                 "pnl_net", "commission", "bars", "status")
PORTFOLIO_COLUMN = "asset"
"""Trades and orders of a portfolio run carry their asset (first column)."""
ORDER_COLUMNS = ("created", "executed", "side", "size", "filled", "price", "commission",
                 "status", "reason")

_REASONS = {
    "Margin": "not enough cash for the order's value and costs",
    "Rejected": "rejected by the broker",
    "Canceled": "canceled before it filled",
    "Expired": "expired before it filled",
}
_UNFILLED = "no bar left to fill it before the period ended"


class OrderLog(bt.Analyzer):
    """Every order and its fate (Completed, or why not), from the broker's
    notifications; the last one seen for an order is its final state."""

    def start(self) -> None:
        self._orders: dict[int, Any] = {}

    def notify_order(self, order: Any) -> None:
        self._orders[order.ref] = order

    def get_analysis(self) -> list[dict[str, Any]]:
        rows = []
        for order in self._orders.values():
            status = order.getstatusname()
            executed = order.executed
            rows.append({
                "created": bt.num2date(order.created.dt),
                "executed": bt.num2date(executed.dt) if executed.size else pd.NaT,
                "side": "buy" if order.isbuy() else "sell",
                "size": abs(order.created.size),
                "filled": abs(executed.size),
                "price": executed.price if executed.size else float("nan"),
                "commission": executed.comm,
                "status": status,
                "reason": "" if status == "Completed" else _REASONS.get(status, _UNFILLED),
                "asset": order.data._name,
            })
        return rows
