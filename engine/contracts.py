"""The typed contract between the engine and a strategy class.

Any ``bt.Strategy`` subclass is a valid strategy. A *learning* strategy also
builds and trains its own agent, and may offer more; the engine asks which of
these a class has once, where the strategy is resolved (``check_strategy``),
and from then on reads the answer instead of probing attributes:

- ``LearningStrategy``: ``build_agent`` and ``load_agent`` classmethods and
  ``episode_stats()`` on the instance (``rlbt.strategies.learning`` has them);
- ``Pretrains``: a ``pretrain(agent, frame, params)`` classmethod, offline
  fitting on the train slice before the episodes;
- ``TrainsItself``: a ``train_episode(agent, frame, params, config, steps,
  progress)`` classmethod that runs one episode's training itself (through an
  env, ``sb3:PPO``) instead of a learning backtrader pass over ``frame``;
- ``PeriodExtras``: ``period_extras()`` on the instance, strategy-specific
  metrics and tables for each period (forecast quality, ...).

Agents are opaque here (the engine never imports torch); ``SavesItself`` is
all it needs of one for ``--save``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from rlbt.engine.errors import ConfigError


@runtime_checkable
class LearningStrategy(Protocol):
    """A strategy class that creates, trains and reloads its own agent."""

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> Any:
        """A fresh agent for these params."""
        ...

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> Any:
        """An agent from a checkpoint, checked against these params."""
        ...

    def episode_stats(self) -> dict[str, float]:
        """Per-episode figures (return, loss, ...) for ``training.csv``."""
        ...


@runtime_checkable
class Pretrains(Protocol):
    """A learning strategy with offline pre-training on the train slice."""

    @classmethod
    def pretrain(cls, agent: Any, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        """Fit ``agent`` on ``frame``; one row per epoch (empty when skipped)."""
        ...


@runtime_checkable
class TrainsItself(Protocol):
    """A learning strategy whose episodes are not online passes of the bridge:
    it trains ``agent`` for ``steps`` env steps on ``frame`` itself."""

    @classmethod
    def train_episode(
        cls, agent: Any, frame: pd.DataFrame, params: dict[str, Any], config: Any,
        steps: int, progress: Any,
    ) -> dict[str, float]:
        """Train for ``steps`` steps on ``frame`` with the run's ``config``; the
        episode's figures for ``training.csv``. ``progress(bars, stats)`` may be called."""
        ...


@runtime_checkable
class PeriodExtras(Protocol):
    """A strategy that adds metrics and tables to each period's results."""

    def period_extras(self) -> dict[str, Any]:
        """``{"metrics": {...}, "tables": {name: DataFrame}}``."""
        ...


@runtime_checkable
class SavesItself(Protocol):
    """An agent that can write its own checkpoint."""

    def save(self, path: str | Path) -> None:
        """Write a checkpoint to ``path`` atomically."""
        ...


_LEARNING = ("build_agent", "load_agent", "episode_stats")


@dataclass(frozen=True)
class StrategyContract:
    """What the engine may call on one strategy class, decided once."""

    cls: type
    learning: bool
    pretrains: bool
    period_extras: bool
    trains_itself: bool = False


def check_strategy(name: str, cls: type) -> StrategyContract:
    """Which contracts ``cls`` meets; a half-kept one is an error naming what
    is missing.

    :raises ConfigError: a class with some of the learning methods but not all.
    """
    present = [m for m in _LEARNING if callable(getattr(cls, m, None))]
    if present and len(present) < len(_LEARNING):
        missing = ", ".join(m for m in _LEARNING if m not in present)
        raise ConfigError(
            f"strategy {name!r} has {', '.join(present)} but not {missing}: a learning "
            "strategy needs build_agent, load_agent and episode_stats (subclass "
            "rlbt.strategies.learning.LearningStrategy to get them)."
        )
    learning = isinstance(cls, LearningStrategy)
    if not learning and callable(getattr(cls, "pretrain", None)):
        raise ConfigError(f"strategy {name!r} has pretrain() but is not a learning strategy.")
    return StrategyContract(
        cls=cls,
        learning=learning,
        pretrains=learning and isinstance(cls, Pretrains),
        trains_itself=learning and isinstance(cls, TrainsItself),
        period_extras=isinstance(cls, PeriodExtras),
    )
