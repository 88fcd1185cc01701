"""The console's portfolio block: per period, the strategy's turnover and
costs paid beside the equal-weight rebalanced benchmark's, and the trades not
sent because an asset had no bar."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from rlbt.engine.results import RunResult

_ROWS = ("total_return", "sharpe", "max_drawdown", "turnover", "costs_paid", "untradable_skips")
_PERCENT = ("total_return", "max_drawdown")


def is_portfolio(result: RunResult) -> bool:
    return "portfolio" in result.config


def benchmark_name(result: RunResult) -> str:
    return "equal-weight buy-and-hold" if is_portfolio(result) else "buy-and-hold"


def portfolio_table(result: RunResult) -> Table:
    """Strategy vs equal-weight rebalanced (same cadence), per period."""
    assets = ", ".join(result.config["portfolio"]["assets"])
    table = Table(title=f"portfolio of {assets}: vs equal-weight rebalanced")
    table.add_column("metric", no_wrap=True)
    for period in result.periods:
        table.add_column(f"{period.name}", justify="right")
        table.add_column(f"{period.name}\nrebalanced", justify="right", style="dim")
    for key in _ROWS:
        cells = []
        for period in result.periods:
            own = {**period.metrics, **period.extra_metrics.get("portfolio", {})}
            rebalanced = period.extra_metrics.get("equal_weight_rebalanced", {})
            cells += [_fmt(key, own.get(key)), _fmt(key, rebalanced.get(key))]
        table.add_row(key, *cells)
    return table


def _fmt(key: str, value: Any) -> str:
    if value is None or value != value:
        return "n/a"
    if key in _PERCENT:
        return f"{value:,.2%}"
    if key == "untradable_skips":
        return f"{int(value):,}"
    if key == "costs_paid":
        return f"{value:,.2f}"
    return f"{value:,.3f}"


def portfolio_lines(result: RunResult) -> list[str]:
    """One line per period where trades were skipped for an asset without a bar."""
    lines = []
    for period in result.periods:
        skipped = period.extra_metrics.get("portfolio", {}).get("untradable_skips", 0)
        if skipped:
            lines.append(f"{period.name}: {skipped} trades not sent because the asset had no "
                         "bar that day (carried forward; weights.csv shows what was held).")
    return lines


def print_portfolio(console: Console, result: RunResult) -> None:
    from rlbt.engine.output.console import print_table

    print_table(console, portfolio_table(result))
    console.print("turnover: traded value over the mean portfolio value; costs_paid: "
                  "commission and slippage in cash.", highlight=False)
    for line in portfolio_lines(result):
        console.print(f"[yellow]{line}[/yellow]", highlight=False)
