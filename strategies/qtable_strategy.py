"""``QTableStrategy``: tabular Q-learning behind the bridge (``rlbt run qtable``)."""

from __future__ import annotations

from typing import Any

from rlbt.agents.qtable import QTableAgent, QTableConfig
from rlbt.strategies.learning import LearningStrategy, config_params


class QTableStrategy(LearningStrategy):
    """Tabular Q-learning on the signs of the last few returns and the position."""

    agent_class = QTableAgent
    config_class = QTableConfig
    # A short window keeps the table small: 3 signs ** (window + 2) states.
    params: Any = (("window", 3), *config_params(QTableConfig))
