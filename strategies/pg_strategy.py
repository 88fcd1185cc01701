"""``PolicyGradientStrategy``: REINFORCE behind the bridge (``rlbt run pg``)."""

from __future__ import annotations

from typing import Any

from rlbt.agents.policy_gradient import PolicyGradientAgent, PolicyGradientConfig
from rlbt.strategies.learning import LearningStrategy, config_params


class PolicyGradientStrategy(LearningStrategy):
    """REINFORCE (softmax policy, normalised discounted returns) learning online from bars."""

    agent_class = PolicyGradientAgent
    config_class = PolicyGradientConfig
    # One pass over a train slice is thousands of bars: learn from shorter rollouts.
    params: Any = config_params(PolicyGradientConfig, rollout_bars=64)
