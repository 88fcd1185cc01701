"""How sure a test Sharpe is: a stationary block bootstrap (Politis and
Romano, 1994) of the test slice's per-bar returns, paired with buy-and-hold's
on the same bars.

Blocks of random length (geometric, mean ``mean_block``) starting at random
bars, wrapping around, keep the returns' short-range dependence (volatility
clusters) that resampling single bars would destroy. Each resample draws the
same bars for the strategy and for buy-and-hold, so the interval of the
difference of their Sharpe ratios is a paired one. Seeded: the same run
gives the same interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rlbt.engine.metrics import Annualisation

RESAMPLES = 2000
LEVEL = 0.90
_CHUNK_CELLS = 1_000_000  # resamples x bars held at once: bounded memory on long series


def block_indices(n: int, count: int, mean_block: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` stationary-bootstrap index paths over ``n`` bars, shape (count, n)."""
    restart = rng.random((count, n)) < 1.0 / mean_block
    restart[:, 0] = True
    starts = rng.integers(0, n, size=(count, n))
    # Offset since the last restart: position - position of the last restart.
    positions = np.broadcast_to(np.arange(n), (count, n))
    last = np.maximum.accumulate(np.where(restart, positions, 0), axis=1)
    first = np.take_along_axis(starts, last, axis=1)
    return (first + positions - last) % n


def sharpe_rows(returns: np.ndarray, annual: Annualisation) -> np.ndarray:
    """``metrics._sharpe`` of every row (0 where a row has no variance)."""
    excess = returns - annual.per_bar_risk_free
    std = excess.std(axis=1, ddof=1)
    mean = excess.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 0, mean / std, 0.0)
    return sharpe * math.sqrt(annual.bars_per_year)


def sharpe_intervals(
    strategy: np.ndarray, benchmark: np.ndarray, annual: Annualisation, *, seed: int,
    resamples: int = RESAMPLES, level: float = LEVEL, mean_block: float | None = None,
) -> dict[str, Any]:
    """Bootstrap intervals of the strategy's Sharpe and of its Sharpe minus
    buy-and-hold's, and the share of resamples where that edge is positive.

    :param strategy: per-bar simple returns of the strategy on the test slice.
    :param benchmark: buy-and-hold's per-bar returns on the same bars.
    :param mean_block: mean block length in bars [default: n ** (1/3), at least 1].
    """
    n = len(strategy)
    if n != len(benchmark):
        raise ValueError(f"{n} strategy returns vs {len(benchmark)} benchmark returns")
    if n < 10:
        return {"bars": n, "note": "fewer than 10 test bars: no interval"}
    block = float(mean_block or max(1.0, round(n ** (1 / 3))))
    rng = np.random.default_rng([seed, 0xB007])
    mine, edge = [], []
    per_chunk = max(1, _CHUNK_CELLS // n)
    for done in range(0, resamples, per_chunk):
        idx = block_indices(n, min(per_chunk, resamples - done), block, rng)
        s, b = sharpe_rows(strategy[idx], annual), sharpe_rows(benchmark[idx], annual)
        mine.append(s)
        edge.append(s - b)
    sharpe, diff = np.concatenate(mine), np.concatenate(edge)
    tail = (1.0 - level) / 2 * 100
    return {
        "level": level,
        "resamples": resamples,
        "mean_block": block,
        "bars": n,
        "sharpe": [float(v) for v in np.percentile(sharpe, [tail, 100 - tail])],
        "sharpe_minus_buy_and_hold": [float(v) for v in np.percentile(diff, [tail, 100 - tail])],
        "p_edge_positive": float(np.mean(diff > 0)),
    }


def edge_sentence(bootstrap: dict[str, Any], sharpe: float, benchmark_sharpe: float) -> str:
    """One line for the console: the intervals, and whether the edge is distinguishable."""
    if "sharpe" not in bootstrap:
        return f"Test Sharpe: {bootstrap.get('note', 'no interval')}."
    lo, hi = bootstrap["sharpe"]
    dlo, dhi = bootstrap["sharpe_minus_buy_and_hold"]
    pct = f"{bootstrap['level']:.0%}"
    line = (f"Test Sharpe {sharpe:.2f} ({pct} interval {lo:.2f} .. {hi:.2f}); minus "
            f"buy-and-hold's {sharpe - benchmark_sharpe:+.2f} ({pct} {dlo:+.2f} .. {dhi:+.2f}), "
            f"P(edge > 0) = {bootstrap['p_edge_positive']:.2f}")
    if dlo <= 0 <= dhi:
        return line + ": the edge over buy-and-hold is not distinguishable from zero."
    return line + (": buy-and-hold did better." if dhi < 0 else ".")
