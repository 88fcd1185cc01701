"""Training learning strategies: ``--episodes`` passes over the train slice
with one agent object, which the evaluation runs then reuse.

A learning strategy is any class with ``build_agent(params, seed=, device=)``
and ``load_agent(path, params, device=)`` classmethods and an ``agent`` param
(``rlbt.strategies.learning.LearningStrategy``). The engine only calls these by
name, so it never imports torch or the agents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from rlbt.engine.cerebro import run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.engine.contracts import SavesItself, StrategyContract
from rlbt.engine.errors import ConfigError
from rlbt.engine.output.progress import EpisodeBar


def make_agent(cls: type, params: dict[str, Any], config: BacktestConfig) -> Any:
    """The agent of this run: loaded from ``config.load`` or built fresh."""
    owner: Any = cls  # a LearningStrategy (checked where it was resolved)
    if config.load:
        agent = owner.load_agent(config.load, params, device=config.device, threads=config.threads)
    else:
        agent = owner.build_agent(
            params, seed=config.seed, device=config.device, threads=config.threads
        )
    if config.save and not isinstance(agent, SavesItself):
        raise ConfigError(f"--save {config.save}: this strategy's agent has no save().")
    return agent


def train_agent(
    cls: type,
    params: dict[str, Any],
    agent: Any,
    frame: pd.DataFrame,
    config: BacktestConfig,
    start_bar: Callable[[str, int], EpisodeBar],
) -> pd.DataFrame:
    """Run ``config.episodes`` exploring, learning passes over ``frame``.

    :return: one row per episode: return, loss, q_mean, epsilon, final value.
    """
    rows = []
    for episode in range(1, config.episodes + 1):
        bar = start_bar(f"episode {episode}/{config.episodes}", len(frame))
        run_params = {**params, "agent": agent, "learn": True, "explore": True, "progress": bar}
        # Training passes read only the episode stats: no analyzers (~17 us a bar).
        strat = run_strategy(cls, run_params, frame, None, config, analyzers=False)
        stats = strat.episode_stats()
        bar.finish(stats)
        rows.append({"episode": episode, **stats, "final_value": strat.broker.getvalue()})
    return pd.DataFrame(rows)


def pretrain_agent(
    contract: StrategyContract, params: dict[str, Any], agent: Any, frame: pd.DataFrame
) -> pd.DataFrame:
    """Offline pre-training on the train slice, for strategies that offer it
    (``contracts.Pretrains``); empty otherwise."""
    if not contract.pretrains:
        return pd.DataFrame()
    owner: Any = contract.cls
    history: pd.DataFrame = owner.pretrain(agent, frame, params)
    return history


def evaluation_params(
    params: dict[str, Any], agent: Any, *, learn: bool
) -> dict[str, Any]:
    """Params of a greedy run with ``agent`` (learning online when ``learn``)."""
    return {**params, "agent": agent, "learn": learn, "explore": False}
