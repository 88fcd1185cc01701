"""The plotly figures of a run's ``report.html``: price with every trade,
equity beside buy-and-hold (train and test each on its own axes), drawdown,
exposure, learning curves and the monthly returns of the test slice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.output.html_parts import BarAxis, graph_objects, line
from rlbt.engine.results import PeriodResult

COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}
_HOLD = {"color": "black", "dash": "dash", "width": 1}
# Not plotted as learning curves: counters and the episode number itself.
_NOT_CURVES = {"episode", "selected", "bars"}
_MAX_CURVES = 9


def bar_axis(periods: Sequence[PeriodResult]) -> BarAxis:
    """One x axis for the periods' bars (train then test, no overlap)."""
    return BarAxis(pd.DatetimeIndex(pd.concat([p.equity["value"] for p in periods]).index))


def trade_marks(axis: BarAxis, period: PeriodResult) -> list[Any]:
    """Two marker traces (buy, sell) holding every fill of every trade: a long
    entry and a short exit are buys, a short entry and a long exit sells.
    Never downsampled: each trade is one entry mark and, once closed, one exit."""
    go = graph_objects()
    trades = period.trades
    marks: dict[str, list[tuple[Any, float, str]]] = {"buy": [], "sell": []}
    if not trades.empty:
        for number, row in enumerate(trades.itertuples(index=False), start=1):
            long = float(row.size) > 0
            side = "long" if long else "short"
            marks["buy" if long else "sell"].append(
                (row.entry_time, float(row.entry_price), f"trade {number}: enter {side}"))
            if pd.notna(row.exit_time):
                marks["sell" if long else "buy"].append(
                    (row.exit_time, float(row.exit_price),
                     f"trade {number}: exit {side}, pnl {float(row.pnl_net):,.2f}"))
    traces = []
    for side, symbol, color in (("buy", "triangle-up", "green"), ("sell", "triangle-down", "red")):
        rows = marks[side]
        traces.append(go.Scattergl(
            x=axis.x([r[0] for r in rows]), y=[r[1] for r in rows], mode="markers",
            name=f"{side} ({period.name})", legendgroup=side,
            marker={"symbol": symbol, "color": color, "size": 8},
            text=[f"{t}<br>{label}" for t, label in
                  zip(axis.labels([r[0] for r in rows]), [r[2] for r in rows], strict=True)],
            hovertemplate="%{text}<br>price %{y}<extra></extra>"))
    return traces


