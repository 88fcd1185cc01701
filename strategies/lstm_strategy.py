"""``LSTMStrategy``: the LSTM forecaster behind ``ForecastStrategy``
(``rlbt run lstm``), with the random forest beside it for comparison when
scikit-learn is installed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from rlbt.agents.base import set_threads
from rlbt.agents.lstm.forecaster import LSTMConfig, LSTMForecaster
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.agent_settings import user_settings
from rlbt.strategies.forecast_features import N_FEATURES
from rlbt.strategies.forecast_strategy import ForecastStrategy
from rlbt.strategies.forecasters import MAX_TREES, ForecasterPair, ForestForecaster
from rlbt.strategies.learning import config_params

_OWN = frozenset({"window_size", "horizon"})  # shared with the strategy's own params


class LSTMStrategy(ForecastStrategy):
    """An LSTM reads a window of past bars (returns, range, volume, date) and
    forecasts the next return; long above `threshold`, flat (or short) below."""

    # Fewer gradient steps per bar and a shorter window than the agent's
    # defaults: on planted-edge markets those memorise the train slice.
    params: Any = (
        ("window_size", 16),
        ("compare_forest", True),  # fit a 500-tree forest on the train slice for comparison
        ("forest_trees", 500),
        ("pretrain_epochs", 0),  # supervised pre-training on the train slice before episodes
        ("pretrain_val", 0.2),  # its validation share: the last rows, never shuffled in
        *(
            (k, v)
            for k, v in config_params(LSTMConfig, hidden_size=32, learn_every=4)
            if k not in _OWN and k != "n_features"
        ),
    )
    param_rules: ClassVar[dict[str, Rule]] = {
        "forest_trees": Rule(low=1, high=MAX_TREES, integer=True, example="500"),
        "pretrain_epochs": Rule(low=0, integer=True),
        "pretrain_val": Rule(low=0.0, high=1.0, open_high=True, example="0.2"),
    }

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> ForecasterPair:
        """The LSTM forecaster (and the comparison forest when asked and installed)."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        names = {f.name for f in dataclasses.fields(LSTMConfig)} - {"n_features", "seed", "device"}
        with user_settings(merged, {}):
            config = LSTMConfig(
                n_features=N_FEATURES,
                seed=seed,
                device=device,
                **{k: merged[k] for k in names if k in merged},
            )
            model = LSTMForecaster(config)
        return ForecasterPair(model, cls._forest(merged, seed))

    @classmethod
    def _forest(cls, merged: dict[str, Any], seed: int) -> ForestForecaster | None:
        if not merged["compare_forest"]:
            return None
        try:
            return ForestForecaster(int(merged["forest_trees"]), seed, param="forest_trees")
        except ConfigError:
            return None  # scikit-learn not installed: compare with the other baselines only

    @classmethod
    def pretrain(
        cls, agent: ForecasterPair, frame: pd.DataFrame, params: dict[str, Any]
    ) -> pd.DataFrame:
        """Before any episode or scored bar: fit the comparison forest on the
        train slice, and, when ``pretrain_epochs`` > 0, the LSTM on the same
        supervised table (sliding windows, temporal split: the last
        ``pretrain_val`` of the rows validate). Returns the per-epoch losses."""
        merged = cls.with_defaults(params)
        windows, labels = cls.train_table(frame, params)
        if agent.forest is not None:
            agent.forest.fit(windows, labels)
        if merged["pretrain_epochs"] <= 0:
            return pd.DataFrame()
        history = agent.primary.fit(
            windows,
            labels,
            epochs=int(merged["pretrain_epochs"]),
            val_fraction=float(merged["pretrain_val"]),
        )
        return pd.DataFrame(history)

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> ForecasterPair:
        """The LSTM from a checkpoint (the forest is refit on this run's train slice)."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        with user_settings(merged, {}):  # --device cuda, not device='cuda'
            model = LSTMForecaster.from_checkpoint(path, device=device)
        if model.window_size != merged["window_size"]:
            raise ConfigError(
                f"--load {path}: trained with window_size={model.window_size}; "
                f"pass --param window_size={model.window_size}."
            )
        return ForecasterPair(model, cls._forest(merged, 0))
