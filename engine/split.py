"""Temporal train / test split: the train slice is the past of the test slice."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.dates import end_of_day, is_bare_date, parse_date_option
from rlbt.engine.errors import ConfigError

MIN_BARS = 2


@dataclass(frozen=True)
class Split:
    """``frame[:train_bars]`` is the train slice; the test slice starts at
    ``frame.index[train_bars]`` and may read the bars before it as history."""

    frame: pd.DataFrame
    train_bars: int

    @property
    def train(self) -> pd.DataFrame:
        return self.frame.iloc[: self.train_bars]

    @property
    def test_start(self) -> pd.Timestamp:
        return pd.Timestamp(self.frame.index[self.train_bars])


def split_frame(frame: pd.DataFrame, config: BacktestConfig) -> Split:
    """Split by ``config.train_end`` (inclusive; a date without a time means the
    whole day) when given, else by ``config.split``."""
    n = len(frame)
    train_end = parse_date_option(config.train_end, "--train-end")
    if train_end is not None:
        if is_bare_date(config.train_end or ""):
            train_end = end_of_day(train_end)
        k = int(frame.index.searchsorted(train_end, side="right"))
        option = f"--train-end={config.train_end}"
    else:
        k = int(n * config.split)
        option = f"--split={config.split}"
    if k < MIN_BARS or n - k < MIN_BARS:
        raise ConfigError(
            f"{option} leaves {k} train and {n - k} test bars of {n} "
            f"({frame.index[0]} to {frame.index[-1]}); each slice needs at least {MIN_BARS}."
        )
    return Split(frame, k)
