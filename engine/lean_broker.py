"""``LeanBroker``: backtrader's ``BackBroker`` without a copy per notification.

``BackBroker.notify`` queues a clone of the order at every status change
(submitted, accepted, completed), so that a strategy's ``notify_order`` sees
each state. When no one reads those intermediate states (the strategy does not
override ``notify_order``; rlbt's analyzers read only the final state), the
copies are pure cost: an exploring agent sends an order on about every other
bar. This broker queues the order itself, once, until it is drained; the
strategy then books its trades from the executions since the last drain,
exactly as it would from the clones (``markpending`` marks the same bits).
"""

from __future__ import annotations

from typing import Any

from rlbt.engine.compat import bt


class LeanBroker(bt.brokers.BackBroker):  # type: ignore[misc]
    def start(self) -> None:
        super().start()
        self._queued: set[int] = set()

    def notify(self, order: Any) -> None:
        order.executed.markpending()  # what clone() does: executions since the last notice
        if id(order) not in self._queued:
            self._queued.add(id(order))
            self.notifs.append(order)

    def get_notification(self) -> Any:
        order = super().get_notification()
        if order is not None:
            self._queued.discard(id(order))
        return order


def reads_order_states(strategy_cls: type) -> bool:
    """True when the strategy overrides ``notify_order`` and so needs every state."""
    return getattr(strategy_cls, "notify_order", None) is not bt.Strategy.notify_order
