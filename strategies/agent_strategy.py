"""``AgentStrategy``: the bridge from bars to an agent that learns online.

At each bar t (from ``trade_start`` on) it builds the observation from bars
<= t and the current exposure, hands the agent the transition of the previous
bar (its reward, the log change of portfolio value from t-1 to t, is known
only now), asks the agent for an action, and lets ``ExposureStrategy`` trade
it at the next open. The last bar of the data closes the episode as a
truncation: the agent still bootstraps from that last observation.

``--param features`` chooses the observation and ``--param reward`` the reward
(``feature_specs``, ``rewards``); without them both are today's, through the
precomputed path below.

Any object with the Agent contract (``rlbt.agents.base.Agent``: ``act``,
``observe``) plugs in through the ``agent`` param. Subclasses such as
``DQNStrategy`` add ``build_agent`` / ``load_agent`` so the runner can create
the agent and train it over several episodes.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from rlbt.agents.base import Agent, CounterStats, GreedyActions
from rlbt.engine.compat import bt
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.engine.plugins.loader import PluginError, entry_points
from rlbt.strategies import feature_specs, rewards
from rlbt.strategies.exposure import ExposureStrategy
from rlbt.strategies.feature_specs import (
    Layout,
    check_features_spec,
    lookback_of,
    parse_features,
)
from rlbt.strategies.features import assemble, bar_features, observation
from rlbt.strategies.rewards import check_reward_spec, parse_reward

PROGRESS_EVERY = 64  # bars between progress callbacks: keeps them off the hot path


def _set_by_runner(value: Any) -> None:
    """The live log is an object the runner passes; a user's text is refused."""
    if value is not None and not callable(getattr(value, "update", None)):
        raise ConfigError("--param tensorboard: set by the --tensorboard DIR option, "
                          "not a param.")


def summarise(learn_stats: list[dict[str, float]], counters: set[str]) -> dict[str, float]:
    """The mean of each learn stat over ``learn_stats`` (finite values only;
    NaN when none), the last value for the running ``counters``."""
    out: dict[str, float] = {}
    for key in dict.fromkeys(k for s in learn_stats for k in s):  # ordered, unique
        values = [s[key] for s in learn_stats if key in s and math.isfinite(s[key])]
        if key in counters:
            out[key] = values[-1] if values else math.nan
        else:
            out[key] = float(np.mean(values)) if values else math.nan
    return out


