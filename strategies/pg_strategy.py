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
    # Bar-trading defaults, chosen on planted-edge markets (tests/strategies/
    # test_known_answer.py holds out its own seeds): a bar's action pays off on
    # the next bar, so a short horizon (gamma 0.5) and frequent updates.
    params: Any = config_params(PolicyGradientConfig, gamma=0.5, lr=3e-3, rollout_bars=8)
