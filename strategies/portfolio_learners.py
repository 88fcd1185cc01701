"""``dqn-portfolio``: DQN over a fixed set of allocations (the continuous
allocators are in ``portfolio_allocators``)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.strategies.learning import config_params
from rlbt.strategies.portfolio_agent import DERIVED, PortfolioAgentStrategy


def _params(config_class: type, **overrides: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((k, v) for k, v in config_params(config_class, **overrides) if k not in DERIVED)


def allocations(n_assets: int) -> np.ndarray:
    """DQN's actions: all cash, each asset alone, equal weight ``[1 + n + 1, n]``."""
    return np.vstack([np.zeros(n_assets), np.eye(n_assets), np.full(n_assets, 1.0 / n_assets)])


class DQNPortfolioStrategy(PortfolioAgentStrategy):
    """DQN choosing, each bar, one allocation: cash, one asset alone, or equal weight."""

    agent_class = DQNAgent
    config_class = DQNConfig
    # window 8: chosen on the known-answer markets' tuning seeds 0 and 1 (4, 8, 16 tried)
    params: Any = (("window", 8), *_params(DQNConfig, warmup=256, target_every=250))
    derived_from: ClassVar[dict[str, tuple[str, ...]]] = {"obs_dim": ("window",),
                                                          "n_actions": ("assets",)}

    @classmethod
    def agent_settings(cls, merged: dict[str, Any], n_assets: int) -> dict[str, Any]:
        return {"obs_dim": cls.observation_size(merged), "n_actions": n_assets + 2}

    def __init__(self) -> None:
        super().__init__()
        self._allocations = allocations(self.n_assets)

    def to_weights(self, action: Any) -> np.ndarray:
        return self._allocations[int(action)]

    def action_index(self) -> int:
        return int(self._action)
