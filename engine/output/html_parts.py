"""Pieces shared by the interactive reports (``report.html``,
``walk_forward.html``, ``sweep.html``): the optional plotly import, the
downsampling of long series, the bar axis of intraday data, HTML tables and
the self-contained page (plotly.js inline, no network).

plotly is imported only inside functions, so importing this module costs
nothing and works without the ``report`` extra."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import write_text

if TYPE_CHECKING:
    import plotly.graph_objects as go

EXTRA = 'pip install "plotly>=5"'
MAX_POINTS = 5_000
"""Points per trace of a long series; the min and max of each bucket are kept."""
COUNTS = frozenset({"trades", "open_trades", "rejected_orders", "bars", "runs", "trials",
                    "window", "episode", "seed", "year"})
"""Keys whose float values are counts, shown without decimals."""
GL_FROM = 1_000
"""Traces longer than this are drawn with WebGL (``Scattergl``)."""


def plotly_available() -> bool:
    """Whether plotly (a dependency, but one an environment may lack) is importable."""
    try:
        import plotly.graph_objects  # noqa: F401
    except ImportError:
        return False
    return True


def require_plotly(what: str = "the interactive report") -> None:
    """Raise a one-line ``ConfigError`` naming the extra when plotly is missing.

    Call it before a long run starts, so the run does not fail at the end."""
    if not plotly_available():
        raise ConfigError(f"{what} needs plotly: {EXTRA} (or pass --no-report).")


def graph_objects() -> Any:
    """``plotly.graph_objects``, or the one-line error naming the extra."""
    require_plotly()
    import plotly.graph_objects as go

    return go


def downsample_positions(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Positions to keep of a long series: first, last and each bucket's min and
    max, so peaks and drawdown troughs survive. Short series are kept whole.
    NaNs are ignored in a bucket (a bucket of NaNs keeps its first point)."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep = [0, n - 1]
    filled = np.where(np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0.0,
                      values)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            part = filled[lo:hi]
            keep += [lo + int(np.argmin(part)), lo + int(np.argmax(part))]
    return np.unique(np.asarray(keep))


class BarAxis:
    """The x coordinates of one report: dates for daily and slower data, bar
    numbers for intraday data (no straight lines across nights and weekends),
    with date tick labels and the bar's time in the hover text."""

    def __init__(self, index: pd.Index) -> None:
        self.index = pd.DatetimeIndex(index)
        self.intraday = bool(len(self.index)) and bool(
            (self.index != self.index.normalize()).any())

    def x(self, times: Iterable[Any]) -> list[Any]:
        """x of each time (a bar time, or the bar at or before it)."""
        stamps = pd.DatetimeIndex(list(times))
        if not self.intraday:
            return [_iso(t) for t in stamps]
        pos = self.index.searchsorted(stamps, side="right") - 1
        return [int(p) for p in np.clip(pos, 0, max(len(self.index) - 1, 0))]

    def labels(self, times: Iterable[Any]) -> list[str]:
        return [_iso(t) for t in pd.DatetimeIndex(list(times))]

    def layout(self, fig: go.Figure) -> None:
        """Date tick labels on every x axis of ``fig`` (intraday only)."""
        if not self.intraday or not len(self.index):
            return
        ticks = np.unique(np.linspace(0, len(self.index) - 1, 10).astype(int))
        fig.update_xaxes(tickmode="array", tickvals=[int(t) for t in ticks],
                         ticktext=[f"{self.index[t]:%Y-%m-%d %H:%M}" for t in ticks])


def _iso(stamp: Any) -> str:
    stamp = pd.Timestamp(stamp)
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%d %H:%M:%S}"


def line(axis: BarAxis, series: pd.Series, name: str, **style: Any) -> Any:
    """A (downsampled) line trace of ``series`` (a datetime index); WebGL when long."""
    go = graph_objects()
    values = series.to_numpy(dtype=float)
    keep = downsample_positions(values)
    times = series.index[keep]
    kind = go.Scattergl if len(keep) > GL_FROM else go.Scatter
    return kind(x=axis.x(times), y=values[keep], name=name, mode="lines",
                text=axis.labels(times) if axis.intraday else None,
                hovertemplate="%{text}<br>%{y}" if axis.intraday else None, **style)


def fmt(value: Any, key: str = "") -> str:
    """One table cell: percentages for returns, drawdowns and rates, 4 decimals
    for other floats, '' for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value)) if key in ("year", "seed") else f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if _is_rate(key):
            return f"{value:.2%}"
        if key in COUNTS and value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.4f}"
    if isinstance(value, pd.Timestamp):
        return _iso(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def _is_rate(key: str) -> bool:
    return any(word in key for word in ("return", "cagr", "drawdown", "win_rate", "exposure",
                                        "volatility"))


def table(frame: pd.DataFrame, *, formats: Mapping[str, str] | None = None,
          caption: str = "") -> str:
    """An escaped HTML table of ``frame`` (columns as headers, index dropped)."""
    formats = formats or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = (fmt(v, formats.get(str(c), str(c))) for c, v in zip(frame.columns, record,
                                                                    strict=True))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def flatten(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"a": {"b": 1}}`` -> ``[("a.b", 1)]``; lists stay one value."""
    rows: list[tuple[str, Any]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += flatten(value, f"{name}.")
        else:
            rows.append((name, value))
    return rows


def settings_table(settings: Mapping[str, Any]) -> str:
    frame = pd.DataFrame(flatten(settings), columns=["setting", "value"])
    # a setting's value is shown as given: no percentages for e.g. "commission"
    return table(frame.astype({"value": object}).map(_plain), caption="")


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f4f4f4} td:first-child,th:first-child{text-align:left}
.note{color:#666;font-size:.9em} .scroll{max-height:32em;overflow:auto}
"""


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A figure's ``<div>`` and script, without plotly.js (the page has it once).
    A fixed ``div_id`` keeps the page's bytes the same run after run."""
    import plotly.io as pio

    return str(pio.to_html(fig, include_plotlyjs=False, full_html=False, div_id=div_id,
                           config={"displaylogo": False, "responsive": True}))


def page(title: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole page: plotly.js inline in the head (opens offline), then each
    ``(heading, html)`` section."""
    require_plotly()
    from plotly.offline import get_plotlyjs

    body = "".join(f"<h2>{html.escape(h)}</h2>\n{part}\n" for h, part in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
            f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head>\n"
            f"<body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")


def write_page(path: Path, title: str, sections: Sequence[tuple[str, str]]) -> Path:
    """Write the page atomically (a crash leaves the previous file or none)."""
    write_text(path, page(title, sections))
    return path


def note(text: str) -> str:
    return f"<p class=\"note\">{html.escape(text)}</p>"
