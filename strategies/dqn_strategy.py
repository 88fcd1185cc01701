"""``DQNStrategy``: the DQN agent behind the bar-to-agent bridge (``rlbt run dqn``)."""

from __future__ import annotations

from typing import Any

from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.strategies.learning import LearningStrategy, config_params


class DQNStrategy(LearningStrategy):
    """DQN (replay memory, target network, epsilon-greedy) learning online from bars."""

    agent_class = DQNAgent
    config_class = DQNConfig
    # Defaults sized for a few thousand daily bars per episode.
    params: Any = config_params(DQNConfig, warmup=256, target_every=250)
