"""The plotly figures of ``sweep.html``: a heatmap of the ranked test metric
over two grid parameters, a line over one, and every seed's value per
parameter set. Grid values sort as numbers when they are numbers (5, 10, 20,
not "10", "20", "5")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.output.html_parts import graph_objects


def ordered(values: pd.Series) -> list[Any]:
    """Distinct values, numerically when all are numbers, else as text."""
    distinct = list(pd.unique(values))
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce")
    if numbers.notna().all():
        return [v for _, v in sorted(zip(numbers, distinct, strict=True), key=lambda p: p[0])]
    return sorted(distinct, key=str)


def heatmap(runs: pd.DataFrame, x: str, y: str, rank: str) -> Any:
    """Mean of ``test_<rank>`` per (x, y) cell, over seeds and the other settings."""
    go = graph_objects()
    means = runs.groupby([y, x], dropna=False)[f"test_{rank}"].mean().unstack(x)
    means = means.reindex(index=ordered(runs[y]), columns=ordered(runs[x]))
    values = means.to_numpy(dtype=float)
    text = [["" if np.isnan(v) else f"{v:.3f}" for v in row] for row in values]
    fig = go.Figure(go.Heatmap(
        z=values, x=[str(v) for v in means.columns], y=[str(v) for v in means.index],
        text=text, texttemplate="%{text}", colorscale="Viridis",
        reversescale=rank in ("max_drawdown", "volatility"),  # lower is better: bright = good
        colorbar={"title": {"text": f"test {rank}"}},
        hovertemplate=f"{x}=%{{x}}, {y}=%{{y}}: %{{text}}<extra></extra>"))
    fig.update_xaxes(title_text=x, type="category")
    fig.update_yaxes(title_text=y, type="category")
    fig.update_layout(template="plotly_white", height=max(320, 120 + 40 * len(means)))
    return fig


def one_param(runs: pd.DataFrame, key: str, rank: str) -> Any:
    """Mean and standard deviation over seeds against the one varying
    parameter, beside buy-and-hold's mean."""
    go = graph_objects()
    order = ordered(runs[key])
    grouped = runs.groupby(key, dropna=False)
    mean = grouped[f"test_{rank}"].mean().reindex(order)
    std = grouped[f"test_{rank}"].std().reindex(order).fillna(0.0)
    labels = [str(v) for v in order]
    fig = go.Figure(go.Scatter(x=labels, y=mean.to_numpy(), mode="lines+markers",
                               name="strategy (mean, +-1 std over seeds)",
                               error_y={"type": "data", "array": std.to_numpy()}))
    bench = f"test_bh_{rank}"
    if bench in runs:
        fig.add_trace(go.Scatter(x=labels, y=grouped[bench].mean().reindex(order).to_numpy(),
                                 mode="lines", name="buy-and-hold (mean)",
                                 line={"color": "black", "dash": "dash"}))
    fig.update_xaxes(title_text=key, type="category")
    fig.update_yaxes(title_text=f"test {rank}")
    fig.update_layout(template="plotly_white", height=420)
    return fig


def seed_spread(runs: pd.DataFrame, group: list[str], rank: str) -> Any:
    """A box per parameter set with every run as a dot (seeds, windows), best
    mean first; buy-and-hold's mean as a black bar."""
    go = graph_objects()
    column, bench = f"test_{rank}", f"test_bh_{rank}"
    labels = (runs[group].astype(str).apply(
        lambda row: ", ".join(f"{k}={v}" for k, v in row.items()), axis=1)
        if group else pd.Series("all runs", index=runs.index))
    frame = runs.assign(_cell=labels)
    lower_better = rank in ("max_drawdown", "volatility")
    order = frame.groupby("_cell")[column].mean().sort_values(ascending=lower_better).index
    fig = go.Figure()
    for cell in order:
        part = frame[frame["_cell"] == cell]
        fig.add_trace(go.Box(y=part[column], name=cell, boxpoints="all", jitter=0.3,
                             pointpos=0, marker={"color": "#1f77b4"}, line={"width": 1},
                             showlegend=False, text=part.get("run_id"),
                             hovertemplate="%{text}: %{y}<extra></extra>"))
    if bench in frame:
        held = frame.groupby("_cell")[bench].mean().reindex(order)
        fig.add_trace(go.Scatter(x=list(order), y=held.to_numpy(), mode="markers",
                                 name="buy-and-hold (mean)",
                                 marker={"symbol": "line-ew-open", "size": 26, "color": "black"}))
    fig.update_yaxes(title_text=f"test {rank}")
    fig.update_layout(template="plotly_white", height=460, xaxis={"tickangle": -30})
    return fig
