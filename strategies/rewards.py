"""``--param reward=...``: what the agent is paid for the action it took one bar ago.

Every reward is computed at bar t+1, when the portfolio value of t+1 is known,
from values up to that bar only (``AgentStrategy._store``). ``R`` below is the
log change of portfolio value from t to t+1, costs included.

- ``log_return`` (default): R x reward_scale, today's reward bit for bit.
- ``differential_sharpe[:ETA]`` (default ETA 0.01): Moody and Saffell's
  differential Sharpe ratio, D = (B dA - A dB / 2) / (B - A^2)^1.5 with
  dA = R - A, dB = R^2 - B (A, B the previous exponential moving moments of R,
  then moved by ETA); 0 while the variance B - A^2 is 0. Unit-free: not scaled.
- ``drawdown_penalty[:LAMBDA]`` (default 1): (R - LAMBDA x the increase of the
  drawdown from the running peak of value, as a fraction) x reward_scale.
- ``excess_over_hold``: (R - log(close t+1 / close t)) x reward_scale, the
  return over buy-and-hold on the same bar.

A reward plugin (``path/to/file.py:Class[:ARG...]``, ``package.module:Class``
or an entry point in the group ``rlbt.rewards``) is built as ``Class(*ARGS)``
(strings) once per strategy run, so it may keep state, and called as
``reward(strategy, previous_value, value) -> float`` at bar t+1: the values of
the portfolio at bars t and t+1; ``strategy.data`` is at bar t+1. Its number is
used as is (read ``strategy.p.reward_scale`` to scale it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.strategies.features import step_reward
from rlbt.strategies.spec_items import (
    Item,
    construct,
    find_class,
    no_more_args,
    number_arg,
    split_spec,
)

REWARD_GROUP = "rlbt.rewards"
PARAM = "reward"


class LogReturn:
    """``log_return``: the log change of portfolio value x reward_scale."""

    def __call__(self, strategy: Any, previous_value: float, value: float) -> float:
        return step_reward(previous_value, value, strategy.p.reward_scale)


class DifferentialSharpe:
    """``differential_sharpe[:ETA]``: Moody and Saffell's differential Sharpe ratio."""

    def __init__(self, eta: float) -> None:
        self.eta, self.mean, self.square = eta, 0.0, 0.0

    def __call__(self, strategy: Any, previous_value: float, value: float) -> float:
        r = math.log(value / previous_value)
        a, b = self.mean, self.square
        delta_a, delta_b = r - a, r * r - b
        variance = b - a * a
        self.mean, self.square = a + self.eta * delta_a, b + self.eta * delta_b
        if variance <= 0.0:  # no spread of returns yet: no ratio to move
            return 0.0
        return (b * delta_a - 0.5 * a * delta_b) / variance**1.5


class DrawdownPenalty:
    """``drawdown_penalty[:LAMBDA]``: log return minus LAMBDA x the drawdown's increase."""

    def __init__(self, weight: float) -> None:
        self.weight, self.peak, self.drawdown = weight, 0.0, 0.0

    def __call__(self, strategy: Any, previous_value: float, value: float) -> float:
        self.peak = max(self.peak, previous_value, value)
        drawdown = 1.0 - value / self.peak
        increase, self.drawdown = max(0.0, drawdown - self.drawdown), drawdown
        r = math.log(value / previous_value)
        return (r - self.weight * increase) * strategy.p.reward_scale


class ExcessOverHold:
    """``excess_over_hold``: log return minus the asset's log return on the same bar."""

    def __call__(self, strategy: Any, previous_value: float, value: float) -> float:
        close = strategy.data.close
        r = math.log(value / previous_value) - math.log(close[0] / close[-1])
        return r * strategy.p.reward_scale


def _plain(cls: type) -> Callable[[Item], Any]:
    def make(item: Item) -> Any:
        no_more_args(item, PARAM, 0)
        return cls()
    return make


def _sharpe(item: Item) -> Any:
    no_more_args(item, PARAM, 1)
    eta = number_arg(item, PARAM, 0, 0.01, low=0.0, open_low=True)
    if eta >= 1.0:
        raise ConfigError(f"--param reward: {item.text!r}: ETA must be in (0, 1), "
                          "e.g. differential_sharpe:0.01.")
    return DifferentialSharpe(eta)


def _drawdown(item: Item) -> Any:
    no_more_args(item, PARAM, 1)
    return DrawdownPenalty(number_arg(item, PARAM, 0, 1.0, low=0.0))


BUILTINS: dict[str, Callable[[Item], Any]] = {
    "log_return": _plain(LogReturn),
    "differential_sharpe": _sharpe,
    "drawdown_penalty": _drawdown,
    "excess_over_hold": _plain(ExcessOverHold),
}


HELP = {
    "log_return": "log_return  log value change x reward_scale (the default)",
    "differential_sharpe": "differential_sharpe[:ETA]  Moody and Saffell's, ETA 0.01, unscaled",
    "drawdown_penalty": "drawdown_penalty[:LAMBDA]  log return - LAMBDA x drawdown increase, 1",
    "excess_over_hold": "excess_over_hold  log return - the asset's log return on the bar",
}
PLUGIN_HELP = ("a plugin: path/to/file.py:Class[:ARG...], package.module:Class[:ARG...] or "
               f"an entry point in {REWARD_GROUP} (contract: rlbt.strategies.rewards)")


def parse_reward(spec: Any) -> Any:
    """A fresh reward object for ``spec`` (one name: rewards do not combine)."""
    items = split_spec(PARAM, spec)
    if len(items) > 1:
        raise ConfigError(f"--param reward={spec}: expected one reward, got {len(items)}.")
    item = items[0]
    factory = find_class(item, PARAM, REWARD_GROUP, BUILTINS)
    if item.name in BUILTINS:
        return factory(item)
    reward = construct(factory, item, PARAM)
    if not callable(reward):
        raise ConfigError(f"--param reward: {item.text!r} built {reward!r}, which is not "
                          "callable as reward(strategy, previous_value, value).")
    return reward


def check_reward_spec(value: Any) -> None:
    """The ``param_rules`` check: the spec parses."""
    parse_reward(value)
