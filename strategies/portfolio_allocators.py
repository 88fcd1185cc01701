"""``a2c-portfolio`` and ``pg-portfolio``: a logistic-normal policy
(``rlbt.agents.allocation``) whose softmax is the weights over the assets
plus cash: continuous allocation, learnt online from the bars."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from rlbt.agents.allocation import AllocationAgent, AllocationConfig, allocation_weights
from rlbt.strategies.portfolio_agent import PortfolioAgentStrategy
from rlbt.strategies.portfolio_learners import _params


class AllocationPortfolioStrategy(PortfolioAgentStrategy):
    """Continuous allocation: the agent's point z, weights = softmax(z) without its cash entry."""

    agent_class = AllocationAgent
    config_class = AllocationConfig
    derived_from: ClassVar[dict[str, tuple[str, ...]]] = {"obs_dim": ("window",),
                                                          "n_assets": ("assets",)}

    @classmethod
    def agent_settings(cls, merged: dict[str, Any], n_assets: int) -> dict[str, Any]:
        return {"obs_dim": cls.observation_size(merged), "n_assets": n_assets}

    def to_weights(self, action: Any) -> np.ndarray:
        return allocation_weights(np.asarray(action))[: self.n_assets]


class A2CPortfolioStrategy(AllocationPortfolioStrategy):
    """A2C (actor and critic on a shared trunk) over softmax weights."""

    # window 4: better than 8 and 16 on the known-answer tuning seeds 0 and 1
    params: Any = (("window", 4), *_params(AllocationConfig, method="a2c"))


class PGPortfolioStrategy(AllocationPortfolioStrategy):
    """REINFORCE (normalised discounted returns) over softmax weights."""

    params: Any = (("window", 4), *_params(AllocationConfig, method="reinforce"))
