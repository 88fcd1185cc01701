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

from datetime import datetime
from typing import Any

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError

# Keeps fills strictly inside cash: float rounding in price * size * (1 + fee)
# could otherwise exceed the cash by 1e-12 and get the order rejected.
_SIZING_MARGIN = 1e-9


class ExposureStrategy(bt.Strategy):
    """Base class: subclasses implement ``decide() -> int`` (an index into
    ``positions``); this class records decisions and trades them at the next
    open."""

    # backtrader's metaclass turns this tuple into a params object; Any lets
    # subclasses declare their own tuples.
    params: Any = (
        ("trade_start", None),  # datetime of the first bar allowed to decide
        ("positions", (0.0, 1.0)),  # action index -> target exposure
        ("probe", None),  # callable(strategy) after each decision; for look-ahead checks
    )

    def __init__(self) -> None:
        self.decisions: list[tuple[datetime, int, float]] = []
        self.rejected_orders = 0
        self._pending: float | None = None
        self._exposure = 0.0
        # Bars a subclass needs before its first decision (indicators that
        # backtrader knows about raise its minimum period on their own).
        self.min_history = 1
        start = self.p.trade_start
        self._start_num = bt.date2num(start) if start is not None else float("-inf")
        self._validate_positions()

    def _validate_positions(self) -> None:
        positions = tuple(self.p.positions)
        if len(positions) < 2 or any(not -10.0 <= float(p) <= 10.0 for p in positions):
            raise ConfigError(
                f"positions={positions!r}: expected at least two target exposures "
                "between -10 and 10, e.g. 0,1 (flat/long) or 0,1,-1."
            )
        self.exposure_levels = tuple(float(p) for p in positions)

    def start(self) -> None:
        if not self.cerebro.p.cheat_on_open:
            raise ConfigError(
                f"{type(self).__name__} sizes its orders at the next open and needs "
                "bt.Cerebro(cheat_on_open=True); rlbt's runner sets it for you."
            )

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
        action = int(self.decide())
        if not 0 <= action < len(self.exposure_levels):
            raise ValueError(f"{type(self).__name__}.decide() returned {action}")
        exposure = self.exposure_levels[action]
        self.decisions.append((self.data.datetime.datetime(0), action, exposure))
        self._pending = exposure
        if self.p.probe is not None:
            self.p.probe(self)

    def next_open(self) -> None:
        target, self._pending = self._pending, None
        if target is None or target == self._exposure:
            return
        self._exposure = target
        if target == 0.0:
            self.close()
            return
        delta = self._target_size(target) - self.position.size
        if delta > 0:
            self.buy(size=delta)
        elif delta < 0:
            self.sell(size=-delta)

    def _target_size(self, target: float) -> float:
        """Shares worth ``target`` x equity at this bar's open, after costs."""
        open_price = self.data.open[0]  # the only field of the new bar we may read
        equity = self.broker.getcash() + self.position.size * open_price
        broker: Any = self.broker
        commission = broker.getcommissioninfo(self.data).p.commission
        fill_price = open_price * (1.0 + broker.p.slip_perc) + broker.p.slip_fixed
        return target * equity * (1.0 - _SIZING_MARGIN) / (fill_price * (1.0 + commission))

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Margin, order.Rejected):
            self.rejected_orders += 1
