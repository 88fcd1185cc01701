"""``A2CStrategy``: advantage actor-critic behind the bridge (``rlbt run a2c``)."""

from __future__ import annotations

from typing import Any

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.strategies.learning import LearningStrategy, config_params


class A2CStrategy(LearningStrategy):
    """A2C (actor and critic on a shared trunk, advantage = TD target - V(s)) learning online."""

    agent_class = A2CAgent
    config_class = A2CConfig
    # Bar-trading defaults (see pg_strategy.py): a short horizon and a faster step.
    params: Any = config_params(A2CConfig, gamma=0.5, lr=1e-2)
