"""Known-answer markets: every learning agent finds a planted, observable edge
and keeps it out of sample.

The market: a hidden sign that persists from bar to bar with probability 0.8
drives each bar's return (1% in its direction plus noise), so the sign of the
last return - which every observation contains - predicts the next one.
The oracle knows the rule: long after an up bar, flat after a down bar. Each
agent trains and is selected on the train slice (its validation part), then
is judged once on the held-out test slice, with 5 bp costs, against half the
oracle's log return there. The defaults were chosen on other market seeds
(0, 1, 10-12) than these.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.runner import backtest
from rlbt.strategies.exposure import ExposureStrategy

COSTS = {"commission": 0.0005}  # 5 bp a fill
HELD_OUT_SEEDS = (20, 21)


def planted_market(seed: int, bars: int = 1500, persist: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    flips = rng.random(bars) > persist
    sign = np.cumprod(np.where(flips, -1.0, 1.0))
    returns = 0.01 * sign + rng.normal(0.0, 0.004, bars)
    return make_prices(100 * np.exp(np.cumsum(returns)))


class Oracle(ExposureStrategy):
    """The planted rule: long after an up bar, flat after a down bar."""

    def decide(self) -> int:
        return 1 if self.data.close[0] > self.data.close[-1] else 0


def _log_return(result: object) -> float:
    return math.log1p(result.test.metrics["total_return"])  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=HELD_OUT_SEEDS)
def market(request: pytest.FixtureRequest) -> tuple[int, pd.DataFrame, float]:
    seed = int(request.param)
    frame = planted_market(seed)
    oracle = _log_return(backtest(Oracle, frame, seed=seed, **COSTS))
    assert oracle > 0.5  # the edge is there to be found, costs included
    return seed, frame, oracle


@pytest.mark.parametrize("strategy", ["dqn", "qtable", "pg", "a2c", "lstm"])
def test_agent_earns_half_the_oracle_out_of_sample(
    strategy: str, market: tuple[int, pd.DataFrame, float]
) -> None:
    seed, frame, oracle = market
    result = backtest(strategy, frame, seed=seed, **COSTS)
    earned = _log_return(result)
    assert earned >= 0.5 * oracle, (strategy, seed, earned, oracle)
    # and it did so by trading the rule, not by holding: buy-and-hold is far below
    assert earned > math.log1p(result.test.benchmark["total_return"]) + 0.3
