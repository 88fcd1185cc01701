"""``ExposureStrategy``: the base of every rlbt strategy that decides, bar by
bar, a target exposure (a fraction of equity: 0 flat, 1 long, -1 short).

Bar timing (DESIGN.md): at bar t the subclass's ``decide()`` sees bars <= t
only and returns an action index into ``positions``. The order is sized and
sent in ``next_open`` of bar t+1, when backtrader has revealed that bar's open
and nothing else of it, and fills at that open. That is a notional order
("put this fraction of equity in at the next open"), so sizing never needs a
price the strategy could not know and never over-spends cash. It needs
``Cerebro(cheat_on_open=True)``, which the runner always sets; the strategy
refuses to run without it. The strategy reads only ``open[0]`` in
``next_open``; reading any other field of the new bar there would be
look-ahead.

Bars before ``trade_start`` are history: indicators warm up on them but no
decision is taken, so a test slice can start trading on its first bar.
"""

from __future__ import annotations

import operator
import reprlib
from datetime import datetime
from typing import Any, ClassVar

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule, check_rules
from rlbt.engine.plugins.loader import PluginError
from rlbt.strategies.sizing import Book, target_shares

_MAX_EXPOSURE = 10.0


class ExposureStrategy(bt.Strategy):
    """Base class: subclasses implement ``decide() -> int`` (an index into
    ``positions``); this class records decisions and trades them at the next
    open."""

    # backtrader's metaclass turns this tuple into a params object; Any lets
    # subclasses declare their own tuples.
    params: Any = (
        ("trade_start", None),  # datetime of the first bar allowed to decide
        ("positions", (0.0, 1.0)),  # action index -> target exposure
        ("rebalance", None),  # drift of exposure from its target that trades back to it
        ("probe", None),  # callable(strategy) after each decision; for look-ahead checks
    )
    # Checked by the runner before any bar (rlbt.engine.params) and again here,
    # for strategies built directly in a Cerebro.
    param_rules: ClassVar[dict[str, Rule]] = {
        "positions": Rule(low=-_MAX_EXPOSURE, high=_MAX_EXPOSURE, min_items=2, distinct=True,
                          example="0,1 (flat/long) or 0,1,-1"),
        "rebalance": Rule(low=0.0, open_low=True, none_ok=True, example="0.05 (trade back "
                          "when exposure is 5% of equity off)"),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ()
    """The params that set ``lookback_bars`` (named when the data is too short)."""

    def __init__(self) -> None:
        self.decisions: list[tuple[datetime, int, float]] = []
        self._pending: float | None = None
        self._exposure = 0.0  # target of the last order
        self._last_order: Any = None
        self._resync = False  # the last order did not fill: trade to the target again
        # Bars a subclass needs before its first decision (indicators that
        # backtrader knows about raise its minimum period on their own).
        self.min_history = 1
        start = self.p.trade_start
        self._start_num = bt.date2num(start) if start is not None else float("-inf")
        self._validate_positions()

    def _validate_positions(self) -> None:
        check_rules(type(self), dict(self.p._getkwargs()))
        self.exposure_levels = tuple(float(p) for p in self.p.positions)
        # Longs beyond 1x borrow: backtrader's leverage ties up 1/L of the value.
        self.leverage = max(1.0, *self.exposure_levels)

    def start(self) -> None:
        if not self.cerebro.p.cheat_on_open:
            raise ConfigError(
                f"{type(self).__name__} sizes its orders at the next open and needs "
                "bt.Cerebro(cheat_on_open=True); rlbt's runner sets it for you."
            )
        info = self.broker.getcommissioninfo(self.data)
        self._commission = float(info.p.commission)
        if self.leverage > info.get_leverage():
            self.broker.setcommission(commission=self._commission, leverage=self.leverage)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """Bars one decision (and the reward or label it is scored on) spans:
        the purge gap before validation, and the least history a slice needs.
        Two here: a return needs two closes. Subclasses with windows override."""
        return 2

    @classmethod
    def with_defaults(cls, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` over the class's defaults: what an instance's ``self.p``
        will hold, known before one exists (agent factories need it)."""
        return {**dict(cls.params._getpairs()), **params}

    # -- subclass interface ---------------------------------------------------

    def decide(self) -> int:
        """Return the action index for the current bar (bars <= now only)."""
        raise NotImplementedError

    # -- backtrader hooks -----------------------------------------------------

    def is_trading(self) -> bool:
        """True from ``trade_start`` on, once ``min_history`` bars exist; earlier
        bars are warm-up history."""
        return self.data.datetime[0] >= self._start_num and len(self.data) >= self.min_history

    def next(self) -> None:
        if not self.is_trading():
            return
        action = self.checked_action(self.decide())
        exposure = self.exposure_levels[action]
        self.decisions.append((self.data.datetime.datetime(0), action, exposure))
        self._pending = exposure
        if self.p.probe is not None:
            self.p.probe(self)

    def checked_action(self, value: Any, source: str | None = None) -> int:
        """``value`` as an action index, or a ``PluginError`` naming ``source``
        (default: this class's ``decide()``), the bar, the value and the allowed
        range (plugin code returns actions)."""
        n = len(self.exposure_levels)
        try:
            if isinstance(value, bool):
                raise TypeError(value)
            action = operator.index(value)  # int, NumPy integer, 0-d integer array
        except TypeError:
            action = -1
        if 0 <= action < n:
            return action
        when = self.data.datetime.datetime(0)
        shown = when.date() if when.time() == datetime.min.time() else when
        levels = ",".join(map(str, self.exposure_levels))
        source = source or f"{type(self).__name__}.decide()"
        raise PluginError(
            f"{source} returned {reprlib.repr(value)} at the bar of {shown}: expected an "
            f"integer action index 0..{n - 1} (one per --param positions={levels})."
        )

    def next_open(self) -> None:
        target, self._pending = self._pending, None
        if self._last_order is not None and self._last_order.status != bt.Order.Completed:
            self._resync, self._last_order = True, None
        if target is None:
            if self.p.rebalance is None and not self._resync:
                return
            target = self._exposure
        elif target == self._exposure and self.p.rebalance is None and not self._resync:
            return
        self._trade_to(target)

    def _trade_to(self, target: float) -> None:
        """Send the order that makes ``target`` x equity at this bar's open."""
        open_price = self.data.open[0]  # the only field of the new bar we may read
        position = self.position
        book = Book(self.broker.getcash(), position.size, position.price, self.leverage)
        if target == self._exposure and not self._resync:  # rebalancing: past the tolerance
            equity = book.equity(open_price)
            drift = position.size * open_price / equity - target if equity > 0 else 0.0
            if abs(drift) <= float(self.p.rebalance):
                return
        self._exposure, self._resync = target, False
        if target == 0.0:
            self._last_order = self.close() if position.size else None
            return
        broker: Any = self.broker
        delta = target_shares(book, target, open_price, broker.p.slip_perc,
                              self._commission) - position.size
        if delta > 0:
            self._last_order = self.buy(size=delta)
        elif delta < 0:
            self._last_order = self.sell(size=-delta)
