"""``report.png``: price with buy/sell marks, equity beside buy-and-hold,
drawdown, and the learning curves when the strategy trained. Drawn with
matplotlib directly (backtrader's ``cerebro.plot`` fails headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or CI

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rlbt.engine.output.atomic import atomic_path  # noqa: E402
from rlbt.engine.results import PeriodResult, RunResult  # noqa: E402

_COLORS = {"train": "tab:blue", "test": "tab:orange"}
# Learning curves: the episode return, then the first three of these in the log.
_CURVES = ("policy_loss", "value_loss", "entropy", "loss", "q_mean", "epsilon")
_CURVE_PLOTS = 4
_MAX_MARKS = 300  # per period; beyond this the buy/sell marks are left out


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
    for period in result.periods:
        _plot_price(price_ax, period)
        _plot_equity(equity_ax, period)
        _plot_drawdown(dd_ax, period)
    for ax in (price_ax, equity_ax, dd_ax):
        ax.axvline(result.test.start, color="grey", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
        _legend(ax)
    equity_ax.set_yscale("log")  # train and test compound over years: compare growth rates
    price_ax.set_title(_title(result))
    price_ax.set_ylabel("price")
    equity_ax.set_ylabel("portfolio value")
    dd_ax.set_ylabel("drawdown")
    _plot_test_equity(fig.add_subplot(grid[3, :]), result.test)
    if forecasts is not None:
        _plot_forecasts(fig.add_subplot(grid[4, :]), forecasts)
    if not log.empty:
        columns = [c for c in ("return", "val_sharpe", *_CURVES) if c in log][:_CURVE_PLOTS]
        for i, column in enumerate(columns):
            _plot_curve(fig.add_subplot(grid[rows - 1, i]), log, column)
    fig.tight_layout()
    return fig


def _legend(ax: Axes) -> None:
    """A legend with each label once (both periods draw buy and sell marks)."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper left", fontsize=8)


def _title(result: RunResult) -> str:
    test, bench = result.test.metrics, result.test.benchmark
    return (
        f"{result.strategy} on {result.config.get('data', '?')}: test return "
        f"{test['total_return']:+.1%} (buy-and-hold {bench['total_return']:+.1%}), "
        f"Sharpe {test['sharpe']:.2f} ({bench['sharpe']:.2f})"
    )


def _plot_price(ax: Axes, period: PeriodResult) -> None:
    eq = period.equity
    ax.plot(
        eq.index, eq["close"], color=_COLORS[period.name], lw=0.8, label=f"close ({period.name})"
    )
    # A fill happens at a bar's open; mark the bar where the position changed.
    change = eq["position"].diff().fillna(eq["position"])
    buys, sells = eq[change > 0], eq[change < 0]
    if len(buys) + len(sells) > _MAX_MARKS:  # marks would hide the price line
        return
    ax.scatter(buys.index, buys["close"], marker="^", color="green", s=18, label="buy", zorder=3)
    ax.scatter(sells.index, sells["close"], marker="v", color="red", s=18, label="sell", zorder=3)


def _plot_equity(ax: Axes, period: PeriodResult) -> None:
    eq = period.equity
    ax.plot(
        eq.index, eq["value"], color=_COLORS[period.name], lw=1, label=f"strategy ({period.name})"
    )
    ax.plot(
        eq.index,
        eq["benchmark"],
        color="black",
        lw=0.8,
        alpha=0.6,
        linestyle="--",
        label=f"buy-and-hold ({period.name})",
    )


def _plot_test_equity(ax: Axes, period: PeriodResult) -> None:
    """The test slice alone, on its own linear scale: an in-sample curve that
    grew a millionfold never flattens it."""
    _plot_equity(ax, period)
    ax.set_title("test slice (out of sample), own scale", fontsize=9)
    ax.set_ylabel("portfolio value")
    ax.grid(alpha=0.3)
    _legend(ax)


def _plot_drawdown(ax: Axes, period: PeriodResult) -> None:
    eq = period.equity
    for column, style, label in (("value", "-", "strategy"), ("benchmark", "--", "buy-and-hold")):
        series = eq[column]
        dd = series / series.cummax() - 1.0
        ax.plot(
            dd.index,
            dd,
            linestyle=style,
            lw=0.8,
            color=_COLORS[period.name] if column == "value" else "black",
            label=f"{label} ({period.name})",
        )


def _plot_forecasts(ax: Axes, table: pd.DataFrame) -> None:
    """Test slice: the actual close `horizon` bars ahead against each forecast."""
    ax.plot(table.index, table["actual"], color="black", lw=1, label="actual")
    for column, style in (("model", "-"), ("forest", ":"), ("mean_20", "--")):
        if column in table:
            ax.plot(table.index, table[column], linestyle=style, lw=0.8, label=column)
    ax.set_title("test slice: forecast vs actual (price `horizon` bars ahead)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)


def _plot_curve(ax: Axes, log: pd.DataFrame, column: str) -> None:
    ax.plot(log["episode"], log[column], marker="o")
    ax.set_title(f"{column} per training episode", fontsize=9)
    ax.set_xlabel("episode")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
