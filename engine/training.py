"""Training learning strategies: ``--episodes`` passes over the train slice
with one agent object, which the evaluation runs then reuse.

A learning strategy is any class with ``build_agent(params, seed=, device=)``
and ``load_agent(path, params, device=)`` classmethods and an ``agent`` param
(``strategies.learning.LearningStrategy``). The engine only calls these by
name, so it never imports torch or the agents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from engine.cerebro import run_strategy
from engine.config import BacktestConfig
from engine.errors import ConfigError
from engine.progress import EpisodeBar

RUNNER_OWNED = ("agent", "learn", "explore", "progress")


def is_learning(cls: type) -> bool:
    """True for strategies that build and train their own agent."""
    return callable(getattr(cls, "build_agent", None))


def make_agent(cls: type, params: dict[str, Any], config: BacktestConfig) -> Any:
    """The agent of this run: loaded from ``config.load`` or built fresh."""
    owner: Any = cls
    if config.load:
        agent = owner.load_agent(config.load, params, device=config.device, threads=config.threads)
    else:
        agent = owner.build_agent(
            params, seed=config.seed, device=config.device, threads=config.threads
        )
    if config.save and not callable(getattr(agent, "save", None)):
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
    cls: type, params: dict[str, Any], agent: Any, frame: pd.DataFrame
) -> pd.DataFrame:
    """Offline pre-training on the train slice, for strategies that offer it
    (``pretrain(agent, frame, params) -> DataFrame``); empty otherwise."""
    pretrain = getattr(cls, "pretrain", None)
    if not callable(pretrain):
        return pd.DataFrame()
    history: pd.DataFrame = pretrain(agent, frame, params)
    return history


def evaluation_params(
    params: dict[str, Any], agent: Any, *, learn: bool
) -> dict[str, Any]:
    """Params of a greedy run with ``agent`` (learning online when ``learn``)."""
    return {**params, "agent": agent, "learn": learn, "explore": False}
