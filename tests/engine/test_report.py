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
        price, equity, drawdown = fig.axes[:3]
        assert len(fig.axes) == 3  # no training log, no forecasts
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
        assert len(fig.axes) > 3  # learning curves were added
    finally:
        plt.close(fig)
