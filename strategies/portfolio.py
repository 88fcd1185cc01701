"""``PortfolioStrategy``: the base of strategies that hold several assets and
decide target weights (the portfolio contract).

Bar timing is ``ExposureStrategy``'s, per asset: at bar t a subclass's
``target_weights()`` sees bars <= t of every asset and returns one weight per
asset (a fraction of equity; the rest is cash), or None to keep what is held.
At the open of t+1 (``next_open``, cheat-on-open) each target is sized on the
equity at that open, net of the costs of the turnover, sells before buys
(``portfolio_sizing``); the broker charges commission and slippage on each
fill. Only ``open[0]`` and the ``tradable`` flag of the new bar are read
there. An asset without a bar at t+1 (carried forward in the panel) is not
traded; those skipped orders are counted (``untradable_skips``).

The sum of absolute weights may not exceed ``leverage`` (default 1); a
negative weight is a short. ``every`` decides once every that many bars (the
rebalance cadence, which the equal-weight rebalanced benchmark copies).
"""

from __future__ import annotations

import reprlib
from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule, check_rules
from rlbt.engine.plugins.loader import PluginError
from rlbt.strategies.portfolio_extras import portfolio_extras
from rlbt.strategies.portfolio_sizing import Holdings, order_sizes

_MAX_LEVERAGE = 10.0
_TOLERANCE = 1e-9  # weights that sum to 1 + float noise are still fully invested


