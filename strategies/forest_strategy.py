"""``ForestStrategy``: the course's random-forest forecaster (scikit-learn,
500 trees, sqrt features), refit on the train slice, with the same decision
rule as the LSTM (``rlbt run forest``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.forecast_strategy import ForecastStrategy
from rlbt.strategies.forecasters import MAX_TREES, ForestForecaster


class ForestStrategy(ForecastStrategy):
    """A random forest on the same sliding windows as the LSTM, fitted on the
    train slice; long above `threshold`, flat (or short) below."""

    params: Any = (("trees", 500),)
    param_rules: ClassVar[dict[str, Rule]] = {
        "trees": Rule(low=1, high=MAX_TREES, integer=True, example="500")
    }

    @classmethod
    def uses_device(cls, params: dict[str, Any]) -> bool:
        """scikit-learn's forest runs on the CPU only."""
        return False

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> ForestForecaster:
        """An unfitted forest; ``pretrain`` fits it on the train slice."""
        return ForestForecaster(int(cls.with_defaults(params)["trees"]), seed)

    @classmethod
    def pretrain(
        cls, agent: ForestForecaster, frame: pd.DataFrame, params: dict[str, Any]
    ) -> pd.DataFrame:
        """Fit the forest on the train slice, before any bar is scored."""
        agent.fit(*cls.train_table(frame, params))
        return pd.DataFrame()

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> ForestForecaster:
        raise ConfigError("forest models are not saved; they refit on the train slice.")
