"""Strategy names -> classes. The engine never imports ``strategies`` (or
torch) statically: built-ins are lazy ``"module:Class"`` strings, resolved
only when asked for.

A strategy is named by a built-in name, an entry point in the group
``rlbt.strategies``, ``path/to/file.py:Class`` or ``package.module:Class``
(see ``rlbt.engine.plugins.loader``), or ``sb3:NAME``: a Stable-Baselines3
algorithm (``sb3:PPO``, ``sb3:sb3_contrib:QRDQN``) made into a learning
strategy by ``rlbt.strategies.sb3_strategy`` (the ``sb3`` extra).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError, RlbtError
from rlbt.engine.plugins.loader import Found, entry_points, find

STRATEGY_GROUP = "rlbt.strategies"
SB3_PREFIX = "sb3:"
_SB3_FACTORY = "rlbt.strategies.sb3_strategy:strategy_for"
_SB3_PACKAGES = ("stable_baselines3", "gymnasium")

BUILTINS: dict[str, str] = {
    "buy-and-hold": "rlbt.strategies.baselines:BuyAndHold",
    "sma-cross": "rlbt.strategies.baselines:SmaCross",
    "equal-weight": "rlbt.strategies.portfolio_rules:EqualWeightRebalanced",
    "equal-weight-hold": "rlbt.strategies.portfolio_rules:EqualWeightHold",
    "inverse-vol": "rlbt.strategies.portfolio_rules:InverseVolatility",
    "momentum-topk": "rlbt.strategies.portfolio_rules:MomentumTopK",
    "dqn-portfolio": "rlbt.strategies.portfolio_learners:DQNPortfolioStrategy",
    "a2c-portfolio": "rlbt.strategies.portfolio_allocators:A2CPortfolioStrategy",
    "pg-portfolio": "rlbt.strategies.portfolio_allocators:PGPortfolioStrategy",
    "mean-forecast": "rlbt.strategies.baselines:MeanForecast",
    "dqn": "rlbt.strategies.dqn_strategy:DQNStrategy",
    "qtable": "rlbt.strategies.qtable_strategy:QTableStrategy",
    "pg": "rlbt.strategies.pg_strategy:PolicyGradientStrategy",
    "policy-gradient": "rlbt.strategies.pg_strategy:PolicyGradientStrategy",
    "a2c": "rlbt.strategies.a2c_strategy:A2CStrategy",
    "agent": "rlbt.strategies.plugin_agent:PluginAgentStrategy",
    "lstm": "rlbt.strategies.lstm_strategy:LSTMStrategy",
    "forest": "rlbt.strategies.forest_strategy:ForestStrategy",
}

# Params the runner sets itself; users never pass them with --param.
RUNNER_PARAMS = frozenset(
    {"trade_start", "seed", "agent", "learn", "explore", "progress", "probe", "tensorboard",
     "assets"}
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

    :param name: a built-in name, an ``rlbt.strategies`` entry point,
        ``path/to/file.py:Class`` or ``package.module:Class``.
    :raises UnknownNameError: an unknown plain name ("did you mean").
    :raises ConfigError: a plugin that cannot be found or is not a Strategy.
    """
    return find_strategy(name).obj


def find_strategy(name: str) -> Found:
    """Like ``resolve_strategy``, with where the class came from."""
    if name.startswith(SB3_PREFIX):
        return Found(_sb3_strategy(name.removeprefix(SB3_PREFIX)), "stable-baselines3")
    found = find(name, kind="strategy", group=STRATEGY_GROUP, builtins=BUILTINS)
    if not (isinstance(found.obj, type) and issubclass(found.obj, bt.Strategy)):
        raise ConfigError(
            f"strategy {name!r} is {found.obj!r}, not a backtrader Strategy subclass "
            "(class MyStrategy(bt.Strategy): ...)."
        )
    return found


def _sb3_strategy(spec: str) -> type:
    """The class made for ``sb3:SPEC``; imported by name, so the engine never
    imports torch or SB3 unless asked for one."""
    if not spec:
        raise ConfigError("strategy 'sb3:' needs an algorithm: sb3:PPO, sb3:A2C, sb3:DQN, "
                          "or sb3:package.module:Class.")
    module_name, _, attr = _SB3_FACTORY.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in _SB3_PACKAGES:
            raise
        raise ConfigError(f"strategy 'sb3:{spec}' needs {package}, which is not installed: "
                          "pip install 'rlbt[sb3]'.") from exc
    made: type = getattr(module, attr)(spec)
    return made


def strategy_params(cls: type) -> dict[str, Any]:
    """The user-settable params of a strategy class with their defaults."""
    pairs = cls.params._getpairs()  # type: ignore[attr-defined]
    return {k: v for k, v in pairs.items() if k not in RUNNER_PARAMS}


def describe(cls: type) -> str:
    """First paragraph of the class docstring, on one line."""
    doc = (cls.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else "(no description)"


def list_strategies() -> list[StrategyInfo]:
    """Built-in strategies and those installed as entry points; a plugin that
    fails to load is listed with its error instead of its description."""
    names = [*BUILTINS, *sorted(set(entry_points(STRATEGY_GROUP)) - set(BUILTINS))]
    infos = []
    for name in names:
        try:
            found = find_strategy(name)
        except RlbtError as exc:
            infos.append(StrategyInfo(name, "entry point", f"(failed to load: {exc})", {}))
            continue
        cls = found.obj
        infos.append(StrategyInfo(name, found.source, describe(cls), strategy_params(cls)))
    return infos