def price_figure(periods: Sequence[PeriodResult], title: str) -> Any:
    """Close price per period with every buy and sell, then drawdown and
    exposure on the same (zoomable, linked) x axis."""
    from plotly.subplots import make_subplots

    if "close" not in periods[0].equity:  # a portfolio: the weights held instead of a price
        from rlbt.engine.output.report_portfolio import weights_figure

        return weights_figure(periods, title)
    axis = bar_axis(periods)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.55, 0.22, 0.23],
                        vertical_spacing=0.04,
                        subplot_titles=("price and trades", "drawdown", "exposure"))
    for period in periods:
        eq, color = period.equity, COLORS.get(period.name, "grey")
        fig.add_trace(line(axis, eq["close"], f"close ({period.name})", line={"color": color}),
                      row=1, col=1)
        for trace in trade_marks(axis, period):
            fig.add_trace(trace, row=1, col=1)
        for column, style, label in (("value", {"color": color}, "strategy"),
                                     ("benchmark", _HOLD, "buy-and-hold")):
            dd = eq[column] / eq[column].cummax() - 1.0
            fig.add_trace(line(axis, dd, f"drawdown {label} ({period.name})", line=style),
                          row=2, col=1)
        held = eq["position"] * eq["close"] / eq["value"]
        fig.add_trace(line(axis, held, f"exposure held ({period.name})",
                           line={"color": color, "shape": "hv"}), row=3, col=1)
        if "exposure" in period.actions:
            fig.add_trace(line(axis, period.actions["exposure"].astype(float),
                               f"target exposure ({period.name})",
                               line={"color": color, "dash": "dot", "shape": "hv"}),
                          row=3, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_yaxes(tickformat=",.2f", row=1, col=1)  # never 1.125x10^4
    axis.layout(fig)
    fig.update_layout(title=title, height=900, hovermode="closest", template="plotly_white")
    return fig


def equity_figure(periods: Sequence[PeriodResult]) -> Any:
    """Strategy and buy-and-hold value, one panel per period, each with its own
    x and y axes: an in-sample curve that grew a millionfold never flattens
    the out-of-sample one."""
    from plotly.subplots import make_subplots

    axis = bar_axis(periods)
    fig = make_subplots(rows=1, cols=len(periods), horizontal_spacing=0.07,
                        subplot_titles=[f"{p.name} slice: portfolio value" for p in periods])
    for col, period in enumerate(periods, start=1):
        eq, color = period.equity, COLORS.get(period.name, "grey")
        fig.add_trace(line(axis, eq["value"], f"strategy ({period.name})",
                           line={"color": color}), row=1, col=col)
        held = "equal-weight buy-and-hold" if "rebalanced" in eq else "buy-and-hold"
        fig.add_trace(line(axis, eq["benchmark"], f"{held} ({period.name})", line=_HOLD),
                      row=1, col=col)
        if "rebalanced" in eq:
            fig.add_trace(line(axis, eq["rebalanced"], f"equal-weight rebalanced ({period.name})",
                               line={"color": "grey", "dash": "dot", "width": 1}), row=1, col=col)
        fig.update_yaxes(tickformat=",.0f", row=1, col=col)
    axis.layout(fig)
    fig.update_layout(height=420, template="plotly_white", hovermode="x unified")
    return fig


def learning_figure(log: pd.DataFrame) -> Any | None:
    """One panel per numeric column of the training log, per episode; the
    selected episode is ringed. None when nothing was trained."""
    columns = [c for c in log.columns if c not in _NOT_CURVES
               and pd.api.types.is_numeric_dtype(log[c])
               and not pd.api.types.is_bool_dtype(log[c]) and log[c].notna().any()]
    if log.empty or "episode" not in log or not columns:
        return None
    from plotly.subplots import make_subplots

    go = graph_objects()
    columns = columns[:_MAX_CURVES]
    cols = min(3, len(columns))
    rows = -(-len(columns) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=columns, vertical_spacing=0.12)
    chosen = log[log["selected"].astype(bool)] if "selected" in log else log.iloc[:0]
    for i, column in enumerate(columns):
        row, col = i // cols + 1, i % cols + 1
        kind = go.Scattergl if len(log) > 1_000 else go.Scatter
        fig.add_trace(kind(x=log["episode"], y=log[column], mode="lines+markers", name=column,
                           showlegend=False), row=row, col=col)
        if not chosen.empty:
            fig.add_trace(go.Scatter(x=chosen["episode"], y=chosen[column], mode="markers",
                                     name="selected episode", showlegend=i == 0,
                                     marker={"size": 13, "symbol": "circle-open",
                                             "color": "red"}), row=row, col=col)
    fig.update_xaxes(title_text="episode")
    fig.update_layout(height=300 * rows, template="plotly_white")
    return fig


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """Per (year, month) return of an equity curve: each month's last value over
    the previous month's (the first month over the slice's first value)."""
    month_end = equity.groupby([equity.index.year, equity.index.month]).last()
    base = month_end.shift(1)
    base.iloc[0] = equity.iloc[0]
    returns = (month_end / base - 1.0).rename("return")
    returns.index = returns.index.set_names(["year", "month"])
    return returns.unstack("month").reindex(columns=range(1, 13))


def yearly_returns(equity: pd.DataFrame) -> pd.DataFrame:
    """Per calendar year: strategy and buy-and-hold return."""
    out = {}
    for column, name in (("value", "strategy"), ("benchmark", "buy-and-hold")):
        year_end = equity[column].groupby(equity.index.year).last()
        base = year_end.shift(1)
        base.iloc[0] = equity[column].iloc[0]
        out[name] = year_end / base - 1.0
    frame = pd.DataFrame(out)
    return frame.rename_axis("year").reset_index()


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_figure(period: PeriodResult) -> Any:
    """Heatmap of the period's monthly returns (year x month)."""
    go = graph_objects()
    grid = monthly_returns(period.equity["value"])
    values = grid.to_numpy(dtype=float)
    text = np.where(np.isnan(values), "", np.vectorize(lambda v: f"{v:+.1%}")(
        np.nan_to_num(values)))
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    fig = go.Figure(go.Heatmap(
        z=values, x=list(_MONTHS), y=[str(y) for y in grid.index], text=text,
        texttemplate="%{text}", colorscale="RdYlGn", zmid=0.0, zmin=-limit, zmax=limit,
        hovertemplate="%{y} %{x}: %{text}<extra></extra>", colorbar={"tickformat": ".0%"}))
    fig.update_layout(title=f"{period.name} slice: monthly returns", template="plotly_white",
                      height=max(260, 140 + 32 * len(grid)), yaxis={"autorange": "reversed"})
    return fig
