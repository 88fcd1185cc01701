"""``report.png``: price with buy/sell marks, equity beside buy-and-hold,
drawdown, and the learning curves when the strategy trained. Drawn with
matplotlib directly (backtrader's ``cerebro.plot`` fails headless).

Time runs along the bar index, labelled with each bar's date (and time for
intraday data): nights, weekends and holidays take no room, so an intraday
chart is not drawn as straight lines across every close."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    Locator,
    LogFormatter,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

from rlbt.engine.output.atomic import atomic_path  # noqa: E402
from rlbt.engine.output.console import stamp_format  # noqa: E402
from rlbt.engine.output.report_portfolio import is_portfolio_run, plot_weights  # noqa: E402
from rlbt.engine.results import PeriodResult, RunResult  # noqa: E402

_COLORS = {"train": "tab:blue", "test": "tab:orange"}
# Learning curves: the episode return, then the first three of these in the log.
_CURVES = ("policy_loss", "value_loss", "entropy", "loss", "q_mean", "epsilon")
_CURVE_PLOTS = 4
_BIG_MARKS = 300  # per period; beyond this every mark is still drawn, smaller
_DATE_TICKS = 7
_DECADE = 10.0
_LOG_TICKS = 6


def write_report(result: RunResult, path: Path) -> Path:
    """Draw the report of ``result`` and write it to ``path`` (PNG) atomically."""
    fig = draw_report(result)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def draw_report(result: RunResult) -> Figure:
    """The report figure (caller closes it)."""
    log = result.training_log
    forecasts = result.test.tables.get("forecasts")
    rows = 4 + (not log.empty) + (forecasts is not None)
    fig = plt.figure(figsize=(12, 3.2 * rows))
    grid = fig.add_gridspec(rows, _CURVE_PLOTS)
    price_ax = fig.add_subplot(grid[0, :])
    equity_ax = fig.add_subplot(grid[1, :], sharex=price_ax)
    dd_ax = fig.add_subplot(grid[2, :], sharex=price_ax)
    offset = 0
    portfolio = is_portfolio_run(result)
    for period in result.periods:
        x = np.arange(offset, offset + len(period.equity))
        offset += len(period.equity)
        if portfolio:  # several assets: what was held, not one price
            plot_weights(price_ax, period, x)
        else:
            _plot_price(price_ax, period, x)
        _plot_equity(equity_ax, period, x)
        _plot_drawdown(dd_ax, period, x)
    _bar_dates(price_ax, result.train.equity.index.append(result.test.equity.index))
    for ax in (price_ax, equity_ax, dd_ax):
        ax.axvline(len(result.train.equity), color="grey", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
        _legend(ax)
    equity_ax.set_yscale("log")  # train and test compound over years: compare growth rates
    if not portfolio:
        _plain_numbers(price_ax)
    _plain_numbers(equity_ax, log=True)
    dd_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    price_ax.set_title(_title(result))
    price_ax.set_ylabel("weight" if portfolio else "price")
    equity_ax.set_ylabel("portfolio value")
    dd_ax.set_ylabel("drawdown")
    _plot_test_equity(fig.add_subplot(grid[3, :]), result.test)
    if forecasts is not None:
        _plot_forecasts(fig.add_subplot(grid[4, :]), forecasts)
    if not log.empty:
        columns = [c for c in ("return", "val_sharpe", *_CURVES)
                   if c in log and log[c].notna().any()][:_CURVE_PLOTS]  # skip empty curves
        for i, column in enumerate(columns):
            _plot_curve(fig.add_subplot(grid[rows - 1, i]), log, column)
    fig.tight_layout()
    return fig


def _bar_dates(ax: Axes, index: pd.Index) -> None:
    """Label bar positions 0..n-1 of ``ax`` with the dates of ``index``."""
    index = pd.DatetimeIndex(index)
    fmt = stamp_format(index)

    def label(x: float, _pos: int | None = None) -> str:
        i = int(round(x))
        return index[i].strftime(fmt) if 0 <= i < len(index) else ""

    ax.xaxis.set_major_locator(MaxNLocator(nbins=_DATE_TICKS, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(label))


def _plain(x: float, _pos: int | None = None) -> str:
    """11,250 rather than 1.125x10^4: a portfolio value reads as money."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.4g}"


class _PlainLog(LogFormatter):
    """LogFormatter's choice of which ticks to label, each as a plain number."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _plain(x) if super().__call__(x, pos) else ""


class _GeometricTicks(Locator):
    """About six ticks evenly spaced on a log axis, at two significant digits."""

    def __call__(self) -> Sequence[float]:
        if self.axis is None:  # not attached to an axis yet: nothing to tick
            return []
        low, high = self.axis.get_view_interval()
        return self.tick_values(low, high)

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        ticks = {float(f"{v:.2g}") for v in np.geomspace(max(vmin, 1e-9), vmax, _LOG_TICKS)}
        return sorted(t for t in ticks if vmin <= t <= vmax)


def _plain_numbers(ax: Axes, log: bool = False) -> None:
    """Plain tick labels on the y axis (call after plotting: reads the limits)."""
    low, high = ax.get_ylim()
    if log and high > _DECADE * low:
        ax.yaxis.set_major_formatter(_PlainLog(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False))
        return
    if log:  # within a decade a log locator ticks one or two values
        ax.yaxis.set_major_locator(_GeometricTicks())
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))


def _legend(ax: Axes) -> None:
    """A legend with each label once (both periods draw buy and sell marks),
    right of the axes: inside, it would cover the curves it explains."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.005, 1.0),
              borderaxespad=0.0, fontsize=7)


