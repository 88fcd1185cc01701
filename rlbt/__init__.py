"""rlbt: event-driven backtests on backtrader with PyTorch agents that learn
online from bars.

The public API::

    import rlbt
    result = rlbt.backtest("sma-cross", "orcl", split=0.7, params={"fast": 10})
    result.test.metrics["sharpe"], result.test.benchmark["sharpe"]

The code lives in three subpackages: ``rlbt.engine`` (data, runner, outputs,
plugins, sweeps, CLI), ``rlbt.strategies`` (backtrader strategies and the
bridge from bars to agents) and ``rlbt.agents`` (pure NumPy + PyTorch).
Names are imported lazily, so ``import rlbt`` and ``rlbt --help`` load neither
backtrader nor torch.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = importlib.metadata.version("rlbt")
except importlib.metadata.PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"

_EXPORTS = {
    "backtest": "rlbt.engine.runner",
    "BacktestConfig": "rlbt.engine.config",
    "RunResult": "rlbt.engine.results",
    "PeriodResult": "rlbt.engine.results",
    "load_prices": "rlbt.engine.data.prices",
    "check_lookahead": "rlbt.engine.lookahead",
    "LookaheadReport": "rlbt.engine.lookahead",
    "write_run": "rlbt.engine.output.run_folder",
    "write_report": "rlbt.engine.output.report",
    "RlbtError": "rlbt.engine.errors",
    "DataError": "rlbt.engine.errors",
    "ConfigError": "rlbt.engine.errors",
    "UnknownNameError": "rlbt.engine.errors",
}

__all__ = [
    "BacktestConfig",
    "ConfigError",
    "DataError",
    "LookaheadReport",
    "PeriodResult",
    "RlbtError",
    "RunResult",
    "UnknownNameError",
    "__version__",
    "backtest",
    "check_lookahead",
    "load_prices",
    "write_report",
    "write_run",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time names load lazily
    from rlbt.engine.config import BacktestConfig
    from rlbt.engine.data.prices import load_prices
    from rlbt.engine.errors import ConfigError, DataError, RlbtError, UnknownNameError
    from rlbt.engine.lookahead import LookaheadReport, check_lookahead
    from rlbt.engine.output.report import write_report
    from rlbt.engine.output.run_folder import write_run
    from rlbt.engine.results import PeriodResult, RunResult
    from rlbt.engine.runner import backtest


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rlbt' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
