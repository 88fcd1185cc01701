"""The deflated Sharpe ratio (Bailey and Lopez de Prado, 2014) of a sweep's
best run: the probability that its Sharpe is skill rather than the best of
N lucky draws (N = cells x seeds tried), given its returns' skew and
kurtosis over T bars.

Per-bar Sharpe ratios throughout (annual / sqrt(bars per year)). The
benchmark SR0 is the expected maximum of N Sharpe ratios of strategies with
no skill whose spread is the spread seen across the sweep:
SR0 = sqrt(V) * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e))), g Euler's
constant; DSR = Z((SR - SR0) sqrt(T - 1) / sqrt(1 - skew SR + (kurt - 1)/4 SR^2)).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the expected best per-bar Sharpe of ``trials`` skill-less strategies."""
    if trials < 2 or not variance > 0:
        return 0.0
    z = NormalDist().inv_cdf
    return math.sqrt(variance) * (
        (1 - EULER_GAMMA) * z(1 - 1 / trials) + EULER_GAMMA * z(1 - 1 / (trials * math.e))
    )


def deflated_sharpe(sharpe: float, sr0: float, bars: int, skew: float, kurtosis: float) -> float:
    """Probability that the true per-bar Sharpe exceeds ``sr0`` (``kurtosis`` not excess)."""
    spread = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if bars < 2 or not spread > 0:
        return math.nan
    return NormalDist().cdf((sharpe - sr0) * math.sqrt(bars - 1) / math.sqrt(spread))


def best_run_deflated(rows: pd.DataFrame) -> dict[str, Any]:
    """DSR of the run with the highest test Sharpe among ``rows`` (single-split runs)."""
    need = {"test_sharpe", "test_bars", "test_skew", "test_kurtosis", "bars_per_year"}
    runs = rows[rows.get("wf_window", 0) == 0] if "wf_window" in rows else rows
    if runs.empty or not need <= set(runs.columns):
        return {}
    per_bar = runs["test_sharpe"].to_numpy(float) / np.sqrt(runs["bars_per_year"].to_numpy(float))
    finite = np.isfinite(per_bar)
    if finite.sum() == 0:
        return {}
    best = int(np.nanargmax(np.where(finite, per_bar, -np.inf)))
    row = runs.iloc[best]
    trials = int(finite.sum())
    variance = float(np.var(per_bar[finite], ddof=1)) if trials > 1 else 0.0
    sr0 = expected_max_sharpe(trials, variance)
    return {
        "run_id": str(row["run_id"]),
        "trials": trials,
        "test_sharpe": float(row["test_sharpe"]),
        "expected_max_sharpe_of_trials": sr0 * math.sqrt(float(row["bars_per_year"])),
        "deflated_sharpe": deflated_sharpe(
            float(per_bar[best]),
            sr0,
            int(row["test_bars"]),
            float(row["test_skew"]),
            float(row["test_kurtosis"]),
        ),
    }
