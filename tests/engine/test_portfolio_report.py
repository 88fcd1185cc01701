"""report.png and report.html of a portfolio run: the weights held, both
equal-weight benchmarks and the per-asset contribution."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlbt.engine.output.report import write_report
from rlbt.engine.output.report_portfolio import contributions, held_weights
from rlbt.engine.runner import backtest


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return backtest("momentum-topk", "orcl,nvda,yhoo", start="2010-01-01", commission=0.001,
                    params={"lookback": 21})


def test_png_and_html_are_written(result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("plotly")
    from rlbt.engine.output.html_report import write_html_report

    assert write_report(result, tmp_path / "report.png").stat().st_size > 10_000
    page = write_html_report(result, tmp_path / "report.html").read_text()
    for text in ("orcl (test)", "nvda (test)", "yhoo (test)", "cash (test)",
                 "equal-weight rebalanced", "per asset (trades"):
        assert text in page, text


def test_weights_panel_covers_every_bar_and_sums_to_one(result) -> None:  # type: ignore[no-untyped-def]
    weights = held_weights(result.test)
    assert weights.index.equals(result.test.equity.index)
    assert np.allclose(weights.sum(axis=1), 1.0)


def test_contributions_add_up_to_the_trades(result) -> None:  # type: ignore[no-untyped-def]
    pnl = contributions(result.test)
    trades = result.test.trades
    assert list(pnl.index) == ["orcl", "nvda", "yhoo"]
    for asset in pnl.index:
        assert pnl[asset] == pytest.approx(trades.loc[trades["asset"] == asset, "pnl_net"].sum())
    # every asset's net P&L, commission included, is the change in value, costs of the
    # trades' commissions included, up to the cash left over
    change = result.test.equity["value"].iloc[-1] - result.test.equity["value"].iloc[0]
    assert pnl.sum() == pytest.approx(change, rel=1e-6)
