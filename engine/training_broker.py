"""``TrainingBroker``: market orders of a training pass without backtrader's
order objects.

A training pass (``--episodes``) reads nothing of an order but its fate and
what it did to cash and position: no analyzer, no ``notify_order``, no
``notify_trade``. Yet an exploring agent sends an order on about every other
bar, and each one costs an ``Order`` (with its metaclass, execution bits and
notifications) several times what the agent's own update costs. This broker
takes the plain market orders of such a pass as a ``QuickOrder`` (side, size,
fate) and fills them at the open with ``BackBroker``'s own arithmetic, in the
same order of operations, so cash, position and value are bit for bit those
of ``BackBroker`` (tests/strategies/test_orders.py proves it). Anything else
(limits, stops, brackets, a futures-like commission, a volume filler,
cheat-on-close) goes through ``BackBroker`` unchanged.
"""

from __future__ import annotations

from typing import Any

from rlbt.engine.compat import bt
from rlbt.engine.lean_broker import LeanBroker


class QuickOrder:
    """A market order for ``size`` shares (negative: sell) and its fate."""

    __slots__ = ("data", "size", "status")

    def __init__(self, data: Any, size: float) -> None:
        self.data, self.size = data, size
        self.status = bt.Order.Submitted

    def isbuy(self) -> bool:
        return self.size > 0


