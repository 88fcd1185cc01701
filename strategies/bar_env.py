"""``BarEnv``: a Gymnasium env whose steps are the bars of a real backtrader run.

Each ``step(action)`` is one bar of ``AgentStrategy`` (the bridge every rlbt
agent trains through), run with rlbt's broker, costs and slippage: the
observation at bar t is built from bars <= t, the action is a target exposure
filled at the open of t+1, the reward is the log change of portfolio value
from t to t+1 (costs included) x ``reward_scale``, and the last bar of the
data ends the episode as a truncation (``truncated=True``, never
``terminated``). ``strategies/env_loop.py`` runs backtrader in a worker thread
and hands bars over one at a time.

The data are sliced as ``rlbt run`` slices them, from the same settings, so an
agent trained here sees what rlbt's own agents see (``period``): ``train``,
``fit`` (train minus validation and purge gap), ``test`` (with the bars before
it as history) or ``all``.

The env has no randomness of its own: ``reset(seed=)`` only seeds
``self.np_random`` (Gymnasium's contract); the same data and settings give the
same trajectory for the same actions, bit for bit.
"""

from __future__ import annotations

import dataclasses
import operator
import weakref
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces
from gymnasium.error import InvalidAction, ResetNeeded

from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.prices import load_prices
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.params import coerce_params
from rlbt.engine.plugins.loader import PluginError
from rlbt.engine.split import split_frame
from rlbt.engine.validation import check_history, lookback, lookback_source, validation_split
from rlbt.strategies.agent_strategy import AgentStrategy
from rlbt.strategies.env_loop import EnvRun, player

PERIODS = ("train", "fit", "test", "all")
_SETTINGS = tuple(f.name for f in dataclasses.fields(BacktestConfig))
_SLICE_FIX = "a larger --split (or a later --train-end)"


class BadAction(PluginError, InvalidAction):
    """An action outside ``action_space``: a one-line rlbt error that Gymnasium
    code can also catch as ``InvalidAction``."""


@dataclasses.dataclass(frozen=True)
class _Slice:
    """The bars of one episode; decisions from ``start`` (None: once the window fills)."""

    frame: pd.DataFrame
    start: pd.Timestamp | None


