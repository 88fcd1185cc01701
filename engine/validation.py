"""Model selection without the test slice: the last part of the train slice
validates, and the agent state that scores best there is the one tested.

The train slice splits in time into a fit part, a purge gap and a validation
part. The agent trains on the fit part only. After every episode it acts
greedily, without learning, over the validation part (with the bars before it
as history, so its first observation is complete); the purge gap, as long as
the strategy's observation window and horizon, keeps the last training
transitions from reaching into validation bars. ``--select best`` restores
the state of the episode with the best validation Sharpe before the test
slice; ``last`` keeps the final one. Nothing of the test slice is read.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rlbt.engine.errors import ConfigError

SELECT_CHOICES = ("best", "last")
VAL_METRIC = "sharpe"  # what "best" means; total_return is recorded beside it
MIN_VAL_BARS = 20
MIN_DECISION_BARS = 2  # a slice must leave at least one transition after its lookback


@dataclass(frozen=True)
class ValidationSplit:
    """The fit part of the train slice and where validation starts (None: no validation)."""

    fit: pd.DataFrame
    start: pd.Timestamp | None
    purge: int = 0


def lookback(cls: type, params: dict[str, Any]) -> int:
    """Bars an observation (and its label) spans: the purge gap's length, and
    the history a slice needs before its first decision. The strategy's own
    ``lookback_bars(params)`` when it declares one (every ``ExposureStrategy``
    does), else read from the usual ``window`` / ``window_size`` / ``horizon``."""
    declared = getattr(cls, "lookback_bars", None)
    if callable(declared):
        return int(declared(params))
    merged = cls.with_defaults(params) if hasattr(cls, "with_defaults") else params
    window = max(int(merged.get("window", 0) or 0), int(merged.get("window_size", 0) or 0))
    return max(window, 1) + int(merged.get("horizon", 1) or 1)


def lookback_source(cls: type, params: dict[str, Any]) -> str:
    """The params that set the lookback as the user would type them
    (``--param window=16``), for messages; empty when none is known."""
    names = getattr(cls, "lookback_params", None)
    if names is None:
        names = [n for n in ("window", "window_size", "horizon") if n in params]
    merged = {**_defaults(cls), **params}
    return ", ".join(f"--param {n}={merged[n]}" for n in names if n in merged)


def _defaults(cls: type) -> dict[str, Any]:
    pairs = getattr(getattr(cls, "params", None), "_getpairs", None)
    return dict(pairs()) if callable(pairs) else {}


def check_history(cls: type, params: dict[str, Any], bars: int, where: str, fix: str) -> None:
    """Refuse a slice too short for the strategy's lookback: it needs the
    lookback's bars of history and ``MIN_DECISION_BARS`` decisions after them.

    :param bars: bars in the slice.
    :param where: the slice, for the message ("the train slice of window 2").
    :param fix: the options that change the slice ("--split or --train-end").
    """
    need = lookback(cls, params) + MIN_DECISION_BARS
    if bars >= need:
        return
    source = lookback_source(cls, params)
    driver = f" (set by {source})" if source else ""
    raise ConfigError(
        f"{where} has {bars} bars, but the strategy looks back {need - MIN_DECISION_BARS} "
        f"bars{driver} and needs {need} (the lookback and {MIN_DECISION_BARS} decisions). "
        f"Use a smaller {_first(source) or 'window'}, more data, or {fix}."
    )


def _first(source: str) -> str:
    return source.split("=", 1)[0] if source else ""


def validation_split(
    train: pd.DataFrame, fraction: float, purge: int, source: str = ""
) -> ValidationSplit:
    """Split ``train`` into fit part, purge gap and the last ``fraction`` of bars.

    :param source: the params that set ``purge`` (``lookback_source``), for messages.
    """
    if fraction <= 0:
        return ValidationSplit(train, None)
    n_val = int(round(len(train) * fraction))
    n_fit = len(train) - n_val - purge
    if n_val < MIN_VAL_BARS or n_fit < max(MIN_VAL_BARS, purge + 2):
        driver = f" (the lookback of {source})" if source else ""
        raise ConfigError(
            f"--val {fraction:g}: the train slice has {len(train)} bars, which leaves "
            f"{n_val} for validation and {max(n_fit, 0)} for training after a purge gap of "
            f"{purge}{driver}; validation needs at least {MIN_VAL_BARS} and training "
            f"{max(MIN_VAL_BARS, purge + 2)}. Use a "
            f"smaller --val{', a smaller ' + _first(source) if source else ''}, more data, "
            "or --val 0 (no validation)."
        )
    return ValidationSplit(train.iloc[:n_fit], pd.Timestamp(train.index[n_fit + purge]), purge)


def score(metrics: dict[str, float]) -> float:
    """The validation score of one episode: its Sharpe. Returns without
    variance have no Sharpe (the metrics show 0): a steady gain then ranks
    above any Sharpe, a steady loss below, and staying flat scores 0."""
    if metrics.get("volatility") == 0.0:
        growth = float(metrics.get("total_return", 0.0))
        return math.inf if growth > 0 else (-math.inf if growth < 0 else 0.0)
    value = float(metrics.get(VAL_METRIC, math.nan))
    return value if math.isfinite(value) else -math.inf


@dataclass
class Selector:
    """Keeps the agent state of the best-scoring episode and restores it."""

    agent: Any
    mode: str
    best_score: float = -math.inf
    best_episode: int | None = None
    notes: list[str] = field(default_factory=list)
    _state: Any = None

    def __post_init__(self) -> None:
        if self.mode == "best" and not _snapshots(self.agent):
            self.notes.append("--select best needs an agent with state_dict() and "
                              "load_state_dict(); this one keeps its last episode's state.")
            self.mode = "last"

    def offer(self, episode: int, metrics: dict[str, float]) -> None:
        value = score(metrics)
        if self.best_episode is None or value > self.best_score:
            self.best_score, self.best_episode = value, episode
            if self.mode == "best":
                self._state = copy.deepcopy(self.agent.state_dict())

    def restore(self, episodes: int) -> int:
        """Put the chosen state back; returns the episode it came from."""
        if self.mode == "best" and self._state is not None:
            self.agent.load_state_dict(self._state)
            return int(self.best_episode or episodes)
        return episodes


def _snapshots(agent: Any) -> bool:
    return callable(getattr(agent, "state_dict", None)) and callable(
        getattr(agent, "load_state_dict", None))
