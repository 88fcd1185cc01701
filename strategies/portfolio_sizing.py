"""Sizing a portfolio's target weights at one open: pure NumPy, testable
without a broker.

The targets are fractions of the equity at that open, *net of the costs of
getting there*: commission and slippage are charged on the turnover, so the
equity the weights apply to is ``E - k * turnover`` with ``k`` the cost per
unit of traded value (solved by a few fixed-point steps; the costs are a
small fraction of the turnover, so it converges at once). Sells are sent
before buys, and the buys are scaled down together if the cash after the
sells could not pay for them, so the broker never refuses an order for cash.
Conventions are backtrader's stock broker (``shortcash=True``; a long with
leverage L ties up 1/L of its value), as in ``strategies/sizing.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlbt.strategies.sizing import SIZING_MARGIN

_FIXED_POINT_STEPS = 6
DUST = 1e-9
"""A trade smaller than this fraction of equity is not sent (float rounding)."""


@dataclass(frozen=True)
class Holdings:
    """What the broker holds at the open being traded (one entry per asset)."""

    cash: float
    sizes: np.ndarray
    entries: np.ndarray
    leverage: float = 1.0

    def values(self, prices: np.ndarray) -> np.ndarray:
        """Each position's contribution to backtrader's portfolio value at ``prices``."""
        longs = self.sizes > 0
        lever = np.where(longs, self.sizes * self.entries / self.leverage
                         + self.sizes * (prices - self.entries), 0.0)
        return np.where(longs, lever, self.sizes * prices)

    def equity(self, prices: np.ndarray) -> float:
        return float(self.cash + self.values(prices).sum())


def order_sizes(holdings: Holdings, weights: np.ndarray, prices: np.ndarray,
                tradable: np.ndarray, slippage: float, commission: float,
                min_trade: float = 0.0) -> np.ndarray:
    """Shares to buy (> 0) or sell (< 0) per asset so that each tradable asset
    holds ``weights[i]`` of the equity at ``prices``, costs included.

    :param weights: target fraction of equity per asset (the rest is cash).
    :param tradable: False where the asset has no bar now: it keeps its shares.
    :param min_trade: trades smaller than this fraction of equity are skipped.
    """
    equity = holdings.equity(prices)
    held = holdings.sizes * prices  # market value per asset
    if not equity > 0:
        return np.zeros_like(held)
    cost = slippage + commission * (1.0 + slippage)  # per unit of traded value
    net = equity
    for _ in range(_FIXED_POINT_STEPS):
        target = np.where(tradable, weights * net, held)
        net = equity - cost * float(np.abs(target - held).sum())
    target = np.where(tradable, weights * net * (1.0 - SIZING_MARGIN), held)
    delta = (target - held) / prices
    delta[np.abs(target - held) < max(min_trade, DUST) * equity] = 0.0
    closing = tradable & (weights == 0.0)
    delta[closing] = -holdings.sizes[closing]  # exactly flat, never a dust position
    return _fit_buys(holdings, delta, prices, slippage, commission)


def _fit_buys(holdings: Holdings, delta: np.ndarray, prices: np.ndarray, slippage: float,
              commission: float) -> np.ndarray:
    """Scale the buys down together when the cash after the sells cannot pay them."""
    buys = delta > 0
    if not buys.any():
        return delta
    sells = delta < 0
    sell_price = prices * (1.0 - slippage)
    cash = holdings.cash + float((-delta[sells] * sell_price[sells] * (1.0 - commission)).sum())
    buy_price = prices * (1.0 + slippage)
    # covering a short costs the full price; opening a long 1/leverage of it
    cover = np.minimum(delta, np.maximum(-holdings.sizes, 0.0)) * buys
    opening = delta * buys - cover
    need = float((cover * buy_price * (1.0 + commission)).sum()
                 + (opening * buy_price * (1.0 / holdings.leverage + commission)).sum())
    available = cash * (1.0 - SIZING_MARGIN)
    if need <= available or need <= 0:
        return delta
    scaled = delta.copy()
    scaled[buys] *= max(available, 0.0) / need
    return scaled