class TrainingBroker(LeanBroker):
    cash: float  # BackBroker's, declared for the type checker

    def start(self) -> None:
        super().start()
        self._quick: list[QuickOrder] = []
        self._plain_asset: dict[Any, bool] = {}

    # A new commission scheme may change what ``_is_plain_asset`` says.
    def addcommissioninfo(self, comminfo: Any, name: Any = None) -> None:
        super().addcommissioninfo(comminfo, name)
        self._plain_asset = {}

    def setcommission(self, *args: Any, **kwargs: Any) -> None:
        super().setcommission(*args, **kwargs)
        self._plain_asset = {}

    def buy(self, owner: Any, data: Any, size: float, price: Any = None, plimit: Any = None,
            exectype: Any = None, **kwargs: Any) -> Any:
        if self._is_quick(data, price, plimit, exectype, kwargs):
            return self._queue(QuickOrder(data, abs(size)))
        return super().buy(owner, data, size, price, plimit, exectype, **kwargs)

    def sell(self, owner: Any, data: Any, size: float, price: Any = None, plimit: Any = None,
             exectype: Any = None, **kwargs: Any) -> Any:
        if self._is_quick(data, price, plimit, exectype, kwargs):
            return self._queue(QuickOrder(data, -abs(size)))
        return super().sell(owner, data, size, price, plimit, exectype, **kwargs)

    def _queue(self, order: QuickOrder) -> QuickOrder:
        self._quick.append(order)
        return order

    def _is_quick(self, data: Any, price: Any, plimit: Any, exectype: Any,
                  extra: dict[str, Any]) -> bool:
        """A plain market order on a stock-like asset, filled at this open."""
        if price is not None or plimit is not None or exectype not in (None, bt.Order.Market):
            return False
        if any(extra.get(k) for k in ("valid", "oco", "trailamount", "trailpercent", "parent")):
            return False
        if not extra.get("transmit", True) or set(extra) - _PLAIN_KWARGS:
            return False
        return self._plain(data)

    def _plain(self, data: Any) -> bool:
        plain = self._plain_asset.get(data)
        if plain is None:
            plain = self._plain_asset[data] = self._is_plain_asset(data)
        return plain

    def _is_plain_asset(self, data: Any) -> bool:
        """Stock-like, no interest, no filler: the case ``_fill`` reproduces."""
        info = self.getcommissioninfo(data)
        p = self.p
        return bool(info.stocklike and p.shortcash and p.coo and not p.coc and p.filler is None
                    and p.checksubmit and data._compensate is None and not info.p.interest)

    def next(self) -> None:
        if self._quick:  # most bars send no order
            orders, self._quick = self._quick, []
            self._check(orders)
            for order in orders:
                if order.status == bt.Order.Accepted:
                    self._fill(order)
        if self._quiet():
            self._value_book()
            return
        super().next()

    def _quiet(self) -> bool:
        """Nothing for ``BackBroker.next`` to do but value the book: no order to
        activate, check or execute, no order or fund history, no cash to add,
        and every asset plain (no credit interest; stock-like, so no cash
        adjustment)."""
        if (self._toactivate or self.submitted or self.pending or self._userhist
                or self._fundhist or self._cash_addition):
            return False
        return all(self._plain(data) for data in self.positions)

    def _value_book(self) -> None:
        """``BackBroker._get_value()`` for plain stock-like positions and no fund
        history: the same sums in the same order, so the same bits."""
        pos_value = unlever = unrealized = 0.0
        for data, position in self.positions.items():
            info = self.getcommissioninfo(data)
            size, close = position.size, data.close[0]
            dvalue = size * close  # getvaluesize, stock-like
            dunrealized = size * (close - position.price) * info.p.mult  # profitandloss
            pos_value += dvalue
            unrealized += dunrealized
            if dvalue > 0:  # a long: unlevered
                dvalue -= dunrealized
                unlever += dvalue / info.get_leverage()
                unlever += dunrealized
            else:
                unlever += dvalue
        self._value = self.cash + unlever
        self._fundval = self._value / self._fundshares
        self._valuemkt = unlever
        self._valuelever = self.cash + pos_value
        self._valuemktlever = pos_value
        self._leverage = pos_value / (unlever or 1.0)
        self._unrealized = unrealized

    def _check(self, orders: list[QuickOrder]) -> None:
        """``check_submitted``: each order pseudo-executed at the open, in turn."""
        cash = self.cash
        positions: dict[Any, Any] = {}
        for order in orders:
            data = order.data
            price = data.open[0]
            if len(orders) == 1:  # the common case: no clone needed
                psize, pprice, opened, closed = self.positions[data].pseudoupdate(order.size, price)
            else:
                position = positions.setdefault(data, self.positions[data].clone())
                psize, pprice, opened, closed = position.update(order.size, price)
            # As BackBroker: a refused order's shortfall stays in the running cash.
            cash = self._cash_after(data, cash, price, price, 0, opened, closed)
            order.status = bt.Order.Accepted if cash >= 0.0 else bt.Order.Margin

    def _cash_after(self, data: Any, cash: float, price: float, entry: float, pnl: float,
                    opened: float, closed: float) -> float:
        """``BackBroker._execute``'s cash for a stock-like fill; negative: no room."""
        info = self.getcommissioninfo(data)
        if closed:
            closecash = closedvalue = info.getvaluesize(-closed, entry)
            if closedvalue > 0:
                closecash /= info.get_leverage()
            cash += closecash + pnl * info.stocklike
            cash -= info.getcommission(closed, price)
        if opened:
            opencash = openedvalue = info.getvaluesize(opened, price)
            if openedvalue > 0:
                opencash /= info.get_leverage()
            cash -= opencash
            cash -= info.getcommission(opened, price)
        return cash

    def _fill(self, order: QuickOrder) -> None:
        """``_try_exec_market`` + ``_execute`` for a stock-like market order."""
        data = order.data
        info = self.getcommissioninfo(data)
        open_ = data.open[0]
        if order.size > 0:
            price = self._slip_up(data.high[0], open_, doslip=self.p.slip_open)
        else:
            price = self._slip_down(data.low[0], open_, doslip=self.p.slip_open)
        position = self.positions[data]
        entry = position.price
        psize, pprice, opened, closed = position.pseudoupdate(order.size, price)
        pnl = info.profitandloss(-closed, entry, price)
        cash = self.cash
        if closed:
            self.cash = cash = self._cash_after(data, cash, price, entry, pnl, 0.0, closed)
        popened = opened
        if opened:
            cash = self._cash_after(data, cash, price, entry, pnl, opened, 0.0)
            if cash < 0.0:
                opened = 0  # as BackBroker: the opening leg does not fit, nullified
            else:
                position.adjbase = price
                self.cash = cash
        if closed + opened:
            info.confirmexec(closed + opened, price)
            position.update(closed + opened, price, data.datetime.datetime())
        order.status = bt.Order.Margin if popened and not opened else bt.Order.Completed


# What Strategy.buy/sell always pass on; any other keyword is order info
# (``addinfo``) that only a real order can carry.
_PLAIN_KWARGS = {"valid", "tradeid", "oco", "trailamount", "trailpercent", "parent",
                 "transmit", "histnotify", "_checksubmit"}


def reads_trades(strategy_cls: type) -> bool:
    """True when the strategy overrides ``notify_trade`` (quick orders book no trades)."""
    return getattr(strategy_cls, "notify_trade", None) is not bt.Strategy.notify_trade
