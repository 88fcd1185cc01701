"""report.png: drawn from the result, one panel per thing the run has, and
written atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from rlbt.engine.output.report import draw_report, write_report
from rlbt.engine.results import RunResult
from rlbt.engine.runner import backtest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result() -> RunResult:
    return backtest("sma-cross", "orcl", params={"fast": 5, "slow": 20})


def test_report_is_a_png_and_nothing_else_is_left(result: RunResult, tmp_path: Path) -> None:
    path = write_report(result, tmp_path / "report.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]
    assert plt.get_fignums() == []  # the figure was closed


def test_panels_follow_what_the_run_has(result: RunResult) -> None:
    fig = draw_report(result)
    try:
        price, equity, drawdown, test_only = fig.axes[:4]
        assert len(fig.axes) == 4  # no training log, no forecasts
        labels = {line.get_label() for line in equity.get_lines()}
        assert any("buy-and-hold" in label or "benchmark" in label for label in labels), labels
        assert equity.get_yscale() == "log"
        # The test-slice boundary is marked on every panel.
        for ax in (price, equity, drawdown):
            assert any(list(line.get_xdata()) == [result.test.start] * 2
                       or len(set(line.get_xdata())) == 1 for line in ax.get_lines())
    finally:
        plt.close(fig)
    log = pd.DataFrame({"episode": [1, 2, 3], "return": [0.1, 0.2, 0.3], "loss": [3, 2, 1]})
    trained = RunResult(strategy=result.strategy, config=result.config, train=result.train,
                        test=result.test, training_log=log, agent=None)
    fig = draw_report(trained)
    try:
        assert len(fig.axes) > 4  # learning curves were added
    finally:
        plt.close(fig)


def test_the_test_slice_has_its_own_scale(result: RunResult) -> None:
    """An in-sample curve a million times its start never flattens the test curve."""
    import dataclasses

    equity = result.train.equity.copy()
    equity["value"] = equity["value"] * pd.Series(range(1, len(equity) + 1),
                                                  index=equity.index) ** 2
    huge = dataclasses.replace(result, train=dataclasses.replace(result.train, equity=equity))
    fig = draw_report(huge)
    try:
        test_ax = next(ax for ax in fig.axes if ax.get_title().startswith("test slice"))
        test = result.test.equity
        top = max(test["value"].max(), test["benchmark"].max())
        low = min(test["value"].min(), test["benchmark"].min())
        assert test_ax.get_ylim()[1] < top + (top - low) * 0.2
        assert test_ax.get_ylim()[0] > low - (top - low) * 0.2
    finally:
        plt.close(fig)
