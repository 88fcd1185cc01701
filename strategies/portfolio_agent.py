"""``PortfolioAgentStrategy``: the bridge from a panel's bars to an agent that
allocates, learning online as ``AgentStrategy`` does for one asset.

Observation at bar t (bars <= t only): for each asset its last ``window``
log returns x ``obs_scale``, then the weights held at t's close. Reward of the
action taken at t: ``reward_scale x log(V_{t+1} / V_t)``, the log change of
portfolio value with every cost the broker charged, known (and stored) at
t+1. The last bar ends the episode as a truncation. Subclasses map the
agent's action to target weights (``to_weights``): an index into a fixed set
of allocations (DQN) or a point whose softmax is the weights over the assets
plus cash (policy gradient, A2C).

The runner passes the assets' names (``assets``) before building the agent:
the observation's length depends on their number.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rlbt.agents.base import set_threads
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.agent_settings import user_settings
from rlbt.strategies.agent_strategy import PROGRESS_EVERY, _set_by_runner, summarise
from rlbt.strategies.portfolio import PortfolioStrategy

DERIVED = frozenset({"obs_dim", "n_actions", "n_assets", "seed", "device"})


class PortfolioAgentStrategy(PortfolioStrategy):
    """Hands every bar of every asset to an agent that chooses weights."""

    params: Any = (
        ("agent", None),  # the agent object; set by the runner
        ("assets", None),  # asset names, in feed order; set by the runner
        ("window", 16),  # past log returns per asset in the observation
        ("learn", True),
        ("explore", True),
        ("reward_scale", 100.0),
        ("obs_scale", 100.0),
        ("progress", None),
        ("tensorboard", None),
    )
    param_rules: ClassVar[dict[str, Rule]] = {
        "window": Rule(low=1, integer=True),
        "reward_scale": Rule(low=0.0, open_low=True, example="100"),
        "obs_scale": Rule(low=0.0, open_low=True, example="100"),
        "tensorboard": Rule(check=_set_by_runner),
    }
    lookback_params: ClassVar[tuple[str, ...]] = ("window",)
    agent_class: ClassVar[type]
    config_class: ClassVar[type]
    derived_from: ClassVar[dict[str, tuple[str, ...]]] = {"obs_dim": ("window",)}

    def __init__(self) -> None:
        super().__init__()
        if self.p.agent is None:
            raise ConfigError(f"{type(self).__name__} needs an agent (param 'agent').")
        self.agent = self.p.agent
        self.min_history = int(self.p.window) + 1
        self._previous: tuple[np.ndarray, Any, float] | None = None
        self._action: Any = None
        self._bars = 0
        self.episode_return = 0.0
        self._learn_stats: list[dict[str, float]] = []
        self._logged = 0

    # -- what subclasses define ------------------------------------------------

    @classmethod
    def agent_settings(cls, merged: dict[str, Any], n_assets: int) -> dict[str, Any]:
        """The derived agent fields (sizes) for ``n_assets`` assets."""
        raise NotImplementedError

    def to_weights(self, action: Any) -> np.ndarray:
        raise NotImplementedError

    # -- sizes and the agent's construction ----------------------------------

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        return int(cls.with_defaults(params)["window"]) + 2

    @classmethod
    def n_assets_of(cls, merged: dict[str, Any]) -> int:
        assets = merged.get("assets")
        if not assets:
            raise ConfigError(f"{cls.__name__} needs its assets before the agent is built: "
                              "run it with several --data assets.")
        return len(tuple(assets))

    @classmethod
    def observation_size(cls, params: dict[str, Any]) -> int:
        merged = cls.with_defaults(params)
        n = cls.n_assets_of(merged)
        return n * int(merged["window"]) + n

    @classmethod
    def uses_device(cls, params: dict[str, Any]) -> bool:
        return "device" in {f.name for f in dataclasses.fields(cls.config_class)}

    @classmethod
    def build_agent(cls, params: dict[str, Any], *, seed: int, device: str,
                    threads: int = 0) -> Any:
        """A fresh agent for these params (and the run's assets)."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        names = {f.name for f in dataclasses.fields(cls.config_class)}
        kwargs = {k: v for k, v in merged.items() if k in names and k not in DERIVED}
        kwargs.update(cls.agent_settings(merged, cls.n_assets_of(merged)), seed=seed)
        if "device" in names:
            kwargs["device"] = device
        with user_settings(merged, cls.derived_from):
            return cls.agent_class(cls.config_class(**kwargs))

    @classmethod
    def load_agent(cls, path: str | Path, params: dict[str, Any], *, device: str,
                   threads: int = 0) -> Any:
        """An agent from a checkpoint; refused when its sizes do not fit these assets."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        with user_settings(merged, cls.derived_from):
            agent = cls.agent_class.from_checkpoint(path, device=device)  # type: ignore[attr-defined]
        expected = cls.agent_settings(merged, cls.n_assets_of(merged))
        found = {k: getattr(agent.config, k) for k in expected}
        if found != expected:
            raise ConfigError(f"--load {path}: the agent was trained with {found}; these "
                              f"assets and params need {expected}. Pass the assets and "
                              "window it was trained with.")
        return agent

    # -- the bar loop ----------------------------------------------------------

    def observe_bar(self) -> np.ndarray:
        window = int(self.p.window)
        closes = np.array([d.close.get(size=window + 1) for d in self.datas])
        returns = np.diff(np.log(closes), axis=1) * float(self.p.obs_scale)
        held = self.held[-1][1:] if self.held else np.zeros(self.n_assets)
        return np.concatenate([returns.reshape(-1), np.asarray(held)]).astype(np.float32)

    def target_weights(self) -> Any:
        value = self.broker.getvalue()
        obs = self.observe_bar()
        if self._previous is not None:
            self._store(obs, value)
        action = self.agent.act(obs, explore=bool(self.p.explore))
        self._previous = (obs, action, value)
        self._action = action
        self._tick()
        return self.to_weights(action)

    def _store(self, obs: np.ndarray, value: float) -> None:
        prev_obs, prev_action, prev_value = self._previous  # type: ignore[misc]
        ratio = value / prev_value if prev_value > 0 and value > 0 else math.nan
        reward = float(self.p.reward_scale) * math.log(ratio) if ratio == ratio else math.nan
        self.episode_return += reward
        if not self.p.learn:
            return
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
        chunk = self._learn_stats[self._logged:]
        self._logged = len(self._learn_stats)
        if chunk:
            self.p.tensorboard.update(self._bars, summarise(chunk, self._counters()))

    def _counters(self) -> set[str]:
        return set(getattr(self.agent, "counter_stats", ()))

    def stop(self) -> None:
        if self.p.tensorboard is not None:
            self._log_updates()

    def episode_stats(self) -> dict[str, float]:
        """Return (sum of rewards), bars and the means of the agent's learn stats."""
        stats: dict[str, float] = {"return": self.episode_return, "bars": float(self._bars)}
        stats.update(summarise(self._learn_stats, self._counters()))
        epsilon = getattr(self.agent, "epsilon", None)
        if isinstance(epsilon, float):
            stats["epsilon"] = epsilon
        return stats
