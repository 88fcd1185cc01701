"""report.png reads as it should: every trade marked, legends beside the
curves, bars (not clock time) along x with their dates and times, the data's
file name and no "-0.0%" in the title, money on the value axes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rlbt.engine.output.report import draw_report
from rlbt.engine.results import RunResult
from rlbt.engine.runner import backtest


@pytest.fixture(scope="module")
def intraday() -> RunResult:
    # 5-minute bars; a fast crossover trades often: more marks than the old cap of 300
    return backtest("sma-cross", "intraday", params={"fast": 2, "slow": 5})


@pytest.fixture(scope="module")
def daily() -> RunResult:
    return backtest("sma-cross", "orcl", start="2012-01-01", params={"fast": 5, "slow": 20})


@pytest.fixture
def drawn(request: pytest.FixtureRequest) -> Iterator[Figure]:
    fig = draw_report(request.getfixturevalue(request.param))
    fig.canvas.draw()  # lay out legends and tick labels as savefig would
    yield fig
    plt.close(fig)


def _panel(fig: Figure, ylabel: str) -> Axes:
    return next(ax for ax in fig.axes if ax.get_ylabel() == ylabel)


@pytest.mark.parametrize("drawn", ["intraday"], indirect=True)
def test_every_trade_is_marked(drawn: Figure, intraday: RunResult) -> None:
    price = _panel(drawn, "price")
    counts = {c.get_label(): 0 for c in price.collections}
    for collection in price.collections:
        counts[collection.get_label()] += len(collection.get_offsets())
    trades = pd.concat([p.trades for p in intraday.periods])
    train = intraday.train.trades
    assert len(train) + (train["status"] == "closed").sum() > 300, "more marks than the old cap"
    assert counts["buy"] == len(trades)  # long-only: each trade opens with a buy
    assert counts["sell"] == (trades["status"] == "closed").sum()


@pytest.mark.parametrize("drawn", ["intraday", "daily"], indirect=True)
def test_legends_sit_beside_the_curves(drawn: Figure) -> None:
    width = drawn.bbox.width
    for label in ("price", "portfolio value", "drawdown"):
        ax = _panel(drawn, label)
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1, label  # not over the curves
        assert legend.x1 <= width, label  # and still on the page


@pytest.mark.parametrize("drawn", ["intraday"], indirect=True)
def test_intraday_x_is_the_bar_index_labelled_with_date_and_time(
    drawn: Figure, intraday: RunResult
) -> None:
    price = _panel(drawn, "price")
    xs = np.concatenate([line.get_xdata() for line in price.get_lines()
                         if line.get_label().startswith("close")])
    n_train = len(intraday.train.equity)
    assert list(xs) == list(range(n_train + len(intraday.test.equity)))  # no night gaps
    label = price.xaxis.get_major_formatter()
    assert label(0) == f"{intraday.train.start:%Y-%m-%d %H:%M}"
    assert label(n_train) == f"{intraday.test.start:%Y-%m-%d %H:%M}"
    test_ax = next(ax for ax in drawn.axes if ax.get_title().startswith("test slice"))
    assert test_ax.xaxis.get_major_formatter()(0) == f"{intraday.test.start:%Y-%m-%d %H:%M}"


@pytest.mark.parametrize("drawn", ["daily"], indirect=True)
def test_daily_x_labels_are_dates(drawn: Figure, daily: RunResult) -> None:
    label = _panel(drawn, "price").xaxis.get_major_formatter()
    assert label(len(daily.train.equity)) == f"{daily.test.start:%Y-%m-%d}"


def _title(result: RunResult) -> str:
    fig = draw_report(result)
    try:
        return fig.axes[0].get_title()
    finally:
        plt.close(fig)


def test_title_names_the_file_and_never_minus_zero(daily: RunResult) -> None:
    metrics = dict(daily.test.metrics, total_return=-0.0004, sharpe=-0.001)
    tiny = dataclasses.replace(
        daily, config={**daily.config, "data": "/home/someone/prices/deep/orcl_2012.csv"},
        test=dataclasses.replace(daily.test, metrics=metrics))
    title = _title(tiny)
    assert " on orcl_2012.csv:" in title and "/home" not in title, title
    assert "test return +0.0%" in title and "-0.0" not in title, title
    assert "Sharpe 0.00 " in title, title
    assert " on orcl:" in _title(daily)


_PLAIN = re.compile(r"^-?[\d,]+(\.\d+)?$")


def _labels(ax: Axes) -> list[str]:
    ticks = ax.yaxis.get_majorticklabels() + ax.yaxis.get_minorticklabels()
    return [t.get_text() for t in ticks if t.get_text()]


@pytest.mark.parametrize("grow", [1.0, 1e6])
def test_value_axes_read_as_plain_money(daily: RunResult, grow: float) -> None:
    """11,250, never 1.125x10^4, whether the curve spans a decade or six."""
    equity = daily.train.equity.copy()
    equity["value"] *= np.linspace(1.0, grow, len(equity))
    result = dataclasses.replace(daily, train=dataclasses.replace(daily.train, equity=equity))
    fig = draw_report(result)
    try:
        fig.canvas.draw()
        for ax in (_panel(fig, "portfolio value"), fig.axes[3]):
            labels = _labels(ax)
            assert len(labels) >= 3, labels
            assert all(_PLAIN.match(text) for text in labels), labels
        assert "1,000,000" in _labels(_panel(fig, "portfolio value")) or grow == 1.0
    finally:
        plt.close(fig)