def _title(result: RunResult) -> str:
    test, bench = result.test.metrics, result.test.benchmark
    data = result.config.get("data", "?")
    held = "buy-and-hold"
    if is_portfolio_run(result):
        data, held = ",".join(map(data_name, str(data).split(","))), "equal-weight buy-and-hold"
    else:
        data = data_name(data)
    return (
        f"{result.strategy} on {data}: test return "
        f"{_signed_percent(test['total_return'])} ({held} "
        f"{_signed_percent(bench['total_return'])}), Sharpe {_fixed(test['sharpe'])} "
        f"({_fixed(bench['sharpe'])})"
    )


def data_name(data: object) -> str:
    """The data's file name (a bundled name stays as it is), not its whole path."""
    return Path(str(data)).name or str(data)


def _signed_percent(value: float) -> str:
    """+0.0% for a loss too small to show: never "-0.0%"."""
    if not math.isfinite(value):
        return "n/a"
    return f"{round(value * 100, 1) + 0.0:+.1f}%"


def _fixed(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{round(value, 2) + 0.0:.2f}"


def _plot_price(ax: Axes, period: PeriodResult, x: np.ndarray) -> None:
    eq = period.equity
    ax.plot(x, eq["close"], color=_COLORS[period.name], lw=0.8, label=f"close ({period.name})")
    # A fill happens at a bar's open; mark the bar where the position changed.
    change = (eq["position"].diff().fillna(eq["position"])).to_numpy()
    buys, sells = change > 0, change < 0
    # Every mark is drawn; many of them get small ones, so the price line shows.
    size = 18 if buys.sum() + sells.sum() <= _BIG_MARKS else 4
    close = eq["close"].to_numpy()
    for where, marker, color, label in ((buys, "^", "green", "buy"), (sells, "v", "red", "sell")):
        ax.scatter(x[where], close[where], marker=marker, color=color, s=size, linewidths=0,
                   label=label, zorder=3)


def _plot_equity(ax: Axes, period: PeriodResult, x: np.ndarray) -> None:
    eq = period.equity
    ax.plot(x, eq["value"], color=_COLORS[period.name], lw=1, label=f"strategy ({period.name})")
    portfolio = "rebalanced" in eq
    held = "equal-weight buy-and-hold" if portfolio else "buy-and-hold"
    ax.plot(x, eq["benchmark"], color="black", lw=0.8, alpha=0.6, linestyle="--",
            label=f"{held} ({period.name})")
    if portfolio:
        ax.plot(x, eq["rebalanced"], color="grey", lw=0.8, alpha=0.6, linestyle=":",
                label=f"equal-weight rebalanced ({period.name})")


def _plot_test_equity(ax: Axes, period: PeriodResult) -> None:
    """The test slice alone, on its own linear scale: an in-sample curve that
    grew a millionfold never flattens it."""
    _plot_equity(ax, period, np.arange(len(period.equity)))
    _bar_dates(ax, period.equity.index)
    _plain_numbers(ax)
    ax.set_title("test slice (out of sample), own scale", fontsize=9)
    ax.set_ylabel("portfolio value")
    ax.grid(alpha=0.3)
    _legend(ax)


def _plot_drawdown(ax: Axes, period: PeriodResult, x: np.ndarray) -> None:
    eq = period.equity
    held = "equal-weight buy-and-hold" if "rebalanced" in eq else "buy-and-hold"
    for column, style, label in (("value", "-", "strategy"), ("benchmark", "--", held)):
        series = eq[column]
        dd = series / series.cummax() - 1.0
        color = _COLORS[period.name] if column == "value" else "black"
        ax.plot(x, dd, linestyle=style, lw=0.8, color=color, label=f"{label} ({period.name})")


def _plot_forecasts(ax: Axes, table: pd.DataFrame) -> None:
    """Test slice: the actual close `horizon` bars ahead against each forecast."""
    x = np.arange(len(table))
    ax.plot(x, table["actual"], color="black", lw=1, label="actual")
    for column, style in (("model", "-"), ("forest", ":"), ("mean_20", "--")):
        if column in table:
            ax.plot(x, table[column], linestyle=style, lw=0.8, label=column)
    _bar_dates(ax, table.index)
    _plain_numbers(ax)
    ax.set_title("test slice: forecast vs actual (price `horizon` bars ahead)", fontsize=9)
    ax.grid(alpha=0.3)
    _legend(ax)


def _plot_curve(ax: Axes, log: pd.DataFrame, column: str) -> None:
    ax.plot(log["episode"], log[column], marker="o")
    ax.set_title(f"{column} per training episode", fontsize=9)
    ax.set_xlabel("episode")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