class PortfolioStrategy(bt.Strategy):
    """Subclasses implement ``target_weights() -> sequence of floats | None``."""

    portfolio: ClassVar[bool] = True
    """Tells the runner this strategy needs several assets (``--data a,b``)."""
    params: Any = (
        ("trade_start", None),  # datetime of the first bar allowed to decide
        ("every", 1),  # bars between decisions (the rebalance cadence)
        ("leverage", 1.0),  # largest sum of absolute weights
        ("min_trade", 0.0),  # skip trades smaller than this fraction of equity
        ("probe", None),  # callable(strategy) after each decision; for look-ahead checks
    )
    param_rules: ClassVar[dict[str, Rule]] = {
        "every": Rule(low=1, integer=True, example="21 (about monthly on daily bars)"),
        "leverage": Rule(low=0.0, open_low=True, high=_MAX_LEVERAGE, example="1"),
        "min_trade": Rule(low=0.0, high=1.0, example="0.001 (0.1% of equity)"),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        check_rules(type(self), dict(self.p._getkwargs()))
        if len(self.datas) < 2:
            raise ConfigError(f"{type(self).__name__} is a portfolio strategy: give it "
                              "several assets (--data orcl,nvda,yhoo).")
        self.assets = tuple(d._name for d in self.datas)
        self.n_assets = len(self.datas)
        self.min_history = 1
        start = self.p.trade_start
        self._start_num = bt.date2num(start) if start is not None else float("-inf")
        self._pending: np.ndarray | None = None
        self._decided = 0
        self.decisions: list[tuple[datetime, int, float]] = []
        self.targets: list[tuple[Any, ...]] = []
        self.held: list[tuple[Any, ...]] = []
        self.sent: list[tuple[Any, float]] = []  # (order, the open it was sized at)
        self.untradable_skips = 0
        self.values: list[float] = []  # portfolio value at each traded bar's close

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """Bars one decision spans (the purge gap and the least history)."""
        return 2

    @classmethod
    def with_defaults(cls, params: dict[str, Any]) -> dict[str, Any]:
        return {**dict(cls.params._getpairs()), **params}

    # -- subclass interface ---------------------------------------------------

    def target_weights(self) -> Any:
        """One weight per asset (``self.assets`` order) from bars <= now, or None."""
        raise NotImplementedError

    def action_index(self) -> int:
        """The decision's action index for actions.csv (agents override)."""
        return 0

    # -- backtrader hooks -----------------------------------------------------

    def start(self) -> None:
        if not self.cerebro.p.cheat_on_open:
            raise ConfigError(f"{type(self).__name__} sizes its orders at the next open and "
                              "needs bt.Cerebro(cheat_on_open=True); rlbt's runner sets it.")
        info = self.broker.getcommissioninfo(self.data)
        self._commission = float(info.p.commission)
        self._leverage = max(1.0, float(self.p.leverage))
        if self._leverage > info.get_leverage():
            self.broker.setcommission(commission=self._commission, leverage=self._leverage)

    def is_trading(self) -> bool:
        return self.data.datetime[0] >= self._start_num and len(self.data) >= self.min_history

    def next(self) -> None:
        if not self.is_trading():
            return
        when = self.data.datetime.datetime(0)
        self.values.append(self.broker.getvalue())
        self.held.append((when, *self.current_weights()))
        if self._decided % int(self.p.every) == 0:
            weights = self.target_weights()
            if weights is not None:
                checked = self.checked_weights(weights)
                self._pending = checked
                self.targets.append((when, *checked))
                self.decisions.append((when, self.action_index(), float(np.abs(checked).sum())))
        self._decided += 1
        if self.p.probe is not None:
            self.p.probe(self)

    def current_weights(self) -> np.ndarray:
        """Each asset's share of the portfolio value at this bar's close."""
        value = self.broker.getvalue()
        sizes = np.array([self.getposition(d).size for d in self.datas])
        closes = np.array([d.close[0] for d in self.datas])
        return sizes * closes / value if value > 0 else np.zeros(self.n_assets)

    def gross_exposure(self) -> float:
        """Sum of absolute weights now (the equity curve's ``position``)."""
        return float(np.abs(self.current_weights()).sum())

    def checked_weights(self, value: Any) -> np.ndarray:
        """``value`` as a weight vector, or a ``PluginError`` naming the bar and the rule."""
        try:
            weights = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            weights = np.empty(0)
        problem = None
        if weights.size != self.n_assets:
            problem = f"expected {self.n_assets} weights, one per asset ({', '.join(self.assets)})"
        elif not np.isfinite(weights).all():
            problem = "every weight must be a finite number"
        elif np.abs(weights).sum() > float(self.p.leverage) + _TOLERANCE:
            problem = (f"the absolute weights sum to {np.abs(weights).sum():.6g}, above "
                       f"--param leverage={self.p.leverage}")
        if problem is None:
            return weights
        raise PluginError(f"{type(self).__name__}.target_weights() returned "
                          f"{reprlib.repr(value)} at the bar of {self.data.datetime.datetime(0)}:"
                          f" {problem}.")

    def period_extras(self) -> dict[str, Any]:
        """weights.csv, targets.csv, turnover and costs paid (``portfolio_extras``)."""
        return portfolio_extras(self)

    def next_open(self) -> None:
        weights, self._pending = self._pending, None
        if weights is None:
            return
        prices = np.array([d.open[0] for d in self.datas])  # the new bar's open only
        tradable = np.array([d.openinterest[0] != 0.0 for d in self.datas])
        positions = [self.getposition(d) for d in self.datas]
        holdings = Holdings(self.broker.getcash(), np.array([p.size for p in positions]),
                            np.array([p.price for p in positions]), self._leverage)
        broker: Any = self.broker
        delta = order_sizes(holdings, weights, prices, tradable, float(broker.p.slip_perc),
                            self._commission, float(self.p.min_trade))
        wanted = np.abs(weights * holdings.equity(prices) - holdings.sizes * prices)
        self.untradable_skips += int((~tradable & (wanted > 0)).sum())
        for i in np.argsort(delta > 0, kind="stable"):  # sells (and no-ops) first, then buys
            self._send(i, float(delta[i]), float(prices[i]), holdings.sizes[i])

    def _send(self, i: int, delta: float, price: float, size: float) -> None:
        data = self.datas[i]
        if delta == 0.0:
            return
        if delta == -size:
            order = self.close(data=data)
        elif delta > 0:
            order = self.buy(data=data, size=delta)
        else:
            order = self.sell(data=data, size=-delta)
        if order is not None:
            self.sent.append((order, price))
