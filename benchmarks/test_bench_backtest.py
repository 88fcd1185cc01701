"""End to end: bars per second of a 20,000-bar backtest through rlbt's Cerebro.

A plain SMA-cross strategy, the DQN strategy acting greedily without learning,
and the DQN strategy learning every 4 bars at batch 64 (its fast path and its
torch reference), each with rlbt's full broker and analyzers; beside them
stable-baselines3's DQN learning on gym-anytrading's ``stocks-v0`` (steps/s,
same network, batch and cadence) and two floors: an empty strategy in rlbt's
Cerebro and in a bare one. Building the Cerebro and the agent is setup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from bench_common import full_run, label, peer
from peers import sb3_dqn

from rlbt.engine.cerebro import build_cerebro, run_cerebro
from rlbt.engine.compat import bt
from rlbt.engine.data.feed import make_feed
from rlbt.engine.params import Rule
from rlbt.strategies.baselines import SmaCross
from rlbt.strategies.dqn_strategy import DQNStrategy

BARS = 20_000
SMALL_BARS = 1_200  # timing disabled: enough for the DQN's 256-bar warmup and some updates
DQN_PARAMS = {"learn_every": 4, "batch_size": 64}
BROKER = {"cash": 10_000.0, "commission": 0.0, "slippage": 0.0}


def price_frame(bars: int, seed: int = 0) -> pd.DataFrame:
    """A geometric random walk of daily bars with valid OHLC (low <= open, close <= high)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, bars)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0, 0.002, bars))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, bars)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, bars)))
    index = pd.bdate_range("1940-01-01", periods=bars, name="datetime")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": np.full(bars, 1e6)}, index=index)


class Empty(bt.Strategy):  # type: ignore[misc]
    """Does nothing: what backtrader and the analyzers cost on their own."""

    def next(self) -> None:
        pass


def bare_cerebro(frame: pd.DataFrame) -> Any:
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1)
    cerebro.adddata(make_feed(frame))
    cerebro.addstrategy(Empty)
    return cerebro


class NoOrdersDQN(DQNStrategy):
    """Two actions that are both flat, so no order is ever sent: the floor of
    the order path. Users are refused repeated positions (a mistake for them);
    this benchmark wants exactly that, so it lifts the ``distinct`` rule."""

    param_rules: ClassVar[dict[str, Rule]] = {"positions": Rule(low=0.0, high=0.0, min_items=2)}


def dqn_cerebro(
    frame: pd.DataFrame, *, learn: bool, fast: bool = True, analyzers: bool = True,
    positions: tuple[float, ...] = (0.0, 1.0),
) -> Any:
    params = {**DQN_PARAMS, "fast": fast, "positions": positions}
    cls = NoOrdersDQN if set(positions) == {0.0} else DQNStrategy
    agent = cls.build_agent(params, seed=0, device="cpu", threads=1)
    run_params = {**params, "agent": agent, "learn": learn, "explore": learn}
    return build_cerebro(frame, cls, run_params, analyzers=analyzers, **BROKER)


CASES: dict[str, tuple[str, Callable[[pd.DataFrame], Any]]] = {
    "SMA cross": ("baseline", lambda f: build_cerebro(f, SmaCross, {}, **BROKER)),
    "DQN greedy, not learning": ("rlbt", lambda f: dqn_cerebro(f, learn=False)),
    "DQN learning every 4 bars, B=64": ("rlbt", lambda f: dqn_cerebro(f, learn=True)),
    "DQN learning, torch reference": ("rlbt", lambda f: dqn_cerebro(f, learn=True, fast=False)),
    # What `--episodes` training passes run: the same, without analyzers.
    "DQN learning, training pass (no analyzers)": (
        "rlbt",
        lambda f: dqn_cerebro(f, learn=True, analyzers=False),
    ),
    # The same pass sending no orders: its ratio to the pass above is what the
    # order path costs (target >= 0.9).
    "DQN learning, training pass, no orders (positions=0,0)": (
        "floor",
        lambda f: dqn_cerebro(f, learn=True, analyzers=False, positions=(0.0, 0.0)),
    ),
    "empty strategy, rlbt Cerebro (floor)": ("floor", lambda f: build_cerebro(f, Empty, {},
                                                                             **BROKER)),
    "empty strategy, bare Cerebro (floor)": ("floor", bare_cerebro),
}
GROUP = "backtest bars/s, 20,000 bars"


@pytest.fixture(scope="module")
def frames() -> dict[int, pd.DataFrame]:
    return {BARS: price_frame(BARS), SMALL_BARS: price_frame(SMALL_BARS)}


@pytest.mark.parametrize("case", list(CASES))
def test_backtest(benchmark: Any, frames: dict[int, pd.DataFrame], case: str) -> None:
    bars = BARS if full_run(benchmark) else SMALL_BARS
    role, make = CASES[case]
    frame = frames[bars]

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (make(frame),), {}

    label(benchmark, GROUP, case, role, per_call=bars, unit="bars")
    benchmark.pedantic(run_cerebro, setup=setup, rounds=3 if full_run(benchmark) else 1)


@pytest.mark.filterwarnings("ignore")  # gym-anytrading's and SB3's own warnings
def test_sb3_dqn_on_gym_anytrading(benchmark: Any) -> None:
    gym = peer("gymnasium")
    peer("gym_anytrading")  # registers stocks-v0
    steps = BARS if full_run(benchmark) else 300

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        model = sb3_dqn(gym.make("stocks-v0"), batch=64, buffer_size=100_000,
                        learning_starts=256 if full_run(benchmark) else 100)
        return (model,), {}

    label(benchmark, GROUP, "stable-baselines3 DQN on gym-anytrading stocks-v0", "peer",
          per_call=steps, unit="steps")
    benchmark.pedantic(lambda model: model.learn(steps), setup=setup,
                       rounds=3 if full_run(benchmark) else 1)
