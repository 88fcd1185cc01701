"""Known-answer portfolios: three assets, one with a planted, observable edge
(a hidden sign that persists with probability 0.8 drives its bar returns, so
its last return predicts its next one), two with no edge. The oracle holds
the edge asset after its up bars and cash after its down bars. Each
allocating agent trains and is selected on the train slice, then on the
held-out test slice, with 5 bp costs, it must put more weight on the edge
asset than on any other and earn at least half the oracle's log return.
Defaults were chosen on market seeds 0 and 1, not these."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.runner import backtest
from rlbt.strategies.portfolio import PortfolioStrategy

COSTS = {"commission": 0.0005}
HELD_OUT_SEEDS = (20, 21)
ASSETS = ["asset1", "asset2", "asset3"]


def planted_assets(seed: int, bars: int = 1500) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sign = np.cumprod(np.where(rng.random(bars) > 0.8, -1.0, 1.0))
    edge = 0.01 * sign + rng.normal(0.0, 0.004, bars)
    noise = [rng.normal(0.0, 0.01, bars) for _ in range(2)]
    return [make_prices(100 * np.exp(np.cumsum(r))) for r in (edge, *noise)]


class Oracle(PortfolioStrategy):
    def target_weights(self) -> Any:
        up = self.datas[0].close[0] > self.datas[0].close[-1]
        return [1.0, 0.0, 0.0] if up else [0.0, 0.0, 0.0]


def _log_return(result: Any) -> float:
    return math.log1p(result.test.metrics["total_return"])


@pytest.fixture(scope="module", params=HELD_OUT_SEEDS)
def market(request: pytest.FixtureRequest) -> tuple[int, list[pd.DataFrame], float]:
    seed = int(request.param)
    frames = planted_assets(seed)
    oracle = _log_return(backtest(Oracle, frames, seed=seed, **COSTS))
    assert oracle > 0.9  # the edge is there, costs included
    return seed, frames, oracle


@pytest.mark.parametrize("strategy", ["dqn-portfolio"])
def test_allocator_finds_the_edge_asset_out_of_sample(
    strategy: str, market: tuple[int, list[pd.DataFrame], float]
) -> None:
    seed, frames, oracle = market
    result = backtest(strategy, frames, seed=seed, **COSTS)
    weights = result.test.tables["weights"][ASSETS].mean()
    assert weights.idxmax() == "asset1", (strategy, seed, weights.to_dict())
    assert _log_return(result) >= 0.5 * oracle, (strategy, seed, _log_return(result), oracle)


def test_same_seed_same_bits() -> None:
    frames = planted_assets(3, bars=400)
    runs = [backtest("dqn-portfolio", frames, seed=7, episodes=1, **COSTS) for _ in range(2)]
    assert runs[0].test.equity["value"].to_numpy().tobytes() == \
        runs[1].test.equity["value"].to_numpy().tobytes()
    other = backtest("dqn-portfolio", frames, seed=8, episodes=1, **COSTS)
    assert not np.array_equal(other.test.equity["value"], runs[0].test.equity["value"])


@pytest.mark.parametrize("strategy", ["a2c-portfolio", "pg-portfolio"])
def test_continuous_allocators_repeat_reload_and_never_look_ahead(strategy: str,
                                                                  tmp_path: Any) -> None:
    """The softmax allocators through the runner: same seed same bits, the saved
    agent reloaded frozen repeats the frozen test, no decision reads the future.
    (Their market known-answer is not claimed: see the README's Portfolios.)"""
    from rlbt.engine.data.panel import load_panel
    from rlbt.engine.lookahead import check_lookahead

    frames = planted_assets(4, bars=400)
    run = {"seed": 3, "episodes": 1, "freeze": True, **COSTS}
    first = backtest(strategy, frames, save=str(tmp_path / "m.pt"), **run)
    again = backtest(strategy, frames, **run)
    assert first.test.equity["value"].to_numpy().tobytes() == \
        again.test.equity["value"].to_numpy().tobytes()
    weights = first.test.tables["targets"][ASSETS]
    assert (weights.sum(axis=1) < 1).all() and weights.std().gt(0).all()  # continuous
    reloaded = backtest(strategy, frames, load=str(tmp_path / "m.pt"),
                        **{**run, "episodes": 0})
    assert reloaded.test.metrics["final_value"] == first.test.metrics["final_value"]
    panel, _ = load_panel(frames)
    assert check_lookahead(strategy, panel, cuts=2, seed=3, episodes=1).clean