class BarEnv(gym.Env[np.ndarray, np.int64]):
    """Gymnasium env over rlbt's backtrader market; one step is one bar.

    :param data: anything ``--data`` accepts: a bundled name, a CSV or Parquet
        path, a DataFrame.
    :param period: ``train``, ``fit``, ``test`` or ``all`` (module docstring).
    :param params: ``AgentStrategy`` params (``positions``, ``window``,
        ``reward_scale``, ``obs_scale``, ``rebalance``, features and rewards),
        checked as ``--param`` values are.
    :param strategy: an ``AgentStrategy`` subclass to run instead (its params apply).
    :param config: run settings; ``settings`` (any ``BacktestConfig`` field:
        ``commission``, ``slippage``, ``cash``, ``split``, ``val``, ``start``,
        ``end``, ``train_end``, ...) override its fields.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # Gymnasium reads it from the class

    def __init__(
        self,
        data: str | Path | pd.DataFrame = "orcl",
        period: str = "train",
        params: dict[str, Any] | None = None,
        *,
        strategy: type | None = None,
        config: BacktestConfig | None = None,
        **settings: Any,
    ) -> None:
        config = _config(config, params, settings)
        cls = strategy or AgentStrategy
        checked = coerce_params(cls.__name__, cls, config.params)
        self._setup(_slice(data, period, cls, checked, config), cls, checked, config)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        start: pd.Timestamp | None = None,
        params: dict[str, Any] | None = None,
        config: BacktestConfig | None = None,
        *,
        strategy: type | None = None,
    ) -> BarEnv:
        """An env over ``frame`` as rlbt's runner holds it (e.g. the fit part
        of the train slice), deciding from ``start`` on (earlier bars are
        history; None: from the first bar with a full window)."""
        config = _config(config, params, {})
        owner = strategy or AgentStrategy
        checked = coerce_params(owner.__name__, owner, config.params)
        frame = load_prices(frame)  # a frame from outside the runner is checked too
        env = cls.__new__(cls)
        env._setup(_from_frame(frame, start, owner, checked), owner, checked, config)
        return env

    def _setup(
        self, bars: _Slice, cls: type, params: dict[str, Any], config: BacktestConfig
    ) -> None:
        merged: Any = cls.with_defaults(params)  # type: ignore[attr-defined]
        size = int(cls.observation_size(merged))  # type: ignore[attr-defined]
        self.positions = tuple(float(p) for p in merged["positions"])
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)
        self.action_space = spaces.Discrete(len(self.positions))
        self.frame, self.start, self.config = bars.frame, bars.start, config
        self._cls, self._params = cls, params
        self._run: EnvRun | None = None
        self._stopper: Any = None

    # -- Gymnasium API --------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a fresh backtrader run (stopping any running one); the first
        decision bar's observation and info."""
        super().reset(seed=seed)
        self._shutdown()
        run = EnvRun(player(self._cls, self._params, self.frame, self.start, self.config))
        # An env dropped mid-episode stops its worker (the callback holds the run, not the env).
        self._stopper = weakref.finalize(self, run.stop)
        self._run = run
        bar = self._handle(run.start)
        return bar.obs, bar.info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Trade ``action`` (an index into ``positions``) at the next open; the
        next bar's observation, the reward of ``action``, ``terminated``
        (always False) and ``truncated`` (the last bar)."""
        run = self._run
        if run is None:
            raise ResetNeeded(
                "BarEnv.step() needs reset() first: before the first episode, "
                "after the last bar (truncated) and after an error."
            )
        index = self._index(action)  # a refused action leaves the episode running
        bar = self._handle(lambda: run.send(index))
        if bar.truncated:
            self._shutdown()
        return bar.obs, bar.reward, False, bar.truncated, bar.info

    def close(self) -> None:
        """Stop a running episode's thread."""
        self._shutdown()
        super().close()

    # -- internals ------------------------------------------------------------

    def _handle(self, call: Any) -> Any:
        try:
            return call()
        except BaseException:  # the run is over; the error is the strategy's own
            self._shutdown()
            raise

    def _index(self, action: Any) -> int:
        try:
            index = -1 if isinstance(action, bool) else operator.index(action)
        except TypeError:
            index = -1
        if 0 <= index < len(self.positions):
            return index
        levels = ",".join(f"{p:g}" for p in self.positions)
        raise BadAction(
            f"BarEnv.step({action!r}): expected an action index "
            f"0..{len(self.positions) - 1} (one per positions={levels})."
        )

    def _shutdown(self) -> None:
        if self._stopper is not None:
            self._stopper()  # run.stop(), once
        self._run, self._stopper = None, None

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the running episode: an unpickled env starts with reset()."""
        state = self.__dict__.copy()
        state["_run"], state["_stopper"] = None, None
        return state


def _config(
    config: BacktestConfig | None, params: dict[str, Any] | None, settings: dict[str, Any]
) -> BacktestConfig:
    """``config`` with ``settings`` and ``params`` over it, checked as ``rlbt run`` checks."""
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise UnknownNameError("BarEnv setting", unknown[0], _SETTINGS)
    base = config or BacktestConfig()
    merged = {**base.params, **(params or {})}
    return dataclasses.replace(base, **settings, params=merged)


def _slice(
    data: str | Path | pd.DataFrame,
    period: str,
    cls: type,
    params: dict[str, Any],
    config: BacktestConfig,
) -> _Slice:
    """The bars of ``period``, cut as ``rlbt.engine.runner.backtest`` cuts them."""
    if period not in PERIODS:
        raise UnknownNameError("BarEnv period", period, PERIODS)
    frame = load_prices(data, date_format=config.date_format, start=config.start, end=config.end)
    if period == "all":
        check_history(cls, params, len(frame), "The data", "more data")
        return _Slice(frame, None)
    split = split_frame(frame, config)
    check_history(cls, params, split.train_bars, "The train slice", _SLICE_FIX)
    if period == "train":
        return _Slice(split.train, None)
    if period == "test":
        return _Slice(frame, split.test_start)
    # As training.train_and_select cuts it (no validation when there are no episodes).
    fit = validation_split(
        split.train,
        config.val if config.episodes else 0.0,
        lookback(cls, params),
        lookback_source(cls, params),
    ).fit
    return _Slice(fit, None)


def _from_frame(
    frame: pd.DataFrame, start: pd.Timestamp | None, cls: type, params: dict[str, Any]
) -> _Slice:
    check_history(cls, params, len(frame), "The frame", "more bars")
    if start is None:
        return _Slice(frame, None)
    start = pd.Timestamp(start)
    deciding = int(len(frame) - frame.index.searchsorted(start))
    if deciding < 2:
        raise ConfigError(
            f"BarEnv.from_frame(start={start}): the frame ({frame.index[0]} to "
            f"{frame.index[-1]}) has {deciding} bars from start; an episode "
            "needs at least 2."
        )
    return _Slice(frame, start)
