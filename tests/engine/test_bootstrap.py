"""Bootstrap intervals of the test Sharpe and of its edge over buy-and-hold,
and the deflated Sharpe ratio of a sweep's best run, on cases whose answers
are known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rlbt.engine.bootstrap import block_indices, edge_sentence, sharpe_intervals, sharpe_rows
from rlbt.engine.metrics import Annualisation, _sharpe
from rlbt.engine.sweep.deflated import best_run_deflated, deflated_sharpe, expected_max_sharpe

DAILY = Annualisation(252.0)


def test_block_indices_are_wrapping_runs_of_the_stated_mean_length() -> None:
    rng = np.random.default_rng(0)
    idx = block_indices(100, 400, mean_block=5.0, rng=rng)
    assert idx.shape == (400, 100) and idx.min() >= 0 and idx.max() <= 99
    step = (np.diff(idx, axis=1) % 100) == 1
    restarts = (~step).sum() + 400  # every path starts a block at bar 0
    assert 100 * 400 / restarts == pytest.approx(5.0, rel=0.1)


def test_sharpe_rows_is_the_metrics_sharpe_of_each_row() -> None:
    returns = np.random.default_rng(1).normal(0.001, 0.01, (5, 50))
    returns[3] = 0.0  # no variance: 0, as in the metrics
    expected = [_sharpe(row, Annualisation(252.0, 0.02)) for row in returns]
    assert sharpe_rows(returns, Annualisation(252.0, 0.02)) == pytest.approx(expected)


def test_holding_the_benchmark_has_no_edge() -> None:
    bench = np.random.default_rng(2).normal(0.0005, 0.01, 500)
    out = sharpe_intervals(bench.copy(), bench, DAILY, seed=0)
    assert out["sharpe_minus_buy_and_hold"] == [0.0, 0.0] and out["p_edge_positive"] == 0.0
    assert "not distinguishable from zero" in edge_sentence(out, 1.0, 1.0)


def test_a_planted_edge_is_distinguishable_and_seeded() -> None:
    bench = np.random.default_rng(3).normal(0.0, 0.01, 750)
    strategy = bench + 0.002
    out = sharpe_intervals(strategy, bench, DAILY, seed=4)
    assert out["sharpe_minus_buy_and_hold"][0] > 0 and out["p_edge_positive"] == 1.0
    assert out == sharpe_intervals(strategy, bench, DAILY, seed=4)
    assert out != sharpe_intervals(strategy, bench, DAILY, seed=5)
    sentence = edge_sentence(out, 3.0, 0.0)
    assert "P(edge > 0) = 1.00" in sentence and "not distinguishable" not in sentence


def test_the_90_percent_interval_covers_the_true_sharpe_about_90_percent_of_the_time() -> None:
    true_mean, true_std, n = 0.0008, 0.01, 500
    truth = true_mean / true_std * math.sqrt(252)
    rng = np.random.default_rng(5)
    covered = 0
    trials = 150
    for seed in range(trials):
        sample = rng.normal(true_mean, true_std, n)
        lo, hi = sharpe_intervals(sample, sample * 0, DAILY, seed=seed, resamples=400)["sharpe"]
        covered += lo <= truth <= hi
    assert 0.80 <= covered / trials <= 0.97


def test_too_few_bars_say_so() -> None:
    out = sharpe_intervals(np.zeros(5), np.zeros(5), DAILY, seed=0)
    assert "sharpe" not in out and "no interval" in edge_sentence(out, 0.0, 0.0)


def test_deflated_sharpe_reproduces_bailey_and_lopez_de_prado() -> None:
    """Their worked example: annual Sharpe 2.5 over 1,250 daily bars, skew -3,
    kurtosis 10, the best of 100 trials whose Sharpe ratios vary by 0.5
    (annual, variance): DSR = 0.90."""
    per_bar = 2.5 / math.sqrt(250)
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 * math.sqrt(250) == pytest.approx(1.7886, abs=0.005)
    assert deflated_sharpe(per_bar, sr0, 1250, -3.0, 10.0) == pytest.approx(0.9004, abs=0.003)


def test_more_trials_deflate_the_same_best_run_more() -> None:
    def table(trials: int) -> pd.DataFrame:
        sharpe = np.linspace(-1.0, 1.5, trials)
        return pd.DataFrame({"run_id": [f"r{i}" for i in range(trials)], "wf_window": 0,
                             "test_sharpe": sharpe, "bars_per_year": 252.0, "test_bars": 750,
                             "test_skew": 0.0, "test_kurtosis": 3.0})

    few, many = best_run_deflated(table(3)), best_run_deflated(table(300))
    assert few["run_id"] == "r2" and many["trials"] == 300
    assert many["deflated_sharpe"] < few["deflated_sharpe"]
