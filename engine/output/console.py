"""Terminal output: the metrics table of a run, sweeps, strategies (rich).

No number is ever cut short with an ellipsis. Off a terminal (a pipe, a log
file, CI), where rich would assume 80 columns, tables print at their natural
width. On a terminal they fit its width: huge values are written compactly
(272.32B; the exact figure is in metrics.json), and a column too narrow
folds its text onto the next line."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.segment import Segments
from rich.table import Table

from rlbt.engine.bootstrap import edge_sentence
from rlbt.engine.metrics import METRIC_KEYS
from rlbt.engine.output.console_portfolio import benchmark_name, is_portfolio, print_portfolio
from rlbt.engine.results import RunResult

_PERCENT = {"total_return", "cagr", "max_drawdown", "volatility", "win_rate", "exposure"}
_DATE, _DATE_TIME = "%Y-%m-%d", "%Y-%m-%d %H:%M"
_MILLIONS = 1e7  # from here money is written 10.00M: 9,999,999.99 is as wide as a cell gets
_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))
_WIDE = 1e6  # a ratio (or a percentage, in %) this large is written 1.23e+06
_MAX_WIDTH = 240  # off a terminal, wider tables fold too


def print_table(console: Console, table: Table) -> None:
    """Print ``table`` whole: off a terminal at its natural width (nothing
    there wraps lines), on one folded to the terminal's width."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(_MAX_WIDTH), table)
    options = console.options.update_width(max(console.width, natural.maximum))
    # print() would crop its lines to console.width: hand it the rendered lines, uncropped.
    console.print(Segments(console.render(table, options)), crop=False)


def stamp_format(stamps: Iterable[datetime]) -> str:
    """strftime format for ``stamps``: with the time of day when any has one
    (intraday bars), so a test slice starting the day the train slice ends
    does not look like an overlap."""
    intraday = any((t.hour, t.minute, t.second) != (0, 0, 0) for t in stamps)
    return _DATE_TIME if intraday else _DATE


def metrics_table(result: RunResult) -> Table:
    """Metrics of train and test, each beside buy-and-hold."""
    bench = benchmark_name(result)
    table = Table(title=f"{result.strategy} vs {bench}")
    table.add_column("metric", no_wrap=True, min_width=max(map(len, METRIC_KEYS)))
    fmt = stamp_format(t for p in result.periods for t in (p.start, p.end))
    for period in result.periods:
        span = f"{period.start:{fmt}}\n.. {period.end:{fmt}}"
        # A learning strategy was trained on the train slice: say so.
        label = (
            "train (in-sample)"
            if period.name == "train" and not result.training_log.empty
            else period.name
        )
        table.add_column(f"{label}\n{span}", justify="right", overflow="fold")
        table.add_column(f"{period.name}\n{bench}", justify="right", style="dim",
                         overflow="fold")
    for key in METRIC_KEYS:
        cells = []
        for period in result.periods:
            cells += [_fmt(key, period.metrics[key]), _fmt(key, period.benchmark[key])]
        table.add_row(key, *cells)
    return table


