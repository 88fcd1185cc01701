"""The portfolio parts of ``report.png`` and ``report.html``: the weights held
at each bar's close (stacked, cash on top) in place of the price panel, and
each asset's contribution to the period's P&L (its trades' net P&L, open
trades marked to the last close, in cash)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.results import PeriodResult, RunResult

MAX_STACKED = 2_000
"""Points per stacked weight layer on the page (a uniform stride, so the layers stay aligned)."""


def is_portfolio_run(result: RunResult) -> bool:
    return "portfolio" in result.config


def held_weights(period: PeriodResult) -> pd.DataFrame:
    """weights.csv of the period on its equity bars (before the first decision: all cash)."""
    weights = period.tables["weights"].reindex(period.equity.index)
    assets = [c for c in weights.columns if c != "cash"]
    weights[assets] = weights[assets].fillna(0.0)
    weights["cash"] = weights["cash"].fillna(1.0)
    return weights


def contributions(period: PeriodResult) -> pd.Series:
    """Net P&L per asset in the period (closed and open trades), in cash."""
    assets = [c for c in period.tables["weights"].columns if c != "cash"]
    trades = period.trades
    if trades.empty:
        return pd.Series(0.0, index=assets)
    return trades.groupby("asset")["pnl_net"].sum().reindex(assets, fill_value=0.0)


def plot_weights(ax: Any, period: PeriodResult, x: np.ndarray) -> None:
    """Stacked long weights (shorts drawn at 0: the title says when there are any)."""
    weights = held_weights(period)
    layers = weights.clip(lower=0.0)
    palette = [f"C{i % 10}" for i in range(len(layers.columns) - 1)] + ["lightgrey"]  # cash
    labels = list(layers.columns) if period.name == "test" else [None] * len(layers.columns)
    ax.stackplot(x, layers.to_numpy().T, labels=labels, colors=palette, alpha=0.85)
    if (weights.drop(columns="cash") < 0).any().any():
        ax.set_title("weights held (shorts not drawn)", fontsize=9)
    ax.set_ylim(0, max(1.0, float(layers.sum(axis=1).max())))


def weights_figure(periods: Any, title: str) -> Any:
    """report.html's first panel for a portfolio: the weights held (stacked,
    cash on top), the drawdown beside both equal-weight benchmarks, and each
    asset's contribution to the test slice's P&L."""
    from plotly.subplots import make_subplots

    from rlbt.engine.output.html_figures import COLORS, bar_axis
    from rlbt.engine.output.html_parts import graph_objects, line

    go = graph_objects()
    axis = bar_axis(periods)
    fig = make_subplots(rows=3, cols=1, row_heights=[0.45, 0.3, 0.25], vertical_spacing=0.07,
                        subplot_titles=("weights held at each close", "drawdown",
                                        "test slice: net P&L per asset (trades, open ones "
                                        "marked to the last close)"))
    for period in periods:
        weights = held_weights(period)
        step = max(1, -(-len(weights) // MAX_STACKED))  # one stride for all: layers stay aligned
        kept = weights.iloc[::step].clip(lower=0.0)
        for column in kept.columns:
            fig.add_trace(go.Scatter(x=axis.x(kept.index), y=kept[column].to_numpy(),
                                     name=f"{column} ({period.name})", mode="lines",
                                     stackgroup=period.name, legendgroup=column,
                                     line={"width": 0.5}), row=1, col=1)
        eq = period.equity
        for column, style, label in (("value", {"color": COLORS.get(period.name, "grey")},
                                      "strategy"),
                                     ("benchmark", {"color": "black", "dash": "dash"},
                                      "equal-weight buy-and-hold"),
                                     ("rebalanced", {"color": "grey", "dash": "dot"},
                                      "equal-weight rebalanced")):
            dd = eq[column] / eq[column].cummax() - 1.0
            fig.add_trace(line(axis, dd, f"drawdown {label} ({period.name})", line=style),
                          row=2, col=1)
    test = periods[-1]
    pnl = contributions(test)
    fig.add_trace(go.Bar(x=list(pnl.index), y=list(pnl.to_numpy()), name="net P&L (test)"),
                  row=3, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(tickformat=",.0f", row=3, col=1)
    axis.layout(fig)
    fig.update_xaxes(tickmode="auto", row=3, col=1)  # asset names, not bar dates
    fig.update_layout(title=title, height=950, hovermode="closest", template="plotly_white")
    return fig
