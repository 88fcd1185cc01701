"""Strategy names -> classes. The engine never imports ``strategies`` (or
torch) statically: built-ins are lazy ``"module:Class"`` strings, resolved
only when asked for.

A strategy is named by a built-in name or ``package.module:Class``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from engine.compat import bt
from engine.errors import ConfigError, UnknownNameError

BUILTINS: dict[str, str] = {
    "buy-and-hold": "strategies.baselines:BuyAndHold",
    "sma-cross": "strategies.baselines:SmaCross",
    "mean-forecast": "strategies.baselines:MeanForecast",
    "dqn": "strategies.dqn_strategy:DQNStrategy",
    "qtable": "strategies.qtable_strategy:QTableStrategy",
}

# Params the runner sets itself; users never pass them with --param.
RUNNER_PARAMS = frozenset(
    {"trade_start", "seed", "agent", "learn", "explore", "progress", "probe"}
)


@dataclass(frozen=True)
class StrategyInfo:
    """What ``rlbt strategies`` shows about one strategy."""

    name: str
    source: str
    description: str
    params: dict[str, Any]


def resolve_strategy(name: str) -> type:
    """The ``bt.Strategy`` subclass named ``name``.

    :param name: a built-in name or ``package.module:Class``.
    :raises UnknownNameError: an unknown built-in name ("did you mean").
    :raises ConfigError: a ``module:Class`` that cannot be imported or is not a Strategy.
    """
    target = BUILTINS.get(name)
    if target is None:
        if ":" not in name:
            raise UnknownNameError("strategy", name, BUILTINS)
        target = name
    return _import_strategy(target)


def _import_strategy(target: str) -> type:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"Cannot import strategy module {module_name!r}: {exc}") from exc
    cls = getattr(module, attr, None)
    if cls is None:
        raise ConfigError(f"Module {module_name!r} has no attribute {attr!r}.")
    if not (isinstance(cls, type) and issubclass(cls, bt.Strategy)):
        raise ConfigError(f"{target!r} is not a backtrader Strategy subclass.")
    return cls


def strategy_params(cls: type) -> dict[str, Any]:
    """The user-settable params of a strategy class with their defaults."""
    pairs = cls.params._getpairs()  # type: ignore[attr-defined]
    return {k: v for k, v in pairs.items() if k not in RUNNER_PARAMS}


def describe(cls: type) -> str:
    """First line of the class docstring."""
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "(no description)"


def list_strategies() -> list[StrategyInfo]:
    """Every built-in strategy with its description and params."""
    infos = []
    for name, target in BUILTINS.items():
        cls = resolve_strategy(name)
        source = f"built-in ({target})"
        infos.append(StrategyInfo(name, source, describe(cls), strategy_params(cls)))
    return infos
