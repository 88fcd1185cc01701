"""``walk_forward.html``: the chained out-of-sample equity beside
buy-and-hold held over the same span, the window boundaries, the chain's
drawdown, its metrics and the per-window table (one self-contained page)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rlbt.engine.output.html_parts import (
    BarAxis,
    figure_html,
    fmt,
    graph_objects,
    line,
    note,
    settings_table,
    table,
    write_page,
)

if TYPE_CHECKING:
    from rlbt.engine.walk_forward import WalkForwardResult

_HOLD = {"color": "black", "dash": "dash", "width": 1}
_WINDOW_COLUMNS = ("total_return", "sharpe", "max_drawdown", "trades", "exposure")


def write_walk_forward_html(result: WalkForwardResult, path: Path) -> Path:
    """Write the walk-forward page to ``path`` atomically; returns ``path``.

    :raises ConfigError: when plotly (the ``report`` extra) is not installed.
    """
    graph_objects()
    runs = result.runs
    data = str(runs[0].config.get("data", "")) if runs else ""
    where = f" on {Path(data).name}" if data and not data.startswith("<") else ""
    title = f"walk-forward of {runs[0].strategy if runs else '?'}{where}: {len(runs)} windows"
    sections = [
        ("Chained out-of-sample equity beside buy-and-hold",
         figure_html(chain_figure(result), "rlbt-walk-forward")),
        ("Metrics of the chain", chain_metrics(result.metrics)),
        ("Windows", window_table(result.table)),
    ]
    if runs:
        sections.append(("Settings (window 1)", settings_table(runs[0].config)))
    return write_page(path, title, sections)


def chain_figure(result: WalkForwardResult) -> Any:
    """Chained value and buy-and-hold's, then the drawdowns; a dotted line
    where each window's test slice starts."""
    from plotly.subplots import make_subplots

    stitched = result.stitched
    axis = BarAxis(stitched.index)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.05,
                        subplot_titles=("portfolio value (test slices chained)", "drawdown"))
    for column, style, label in (("value", {"color": "#ff7f0e"}, "strategy (out of sample)"),
                                 ("benchmark", _HOLD, "buy-and-hold")):
        series = stitched[column].astype(float)
        fig.add_trace(line(axis, series, label, line=style), row=1, col=1)
        fig.add_trace(line(axis, series / series.cummax() - 1.0, f"drawdown {label}",
                           line=style, showlegend=False), row=2, col=1)
    for run, x in zip(result.runs, axis.x([r.test.start for r in result.runs]), strict=True):
        fig.add_vline(x=x, line={"color": "grey", "dash": "dot", "width": 1})
        fig.add_annotation(x=x, y=1.0, yref="paper", text=f"window start {fmt(run.test.start)}",
                           showarrow=False, textangle=-90, xanchor="left", yanchor="top",
                           font={"size": 9, "color": "grey"})
    fig.update_yaxes(tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    axis.layout(fig)
    fig.update_layout(height=650, template="plotly_white", hovermode="x unified")
    return fig


def chain_metrics(metrics: dict[str, Any]) -> str:
    """The chain's metrics beside buy-and-hold held over the same span."""
    held = metrics.get("buy_and_hold", {})
    rows = [{"metric": key, "strategy": fmt(value, key), "buy-and-hold": fmt(held.get(key), key)}
            for key, value in metrics.items() if key != "buy_and_hold"]
    return table(pd.DataFrame(rows))


def window_table(frame: pd.DataFrame) -> str:
    """Per window: spans, then each test metric beside buy-and-hold's."""
    if frame.empty:
        return note("No windows.")
    out = pd.DataFrame({"window": frame["window"].astype(str),
                        "train from": frame["train_start"].map(fmt),
                        "test from": frame["test_start"].map(fmt),
                        "test to": frame["test_end"].map(fmt)})
    for key in _WINDOW_COLUMNS:
        for prefix, label in (("test_", key), ("test_bh_", f"B&H {key}")):
            if prefix + key in frame:
                out[label] = [fmt(v, key) for v in frame[prefix + key]]
    return table(out) + note("Every column of every window is in walk_forward.csv.")
