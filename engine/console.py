"""Terminal output: the metrics table of a run (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine.metrics import METRIC_KEYS
from engine.results import RunResult

_PERCENT = {"total_return", "cagr", "max_drawdown", "volatility", "win_rate", "exposure"}


def metrics_table(result: RunResult) -> Table:
    """Metrics of train and test, each beside buy-and-hold."""
    table = Table(title=f"{result.strategy} vs buy-and-hold")
    table.add_column("metric")
    for period in result.periods:
        span = f"{period.start:%Y-%m-%d} .. {period.end:%Y-%m-%d}"
        table.add_column(f"{period.name}\n{span}", justify="right")
        table.add_column(f"{period.name}\nbuy-and-hold", justify="right", style="dim")
    for key in METRIC_KEYS:
        cells = []
        for period in result.periods:
            cells += [_fmt(key, period.metrics[key]), _fmt(key, period.benchmark[key])]
        table.add_row(key, *cells)
    return table


def _fmt(key: str, value: float) -> str:
    if key in _PERCENT:
        return f"{value:.2%}"
    if key == "trades":
        return f"{int(value)}"
    if key == "final_value":
        return f"{value:,.2f}"
    return f"{value:.3f}"


def print_result(result: RunResult, console: Console | None = None) -> None:
    """Print the metrics table."""
    (console or Console()).print(metrics_table(result))