def _fmt(key: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"  # not computable (e.g. a win rate with no closed trade)
    if key in _PERCENT:
        return f"{value * 100:.2e}%" if abs(value * 100) >= _WIDE else f"{value:,.2%}"
    if key in ("trades", "open_trades", "rejected_orders"):
        return f"{int(value):,}"
    if key == "final_value":
        return _money(value)
    return f"{value:.2e}" if abs(value) >= _WIDE else f"{value:.3f}"


def _money(value: float) -> str:
    """10,025.89, or 272.32M once the full figure would not fit a column."""
    if abs(value) < _MILLIONS:
        return f"{value:,.2f}"
    for scale, suffix in _SCALES:
        if abs(value) >= scale and abs(value) < scale * 1000:
            return f"{value / scale:,.2f}{suffix}"
    return f"{value:.3e}"


def print_result(result: RunResult, console: Console | None = None) -> None:
    """Print the metrics table, how it was annualised, and every order that
    did not execute."""
    console = console or Console()
    print_table(console, metrics_table(result))
    if is_portfolio(result):
        print_portfolio(console, result)
    annual = result.annualisation
    if annual:
        how = "inferred from the data's calendar" if annual.get("bars_per_year_inferred") \
            else "from --bars-per-year"
        console.print(f"Annualised with {annual['bars_per_year']:,.1f} bars a year ({how}), "
                      f"risk-free rate {annual['risk_free']:.2%}.", highlight=False)
    bootstrap = result.test.extra_metrics.get("bootstrap")
    if bootstrap:
        console.print(edge_sentence(bootstrap, result.test.metrics["sharpe"],
                                    result.test.benchmark["sharpe"]), highlight=False)
    for line in learning_lines(result.learning, result.config.get("episodes", 0)):
        console.print(line, highlight=False)
    for period in result.periods:
        for line in unexecuted_orders(period.name, period.orders):
            console.print(f"[yellow]{line}[/yellow]", highlight=False)


def learning_lines(learning: dict[str, Any], episodes: int) -> list[str]:
    """How the tested agent was chosen and how it acted in the test slice."""
    if not learning:
        return []
    lines = []
    if learning.get("selected_episode") is not None:
        how = "best validation Sharpe" if learning["select"] == "best" else "last episode"
        lines.append(f"Tested the agent of episode {learning['selected_episode']} of {episodes} "
                     f"({how}; validation Sharpe {_fmt('sharpe', learning['val_sharpe'])} on "
                     f"the train slice from {learning['val_start']}, after a purge gap of "
                     f"{learning['purge_bars']} bars).")
    elif episodes:
        lines.append("No validation slice (--val 0): tested the agent of the last episode.")
    online = learning.get("test_learning") == "online"
    lines.append(f"Test slice: {'learning online' if online else 'frozen (no learning)'}, "
                 f"actions {learning.get('test_actions', 'greedy')}"
                 + ("; on-policy agents learn only from actions drawn from their policy."
                    if learning.get("test_actions") != "greedy" else "."))
    lines.extend(learning.get("notes", []))
    return lines


def unexecuted_orders(period: str, orders: Any) -> list[str]:
    """One line per kind of order that did not execute in ``period``."""
    if orders is None or orders.empty:
        return []
    failed = orders[orders["status"] != "Completed"]
    if failed.empty:
        return []
    lines = [f"{period}: {len(failed)} of {len(orders)} orders did not execute "
             "(see orders.csv):"]
    for (status, reason), group in failed.groupby(["status", "reason"], sort=True):
        lines.append(f"  {len(group)} {status}: {reason}; first at {group['created'].iloc[0]}")
    return lines


_LISTED_PARAMS = 5  # params shown per strategy in the list; NAME shows all


def print_strategies(console: Console | None = None) -> None:
    """The table of ``rlbt strategies``."""
    from rlbt.engine.plugins.registry import list_strategies

    table = Table(title="strategies (rlbt strategies NAME for one in full)")
    for column in ("name", "source", "description", "params"):
        table.add_column(column, overflow="fold")
    for info in list_strategies():
        items = [f"{k}={v!r}" for k, v in info.params.items()]
        shown = ", ".join(items[:_LISTED_PARAMS])
        if len(items) > _LISTED_PARAMS:
            shown += f", ... ({len(items) - _LISTED_PARAMS} more)"
        table.add_row(info.name, info.source, info.description, shown or "-")
    (console or Console()).print(table)


def print_strategy(name: str, console: Console | None = None) -> None:
    """One strategy in full: source, docstring and every param with its default."""
    from rlbt.engine.plugins.registry import find_strategy, strategy_params

    console = console or Console()
    found = find_strategy(name)
    console.print(f"[bold]{name}[/bold]  ({found.source})")
    console.print((found.obj.__doc__ or "(no description)").strip(), highlight=False)
    console.print("params (--param KEY=VALUE):")
    for key, default in strategy_params(found.obj).items():
        console.print(f"  {key} = {default!r}", highlight=False)
    # Spec params (features, reward) say what they accept; the strategy knows,
    # the engine only asks (it never imports strategies).
    choices = getattr(found.obj, "param_choices", None)
    for key, names in (choices() if callable(choices) else {}).items():
        console.print(f"--param {key}= accepts:", highlight=False)
        for line in names:
            console.print(f"  {line}", highlight=False)


def print_sweep(result: Any, rank: str, out: Any, console: Console | None = None) -> None:
    """The ranked summary of a sweep, failures, and where the files are."""
    console = console or Console()
    if not result.summary.empty:
        print_table(console, _frame_table(
            result.summary, f"sweep: test {rank} per parameter set (best first)"))
    if result.break_even is not None:
        print_table(console, break_even_table(result.break_even))
    deflated = getattr(result, "deflated", {})
    if deflated:
        console.print(
            f"Best run {deflated['run_id']}: test Sharpe {deflated['test_sharpe']:.2f}; the best "
            f"of {deflated['trials']} runs with no skill would reach "
            f"{deflated['expected_max_sharpe_of_trials']:.2f}; deflated Sharpe ratio "
            f"{_fmt('dsr', deflated['deflated_sharpe'])} (the probability it is skill, not "
            "the luck of the best draw).", highlight=False)
    if result.skipped:
        console.print(f"{result.skipped} finished runs found in {out} were not run again.")
    if result.failures:  # each was told on stderr as it failed; the whole errors are kept
        console.print(f"[red]{len(result.failures)} runs failed[/red] (each told on stderr as "
                      f"it failed; the whole errors are in {out}/failures.json).", highlight=False)
    if result.interrupted:
        console.print("[yellow]Interrupted: finished runs are kept; rerun to resume.[/yellow]")
    console.print(f"Sweep folder: {out}")



_BREAK_EVEN = "break_even_commission"


def _frame_table(frame: Any, title: str) -> Table:
    """A DataFrame as a rich table; headers and cells fold, never cut."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right", overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(value) for value in row])
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def break_even_table(frame: Any) -> Table:
    """``break_even.csv`` as a table: per parameter set, the commission at which
    the mean test edge over buy-and-hold reaches zero, NaN and inf in words."""
    others = [column for column in frame.columns if column != _BREAK_EVEN]
    table = Table(title="break-even commission (where the test edge over buy-and-hold is gone)")
    for column in others:
        table.add_column(str(column), justify="right", overflow="fold")
    table.add_column("break-even commission", justify="right", overflow="fold")
    for record in frame.to_dict(orient="records"):
        table.add_row(*[_cell(record[c]) for c in others], _break_even(record[_BREAK_EVEN]))
    return table


def _break_even(value: float) -> str:
    if math.isnan(value):
        return "n/a: no edge over buy-and-hold even at the lowest commission"
    if math.isinf(value):
        return "above the grid: the edge survives the highest commission swept"
    return f"{value:.4g} ({value:.2%})"
