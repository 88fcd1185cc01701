"""rlbt's engine: data, the backtest runner, results, reports and the CLI.

Public API::

    from engine import backtest, load_prices, BacktestConfig
    result = backtest("sma-cross", "orcl", split=0.7, params={"fast": 10})
    result.test.metrics["sharpe"], result.test.benchmark["sharpe"]

Names are imported lazily so that ``rlbt --help`` does not load backtrader.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "backtest": "engine.runner",
    "BacktestConfig": "engine.config",
    "RunResult": "engine.results",
    "PeriodResult": "engine.results",
    "load_prices": "engine.prices",
    "write_run": "engine.run_folder",
    "write_report": "engine.report",
    "RlbtError": "engine.errors",
    "DataError": "engine.errors",
    "ConfigError": "engine.errors",
    "UnknownNameError": "engine.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
