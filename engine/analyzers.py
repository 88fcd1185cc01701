"""Analyzers rlbt adds where backtrader has none: the per-bar equity curve
(with position, for exposure and the report) and the list of closed trades."""

from __future__ import annotations

from typing import Any

from rlbt.engine.compat import bt


class EquityCurve(bt.Analyzer):
    """Per bar: datetime, portfolio value, cash and position size of data0."""

    def start(self) -> None:
        self.rows: list[tuple[Any, float, float, float]] = []

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
    """One row per closed trade: entry and exit time and price, size, P&L."""

    def start(self) -> None:
        self.trades: list[dict[str, Any]] = []
        self._open_size: dict[int, float] = {}

    def notify_trade(self, trade: Any) -> None:
        if trade.justopened:
            self._open_size[trade.ref] = trade.size
        if not trade.isclosed:
            return
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
            }
        )

    def get_analysis(self) -> list[dict[str, Any]]:
        return self.trades