class AgentStrategy(ExposureStrategy):
    """Hands every bar to an agent that acts and learns online."""

    params: Any = (
        ("agent", None),  # the agent object (Agent contract); set by the runner
        ("window", 16),  # number of past log returns in the observation
        ("learn", True),  # store transitions and learn while running
        ("explore", True),  # exploring actions (training) or greedy (evaluation)
        ("reward_scale", 100.0),  # reward = log value change x this
        ("obs_scale", 100.0),  # returns in the observation x this
        ("progress", None),  # callable(bars_done) for progress bars; set by the runner
        ("features", None),  # observation spec (feature_specs); None: returns:window,range,exposure
        ("reward", "log_return"),  # reward spec (rewards)
        # live training log (engine TrainingLog): update(bars, stats); set by the runner
        ("tensorboard", None),
    )
    param_rules: ClassVar[dict[str, Rule]] = {
        "window": Rule(low=1, integer=True),
        # Zero would blank the reward or the observation; nan/inf are refused for every float.
        "reward_scale": Rule(low=0.0, open_low=True, example="100"),
        "obs_scale": Rule(low=0.0, open_low=True, example="100"),
        "features": Rule(check=check_features_spec),
        "reward": Rule(check=check_reward_spec),
        "tensorboard": Rule(check=_set_by_runner),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ("window", "features")

    def __init__(self) -> None:
        super().__init__()
        if self.p.agent is None:
            raise ConfigError(f"{type(self).__name__} needs an agent (param 'agent').")
        if not callable(getattr(self.p.agent, "act", None)) or not callable(
            getattr(self.p.agent, "observe", None)
        ):
            raise ConfigError(
                f"{type(self).__name__}'s agent {self.p.agent!r} has no act() and observe(): "
                "see rlbt.agents.base.Agent for the contract."
            )
        self.agent: Agent = self.p.agent
        self._layout = parse_features(self.p.features, self.p.window)
        # Today's layout keeps today's code (precomputed returns, greedy table), so
        # its numbers stay bit for bit; any other layout asks each feature per bar.
        self._window = self._layout.default_window
        self._reward = parse_reward(self.p.reward)  # fresh per run: it may keep state
        self.min_history = self._layout.lookback  # window returns: window + 1 closes
        if self._window is None:
            self._setup_features()
        self._previous: tuple[np.ndarray, int, float] | None = None
        self._no_obs = np.empty(0, dtype=np.float32)  # placeholder on the lookup path
        self._bars = 0
        self.episode_return = 0.0
        self._learn_stats: list[dict[str, float]] = []
        self._logged = 0  # learn stats already sent to the live log
        # named in a bad action's error; built once, not per bar (the hot path)
        self._act_source = f"agent {type(self.agent).__name__}.act()"
        self._greedy_source = f"agent {type(self.agent).__name__}.greedy_actions()"

    @classmethod
    def layout(cls, params: dict[str, Any]) -> Layout:
        """The observation's features for these params."""
        merged = cls.with_defaults(params)
        return parse_features(merged["features"], int(merged["window"]))

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        """Bars the observation reads: ``window`` returns need ``window + 1``
        closes, an indicator its warm-up (the reward: one bar more, inside)."""
        return cls.layout(params).lookback

    @classmethod
    def uses_device(cls, params: dict[str, Any]) -> bool:
        """Whether ``--device`` reaches this strategy's agent (the runner refuses
        ``--device cuda`` otherwise, rather than ignore it)."""
        return True

    @classmethod
    def observation_size(cls, params: dict[str, Any]) -> int:
        """Observation length for these params (the agent's ``obs_dim``)."""
        return cls.layout(params).size

    @classmethod
    def param_choices(cls) -> dict[str, list[str]]:
        """What ``--param features`` and ``--param reward`` accept (``rlbt strategies``)."""
        def lines(module: Any, group: str) -> list[str]:
            plugins = sorted(set(entry_points(group)) - set(module.HELP))
            return [*module.HELP.values(), *(f"{name}  (installed plugin)" for name in plugins),
                    module.PLUGIN_HELP]

        return {"features": lines(feature_specs, feature_specs.FEATURE_GROUP),
                "reward": lines(rewards, rewards.REWARD_GROUP)}

    def _setup_features(self) -> None:
        """Let each feature create its indicators; one that warms up longer than
        the ``lookback`` it declares would shorten the slice checks: refused."""
        indicators = self._lineiterators[bt.LineIterator.IndType]
        for label, feature in zip(self._layout.labels, self._layout.features, strict=True):
            before = len(indicators)
            setup = getattr(feature, "setup", None)
            if callable(setup):
                setup(self)
            need = max((int(i._minperiod) for i in indicators[before:]), default=1)
            if need > lookback_of(feature):
                raise PluginError(f"--param features: feature {label!r} creates indicators "
                                  f"that need {need} bars but declares lookback = "
                                  f"{lookback_of(feature)}; set lookback = {need}.")

    def start(self) -> None:
        super().start()
        self._returns: np.ndarray | None = None
        if self.cerebro.p.preload and self._window is not None:
            # The feed is in memory: compute every bar's return and range once,
            # vectorised. Row i uses bars i-1 and i only (no look-ahead), and
            # the per-bar path then slices instead of recomputing logs.
            d = self.data
            self._returns, self._ranges = bar_features(
                np.asarray(d.close.array), np.asarray(d.high.array), np.asarray(d.low.array),
                self.p.obs_scale,
            )
        self._greedy: np.ndarray | None = None
        frozen = not self.p.learn and not self.p.explore
        if frozen and self._returns is not None and isinstance(self.agent, GreedyActions):
            self._greedy = self._greedy_table(self.agent)

    def _greedy_table(self, agent: GreedyActions) -> np.ndarray:
        """A frozen, greedy agent's action for every bar and every exposure it
        can hold, in one batched forward: ``decide`` becomes a lookup. Row i
        is built from features of bars <= i, like ``observe_bar``."""
        assert self._returns is not None and self._window is not None  # today's layout only
        window, bars = self._window, len(self._returns)
        table = np.zeros((bars, len(self.exposure_levels)), dtype=np.int64)
        if bars <= window:
            return table
        returns = np.lib.stride_tricks.sliding_window_view(self._returns[1:], window)
        for k, level in enumerate(self.exposure_levels):
            obs = assemble(returns, self._ranges[window:], level)
            table[window:, k] = agent.greedy_actions(obs)
        return table

    def observe_bar(self) -> np.ndarray:
        """The observation at the current bar (bars <= now, current exposure)."""
        if self._window is None:
            return self._feature_observation()
        if self._returns is None:  # not preloaded: build it from the lines
            closes = np.asarray(self.data.close.get(size=self._window + 1))
            return observation(
                closes, self.data.high[0], self.data.low[0], self._exposure, self.p.obs_scale
            )
        now = len(self.data) - 1
        window = self._returns[now - self._window + 1 : now + 1]
        return assemble(window, self._ranges[now], self._exposure)

    def _feature_observation(self) -> np.ndarray:
        """Each feature's values at this bar, in the order given; a plugin's
        wrong count or non-finite value is named with the bar."""
        parts = []
        for label, feature in zip(self._layout.labels, self._layout.features, strict=True):
            values = np.asarray(feature.value(self), dtype=np.float64).reshape(-1)
            if values.size != feature.size or not np.isfinite(values).all():
                when = self.data.datetime.datetime(0)
                raise PluginError(f"--param features: feature {label!r} returned "
                                  f"{values.tolist()!r} at the bar of {when}: expected "
                                  f"{feature.size} finite floats.")
            parts.append(values)
        return np.concatenate(parts).astype(np.float32)

    def decide(self) -> int:
        value = self.broker.getvalue()
        if self._greedy is not None:  # frozen and greedy: look the action up
            if self._previous is not None:
                self.episode_return += self._reward(self, self._previous[2], value)
            level = self.exposure_levels.index(self._exposure)
            action = self.checked_action(self._greedy[len(self.data) - 1, level],
                                         self._greedy_source)
            self._previous = (self._no_obs, action, value)
            self._tick()
            return action
        obs = self.observe_bar()
        if self._previous is not None:
            self._store(obs, value)
        action = self.checked_action(self.agent.act(obs, explore=self.p.explore),
                                     self._act_source)
        self._previous = (obs, action, value)
        self._tick()
        return action

    def _store(self, obs: np.ndarray, value: float) -> None:
        prev_obs, prev_action, prev_value = self._previous  # type: ignore[misc]
        reward = float(self._reward(self, prev_value, value))
        self.episode_return += reward
        if not self.p.learn:
            return
        # End of data is truncation, not termination: the future still counts.
        # Only a preloaded feed knows its length (the runner always preloads).
        truncated = self.cerebro.p.preload and len(self.data) == self.data.buflen()
        stats = self.agent.observe(prev_obs, prev_action, reward, obs, False, truncated)
        if stats:
            self._learn_stats.append(stats)

    def _tick(self) -> None:
        self._bars += 1
        if self._bars % PROGRESS_EVERY:
            return
        if self.p.progress is not None:
            self.p.progress(PROGRESS_EVERY, self.episode_stats())
        if self.p.tensorboard is not None:
            self._log_updates()

    def _log_updates(self) -> None:
        """The means of the updates since the last call, to the live log: one
        point per ``PROGRESS_EVERY`` bars, whatever the update cadence."""
        chunk = self._learn_stats[self._logged:]
        self._logged = len(self._learn_stats)
        if chunk:
            self.p.tensorboard.update(self._bars, summarise(chunk, self._counters()))

    def stop(self) -> None:
        super().stop()
        if self.p.tensorboard is not None:  # the updates of the last, partial chunk
            self._log_updates()

    def _counters(self) -> set[str]:
        return set(self.agent.counter_stats if isinstance(self.agent, CounterStats) else ())

    def episode_stats(self) -> dict[str, float]:
        """Return (sum of rewards), bars, and the episode means of the agent's
        learn stats (the last value for the running counters it names in
        ``counter_stats``)."""
        stats: dict[str, float] = {"return": self.episode_return, "bars": float(self._bars)}
        stats.update(summarise(self._learn_stats, self._counters()))
        epsilon = getattr(self.agent, "epsilon", None)
        if isinstance(epsilon, float):
            stats["epsilon"] = epsilon
        return stats
