"""``report.html``: one self-contained, interactive page per run (Plotly,
plotly.js inline so it opens offline): price with every trade, equity beside
buy-and-hold, drawdown, exposure, learning curves, the metrics table with the
bootstrap intervals, monthly and yearly returns, the trades and the settings.

Built from the ``RunResult`` in memory, so it can be written inside the
staged run folder before it is published (atomically, like every run file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rlbt.engine.output import html_figures as figs
from rlbt.engine.output.html_parts import (
    figure_html,
    fmt,
    graph_objects,
    note,
    settings_table,
    table,
    write_page,
)
from rlbt.engine.results import PeriodResult, RunResult

MAX_TRADES = 2_000
"""Rows of the trade list on the page; every trade is in trades.csv (and on the chart)."""


def write_html_report(result: RunResult, path: Path) -> Path:
    """Write ``report.html`` of ``result`` to ``path`` atomically; returns ``path``.

    :raises ConfigError: when plotly (the ``report`` extra) is not installed.
    """
    return write_page(path, title(result), sections(result))


def run_figures(result: RunResult) -> list[Any]:
    """The report's figures, for a notebook (``fig.show()`` on each)."""
    found = [figs.price_figure(result.periods, title(result)), figs.equity_figure(result.periods),
             figs.learning_figure(result.training_log), figs.monthly_figure(result.test)]
    return [f for f in found if f is not None]


def title(result: RunResult) -> str:
    """Strategy, the data's file name (not its whole path) and the test result."""
    data = Path(str(result.config.get("data", "?"))).name
    test, bench = result.test.metrics, result.test.benchmark
    return (f"{result.strategy} on {data}: test return {_pct(test['total_return'])} "
            f"(buy-and-hold {_pct(bench['total_return'])}), Sharpe {test['sharpe']:.2f} "
            f"({bench['sharpe']:.2f})")


def _pct(value: float) -> str:
    text = f"{value:+.1%}"
    return "+0.0%" if text == "-0.0%" else text  # a tiny loss is not "-0.0%"


def sections(result: RunResult) -> list[tuple[str, str]]:
    graph_objects()  # the one-line error naming the extra, before any work
    parts = [
        ("Price, trades, drawdown and exposure",
         figure_html(figs.price_figure(result.periods, ""), "rlbt-price")),
        ("Equity beside buy-and-hold (each slice on its own scale)",
         figure_html(figs.equity_figure(result.periods), "rlbt-equity")),
        ("Metrics", metrics_table(result)),
    ]
    curves = figs.learning_figure(result.training_log)
    if curves is not None:
        parts.append(("Learning curves", figure_html(curves, "rlbt-learning")))
    parts += [
        ("Monthly returns (test slice)",
         figure_html(figs.monthly_figure(result.test), "rlbt-monthly")),
        ("Yearly returns (test slice)", table(figs.yearly_returns(result.test.equity),
                                             formats=_RETURNS)),
        ("Trades", trade_list(result.periods)),
        ("Settings and costs", costs_table(result) + settings_table(result.config)),
    ]
    return parts


def metrics_table(result: RunResult) -> str:
    """Train, validation and test beside buy-and-hold on the same bars; the
    test Sharpe's bootstrap intervals below when the run computed them."""
    train, test = result.train, result.test
    validation = _validation(result)
    rows = [{"metric": key, "train": train.metrics.get(key), "buy-and-hold (train)":
             train.benchmark.get(key), "validation": validation.get(key),
             "test": test.metrics.get(key), "buy-and-hold (test)": test.benchmark.get(key)}
            for key in test.metrics]
    frame = pd.DataFrame(rows).astype(object)
    for column in frame.columns[1:]:  # each cell formatted by its row's metric
        frame[column] = [fmt(v, k) for v, k in zip(frame[column], frame["metric"], strict=True)]
    parts = [table(frame)]
    boot = test.extra_metrics.get("bootstrap")
    if isinstance(boot, dict):
        parts.append(_bootstrap_table(boot))
    others = {k: v for k, v in test.extra_metrics.items() if k != "bootstrap"}
    if others:
        parts.append(settings_table({"test": others}))
    return "".join(parts)


def _validation(result: RunResult) -> dict[str, Any]:
    """The selected episode's validation figures (sharpe, total_return)."""
    log = result.training_log
    if log.empty or "selected" not in log:
        return {}
    chosen = log[log["selected"].astype(bool)]
    if chosen.empty:
        return {}
    row = chosen.iloc[-1]
    return {key: row[f"val_{name}"] for key, name in (("sharpe", "sharpe"),
                                                       ("total_return", "return"))
            if f"val_{name}" in log}


def _bootstrap_table(boot: dict[str, Any]) -> str:
    level = float(boot.get("level", float("nan")))
    rows = []
    for key, label in (("sharpe", "test Sharpe"),
                       ("sharpe_minus_buy_and_hold", "test Sharpe minus buy-and-hold's")):
        low_high = boot.get(key)
        if isinstance(low_high, (list, tuple)) and len(low_high) == 2:
            rows.append({"bootstrap": f"{label}, {level:.0%} interval",
                         "value": f"[{float(low_high[0]):.3f}, {float(low_high[1]):.3f}]"})
    if "p_edge_positive" in boot:
        rows.append({"bootstrap": "probability the edge over buy-and-hold is positive",
                     "value": f"{float(boot['p_edge_positive']):.3f}"})
    rows.append({"bootstrap": "resamples, mean block (bars), bars",
                 "value": f"{boot.get('resamples')}, {boot.get('mean_block')}, "
                          f"{boot.get('bars')}"})
    return table(pd.DataFrame(rows))


def trade_list(periods: tuple[PeriodResult, ...]) -> str:
    """Every trade of both slices, capped at ``MAX_TRADES`` rows with a note."""
    frames = [p.trades.assign(period=p.name) for p in periods if not p.trades.empty]
    if not frames:
        return note("No trades.")
    trades = pd.concat(frames, ignore_index=True)
    trades = trades[["period", *[c for c in trades.columns if c != "period"]]]
    shown = trades.head(MAX_TRADES)
    lead = (note(f"First {MAX_TRADES:,} of {len(trades):,} trades; all in trades.csv "
                 "(and every one is marked on the price chart).")
            if len(trades) > MAX_TRADES else note(f"{len(trades):,} trades."))
    return lead + f"<div class=\"scroll\">{table(shown, formats=_NO_PCT)}</div>"


_RETURNS = {"strategy": "return", "buy-and-hold": "return"}
_NO_PCT = {"pnl": "", "pnl_net": "", "commission": ""}


def costs_table(result: RunResult) -> str:
    """Cash, commission and slippage settings, and what the trades paid."""
    config = result.config
    rows = [{"cost": "starting cash", "value": config.get("cash")},
            {"cost": "commission (fraction of traded value)", "value": config.get("commission")},
            {"cost": "slippage (fraction of price)", "value": config.get("slippage")}]
    for period in result.periods:
        paid = float(period.trades["commission"].sum()) if "commission" in period.trades else 0.0
        rows.append({"cost": f"commission paid ({period.name})", "value": paid})
    return table(pd.DataFrame(rows).astype(object), formats={"value": ""})
