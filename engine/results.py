"""What a backtest returns: per period, the strategy's metrics, equity,
trades and decisions next to buy-and-hold on the same bars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class PeriodResult:
    """One period (``train`` or ``test``) of a run."""

    name: str
    metrics: dict[str, float]
    """The strategy's metrics (rlbt.engine.metrics.METRIC_KEYS)."""
    benchmark: dict[str, float]
    """Buy-and-hold's metrics on the same bars, same keys."""
    equity: pd.DataFrame
    """Per traded bar: value, cash, position, close, benchmark (buy-and-hold value)."""
    trades: pd.DataFrame
    """One row per trade, closed or open at the end (rlbt.engine.analyzers.TradeLog)."""
    actions: pd.DataFrame
    """Per decided bar: action index and target exposure (empty for plain strategies)."""
    orders: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Every order the strategy sent and its fate (rlbt.engine.analyzers.OrderLog)."""
    extra_metrics: dict[str, Any] = field(default_factory=dict)
    """Strategy-specific metrics (e.g. ``forecast``), from its ``period_extras()``."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Strategy-specific tables (e.g. ``forecasts``), written as ``<name>.csv``."""

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.equity.index[0])

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.equity.index[-1])

    def metrics_dict(self) -> dict[str, Any]:
        """``{...metrics, "buy_and_hold": {...}}`` as written to metrics.json."""
        return {**self.metrics, **self.extra_metrics, "buy_and_hold": dict(self.benchmark)}


@dataclass
class RunResult:
    """The result of ``engine.backtest``."""

    strategy: str
    config: dict[str, Any]
    """Every setting of the run, the data fingerprint and package versions."""
    train: PeriodResult
    test: PeriodResult
    training_log: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per training episode statistics (empty for strategies that do not learn)."""
    agent: Any = None
    """The trained agent of a learning strategy (None otherwise)."""
    annualisation: dict[str, Any] = field(default_factory=dict)
    """``bars_per_year`` (and whether it was inferred) and ``risk_free`` of the metrics."""
    trained_checkpoint: bytes | None = None
    """The agent's checkpoint as trained and selected, before the test slice (model.pt)."""
    learning: dict[str, Any] = field(default_factory=dict)
    """Validation and selection (``selected_episode``, ``val_sharpe``), how the test
    slice acted (``test_learning``, ``test_actions``) and notes; empty if not learning."""

    @property
    def periods(self) -> tuple[PeriodResult, PeriodResult]:
        return (self.train, self.test)

    def metrics_dict(self) -> dict[str, Any]:
        """``{"train": {...}, "test": {...}, "annualisation": {...}}``, as written
        to metrics.json."""
        return {**{p.name: p.metrics_dict() for p in self.periods},
                "annualisation": dict(self.annualisation)}
