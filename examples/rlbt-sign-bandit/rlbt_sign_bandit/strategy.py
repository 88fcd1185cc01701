"""SignBandit: an agent strategy for rlbt whose agent learns online from bars."""

from __future__ import annotations

from typing import Any

from rlbt.strategies.agent_strategy import AgentStrategy

from rlbt_sign_bandit.agent import SignBanditAgent


class SignBandit(AgentStrategy):
    """The SignBanditAgent bandit learning online from the signs of recent returns."""

    # The bridge's params (window, positions, reward_scale, ...) plus your own.
    params: Any = (("window", 2), ("epsilon", 0.1))

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> SignBanditAgent:
        # The runner calls this once, then trains the same agent over
        # --episodes passes of the train slice.
        merged = cls.with_defaults(params)
        return SignBanditAgent(
            obs_dim=cls.observation_size(merged),
            n_actions=len(tuple(merged["positions"])),
            seed=seed,
            epsilon=merged["epsilon"],
        )

    @classmethod
    def load_agent(
        cls, path: Any, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> SignBanditAgent:
        raise NotImplementedError("SignBanditAgent has no checkpoints yet")
