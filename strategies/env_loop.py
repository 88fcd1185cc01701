"""Backtrader's loop turned inside out, for ``rlbt.gym.BarEnv``.

Backtrader owns its loop (``cerebro.run()`` calls the strategy); a Gymnasium
env must own its own (the caller calls ``step``). ``EnvRun`` runs the
backtrader run in a worker thread with a ``HandoverAgent`` as the strategy's
agent: at each decision bar the strategy asks it to ``act(obs)``, and it hands
the bar to the env through a size-1 queue and blocks on another for the
action. Exactly one side runs at any time, so the run is as deterministic as
a plain ``rlbt run`` and needs no locks.

The reward is the one the bridge gives every agent: ``AgentStrategy._store``
calls ``observe`` with it (and with ``truncated`` on the last bar) just before
``act``. Nothing here is on rlbt's own hot path: only BarEnv builds these.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.cerebro import run_strategy
from rlbt.engine.config import BacktestConfig

_JOIN_SECONDS = 30.0  # a stopped worker unwinds one bar; this only bounds a wedged plugin
_names = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """What the env sees at one decision bar (bars <= this one only)."""

    obs: np.ndarray
    reward: float
    """The reward of the previous action (0.0 at the first bar, which has none)."""
    truncated: bool
    """The last bar of the data: the episode ends here."""
    info: dict[str, Any] = field(default_factory=dict)


class _Stop(BaseException):
    """Raised inside ``act`` to unwind ``cerebro.run()`` when the env stops the
    run; a BaseException so that no ``except Exception`` in strategy or plugin
    code can swallow it."""


_STOP = object()  # sent instead of an action


class HandoverAgent:
    """The agent the strategy sees. ``observe`` keeps the reward of the last
    action; ``act`` hands (obs, reward, info) to the env and waits for its action."""

    def __init__(self, bars: queue.Queue[Any], actions: queue.Queue[Any]) -> None:
        self._bars, self._actions = bars, actions
        self._strategy: Any = None
        self._reward, self._truncated = 0.0, False

    def bind(self, strategy: Any) -> None:
        """The strategy this agent serves (its broker and bar fill ``info``)."""
        self._strategy = strategy

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        self._reward, self._truncated = float(reward), bool(truncated)

    def act(self, obs: np.ndarray, explore: bool = True) -> int:
        self._bars.put(("bar", Bar(obs, self._reward, self._truncated, self._info())))
        action = self._actions.get()
        if action is _STOP:
            raise _Stop
        return int(action)

    def _info(self) -> dict[str, Any]:
        strat = self._strategy
        broker = strat.broker
        return {
            "datetime": strat.data.datetime.datetime(0),
            "value": float(broker.getvalue()),
            "cash": float(broker.getcash()),
            "position": float(strat.position.size),
            "exposure": float(strat._exposure),  # the target held over this bar
        }


class _Binds:
    """Mixin: tells the ``HandoverAgent`` which strategy instance it serves."""

    def start(self) -> None:
        super().start()  # type: ignore[misc]
        self.p.agent.bind(self)  # type: ignore[attr-defined]


@functools.cache
def bound_class(cls: type) -> type:
    """``cls`` with the ``_Binds`` mixin (one class per strategy class)."""
    return type(f"Env{cls.__name__}", (_Binds, cls), {})


class EnvRun:
    """One backtrader run in a worker thread, driven bar by bar."""

    def __init__(self, play: Callable[[HandoverAgent], Any]) -> None:
        self._bars: queue.Queue[Any] = queue.Queue(maxsize=1)  # worker -> env
        self._actions: queue.Queue[Any] = queue.Queue(maxsize=1)  # env -> worker
        self._stopping = False
        agent = HandoverAgent(self._bars, self._actions)
        # daemon: an env dropped mid-episode must not keep the interpreter alive
        self.thread = threading.Thread(
            target=self._work, args=(play, agent), daemon=True, name=f"rlbt-barenv-{next(_names)}"
        )

    def start(self) -> Bar:
        """Start the run; the first decision bar."""
        self.thread.start()
        return self._receive()

    def send(self, action: int) -> Bar:
        """Trade ``action`` at the next open; the next decision bar."""
        self._actions.put(action)
        return self._receive()

    def stop(self) -> None:
        """End the run wherever it is and wait for the thread (idempotent)."""
        self._stopping = True
        if not self.thread.is_alive():
            return
        with contextlib.suppress(queue.Full):  # full: already sent, the worker has it
            self._actions.put_nowait(_STOP)
        with contextlib.suppress(queue.Empty):  # a worker cut off mid-bar may be handing one over
            self._bars.get_nowait()
        self.thread.join(_JOIN_SECONDS)

    def _receive(self) -> Bar:
        kind, payload = self._bars.get()
        if kind == "bar":
            return payload  # type: ignore[no-any-return]
        self.thread.join(_JOIN_SECONDS)
        if kind == "error":
            # The strategy's own exception, with its traceback from the worker.
            raise payload
        raise RuntimeError(
            "the backtrader run ended without reaching the last bar's "
            "truncation; BarEnv needs a strategy that decides every bar."
        )

    def _work(self, play: Callable[[HandoverAgent], Any], agent: HandoverAgent) -> None:
        try:
            play(agent)
        except _Stop:
            return
        except BaseException as exc:  # handed to the env, which re-raises it
            if not self._stopping:
                self._bars.put(("error", exc))
            return
        if not self._stopping:
            self._bars.put(("done", None))


def player(
    cls: type,
    params: dict[str, Any],
    frame: pd.DataFrame,
    start: pd.Timestamp | None,
    config: BacktestConfig,
) -> Callable[[HandoverAgent], Any]:
    """The worker's job: ``cls`` on ``frame`` exactly as the runner runs it
    (``run_strategy``: same broker, costs, slippage; decisions from ``start``).

    ``learn=True`` makes the bridge call ``observe`` with each reward; the
    handover agent learns nothing. No analyzers: the env reads the broker
    (market orders then fill through ``TrainingBroker``, bit for bit).
    """
    bound = bound_class(cls)

    def play(agent: HandoverAgent) -> Any:
        run_params = {**params, "agent": agent, "learn": True, "explore": False}
        return run_strategy(bound, run_params, frame, start, config, analyzers=False)

    return play
