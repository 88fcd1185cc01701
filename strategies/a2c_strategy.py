"""``A2CStrategy``: advantage actor-critic behind the bridge (``rlbt run a2c``)."""

from __future__ import annotations

from typing import Any

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.strategies.learning import LearningStrategy, config_params


class A2CStrategy(LearningStrategy):
    """A2C (actor and critic on a shared trunk, advantage = TD target - V(s)) learning online."""

    agent_class = A2CAgent
    config_class = A2CConfig
    params: Any = config_params(A2CConfig)
