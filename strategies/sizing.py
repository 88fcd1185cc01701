"""Order sizing for a target exposure: pure functions of the cash, the
position and one price, so they are testable without a broker.

Conventions are backtrader's stock-like broker with ``shortcash=True`` (a
short sale adds its proceeds to cash) and a long ``leverage`` L (opening a
long ties up 1/L of its value in cash). The cost of a fill is its commission
(a fraction of traded value) and the slippage already in its fill price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Keeps fills strictly inside cash: float rounding in price * size * (1 + fee)
# could otherwise exceed the cash by 1e-12 and get the order refused.
SIZING_MARGIN = 1e-9


@dataclass(frozen=True)
class Book:
    """What the broker holds at the moment an order is sized."""

    cash: float
    size: float  # shares held, negative when short
    entry: float  # average entry price of ``size``
    leverage: float = 1.0

    def equity(self, price: float) -> float:
        """Portfolio value at ``price``: backtrader's value with its long leverage."""
        if self.size > 0:
            return self.cash + self.size * self.entry / self.leverage + self.size * (
                price - self.entry)
        return self.cash + self.size * price


def target_shares(book: Book, target: float, price: float, slippage: float,
                  commission: float) -> float:
    """Shares that make ``target`` x equity at ``price``, net of this fill's costs."""
    equity = book.equity(price)
    side = math.copysign(1.0, target * equity / price - book.size)  # +1 buy, -1 sell
    fill = price * (1.0 + side * slippage)
    shares = target * equity * (1.0 - SIZING_MARGIN) / (fill * (1.0 + commission))
    if shares > book.size:  # a buy: it must fit in the cash, closing leg included
        shares = min(shares, book.size + max_buy(book, fill, commission))
    return shares


def max_buy(book: Book, fill: float, commission: float) -> float:
    """The most shares a buy at ``fill`` can take with the cash on hand.

    Covering a short costs its full price plus commission; opening a long
    costs 1/leverage of its price plus commission.
    """
    cover = max(-book.size, 0.0)
    cover_cost = cover * fill * (1.0 + commission)
    cash = book.cash * (1.0 - SIZING_MARGIN)
    if cash <= cover_cost:
        return max(cash / (fill * (1.0 + commission)), 0.0)
    return cover + (cash - cover_cost) / (fill * (1.0 / book.leverage + commission))
