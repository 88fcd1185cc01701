"""Walk-forward windows: boundaries, chaining, and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError
from rlbt.engine.walk_forward import chain_equity, make_windows, walk_forward


@pytest.mark.parametrize("mode", ["expanding", "rolling"])
@pytest.mark.parametrize(("n", "k", "split"), [(400, 3, 0.5), (1000, 7, 0.3), (50, 2, 0.6)])
def test_windows_never_train_on_their_test_bars(n: int, k: int, split: float, mode: str) -> None:
    windows = make_windows(n, k, split, mode)
    assert len(windows) == k
    assert windows[0].test_start == int(n * split) and windows[-1].test_end == n
    for w in windows:
        assert 0 <= w.train_start < w.test_start < w.test_end  # train strictly before test
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.test_end == b.test_start  # test slices tile the rest without overlap
    if mode == "rolling":
        lengths = {w.test_start - w.train_start for w in windows}
        assert lengths == {int(n * split)}
    else:
        assert {w.train_start for w in windows} == {0}


def test_too_many_windows_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--walk-forward=100"):
        make_windows(100, 100, 0.5, "expanding")
    with pytest.raises(ConfigError, match="--window-mode"):
        make_windows(100, 2, 0.5, "sideways")


def test_stitched_equity_is_the_windows_chained(wavy_prices: pd.DataFrame) -> None:
    result = walk_forward("sma-cross", wavy_prices, BacktestConfig(split=0.5, commission=0.001), 3)
    stitched = result.stitched
    level = 10_000.0
    for run in result.runs:
        part = stitched.loc[run.test.start : run.test.end, "value"]
        expected = run.test.equity["value"] / 10_000.0 * level
        np.testing.assert_allclose(part.to_numpy(), expected.to_numpy(), rtol=1e-12)
        level = float(part.iloc[-1])
    growth = np.prod([r.test.metrics["final_value"] / 10_000.0 for r in result.runs])
    assert result.metrics["final_value"] == pytest.approx(10_000.0 * growth, rel=1e-12)
    # Every window's test bars come after its training bars, with no gap between tests.
    for run, window in zip(result.runs, result.windows, strict=True):
        assert run.train.end < run.test.start
        assert run.test.start == wavy_prices.index[window.test_start]
    assert stitched.index.is_unique and stitched.index.is_monotonic_increasing


def test_chain_equity_by_hand() -> None:
    index = pd.date_range("2020-01-01", periods=4, freq="D")
    a = pd.DataFrame({"value": [100.0, 110.0], "benchmark": [100.0, 90.0]}, index=index[:2])
    b = pd.DataFrame({"value": [100.0, 150.0], "benchmark": [100.0, 100.0]}, index=index[2:])
    chained = chain_equity([a, b], 100.0)
    np.testing.assert_allclose(chained["value"], [100.0, 110.0, 110.0, 165.0], rtol=1e-12)
    np.testing.assert_allclose(chained["benchmark"], [100.0, 90.0, 90.0, 90.0], rtol=1e-12)


def test_cli_walk_forward_writes_windows_and_chain(tmp_path: Path) -> None:
    out = tmp_path / "wf"
    result = CliRunner().invoke(main, ["run", "sma-cross", "--walk-forward", "3", "--window-mode",
                                       "rolling", "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    assert "chained" in result.output
    assert {"window-01", "window-02", "window-03", "walk_forward.csv", "stitched_equity.csv",
            "metrics.json"} <= {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "walk_forward.csv")
    assert list(table["window"]) == [1, 2, 3]


def test_stitched_buy_and_hold_is_holding_over_the_stitched_span() -> None:
    from rlbt.engine.config import BacktestConfig
    from rlbt.engine.metrics import METRIC_KEYS
    from rlbt.engine.runner import backtest
    from rlbt.engine.walk_forward import walk_forward

    wf = walk_forward("sma-cross", "orcl", BacktestConfig(commission=0.001), 3)
    first_test = wf.runs[0].test.start
    held = backtest("buy-and-hold", "orcl", train_end=str(wf.runs[0].train.end),
                    commission=0.001)
    assert held.test.start == first_test
    assert wf.metrics["buy_and_hold"]["total_return"] == pytest.approx(
        held.test.metrics["total_return"], rel=1e-9)
    assert set(METRIC_KEYS) <= set(wf.metrics) and set(METRIC_KEYS) <= set(
        wf.metrics["buy_and_hold"])
    assert wf.metrics["trades"] == sum(len(run.test.trades) for run in wf.runs)
