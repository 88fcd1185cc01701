"""``--param reward=...``: each built-in reward by hand on a short value path,
the differential Sharpe ratio against the Sharpe ratio it differentiates,
rewards as the agent receives them (one bar later), and a reward plugin."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from price_series import make_prices

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.cli import main
from rlbt.strategies.agent_strategy import AgentStrategy
from rlbt.strategies.rewards import (
    DifferentialSharpe,
    DrawdownPenalty,
    LogReturn,
    parse_reward,
)

DATA = ["--data", "orcl", "--start", "2005-01-01", "--end", "2006-12-31",
        "--episodes", "1", "--param", "hidden=16", "--param", "warmup=64"]
VALUES = [100.0, 103.0, 99.0, 97.0, 104.0]  # a 5-bar value path: up, down, down, up
STRATEGY = SimpleNamespace(p=SimpleNamespace(reward_scale=100.0))


def rewards_of(reward: Any, values: list[float]) -> list[float]:
    return [reward(STRATEGY, a, b) for a, b in zip(values, values[1:], strict=False)]


def test_log_return_by_hand() -> None:
    got = rewards_of(parse_reward("log_return"), VALUES)
    assert got == [100 * math.log(b / a) for a, b in zip(VALUES, VALUES[1:], strict=False)]


def test_drawdown_penalty_by_hand() -> None:
    got = rewards_of(parse_reward("drawdown_penalty:2"), VALUES)
    # peak 103 from bar 1: drawdowns 0, 0, 4/103, 6/103, then 0 (a new peak: no increase)
    increases = [0.0, 4 / 103, 6 / 103 - 4 / 103, 0.0]
    logs = [math.log(b / a) for a, b in zip(VALUES, VALUES[1:], strict=False)]
    assert got == pytest.approx([100 * (r - 2 * i) for r, i in zip(logs, increases, strict=True)])
    assert rewards_of(parse_reward("drawdown_penalty:0"), VALUES) == pytest.approx(
        rewards_of(LogReturn(), VALUES))


def test_differential_sharpe_by_hand() -> None:
    eta = 0.1
    got = rewards_of(parse_reward(f"differential_sharpe:{eta}"), VALUES)
    a = b = 0.0
    expected = []
    for r in (math.log(y / x) for x, y in zip(VALUES, VALUES[1:], strict=False)):
        variance = b - a * a
        expected.append(0.0 if variance <= 0 else
                        (b * (r - a) - 0.5 * a * (r * r - b)) / variance**1.5)
        a, b = a + eta * (r - a), b + eta * (r * r - b)
    assert got[0] == 0.0  # no variance before the first return
    assert got == pytest.approx(expected, rel=1e-12)
    assert parse_reward("differential_sharpe").eta == 0.01


def test_differential_sharpe_is_the_sharpe_ratio_s_derivative_in_eta() -> None:
    """Moody and Saffell: S_t = A_t / sqrt(B_t - A_t^2) of the moving moments
    moves by eta x D_t to first order. Checked by a finite difference."""
    rng = np.random.default_rng(5)
    returns = rng.normal(0.001, 0.02, 40)
    eta = 1e-7
    reward = DifferentialSharpe(0.05)
    for r in returns[:-1]:  # moments of a history, then one more step
        reward(STRATEGY, 1.0, math.exp(r))
    a, b = reward.mean, reward.square
    d = reward(STRATEGY, 1.0, math.exp(returns[-1]))
    a2, b2 = a + eta * (returns[-1] - a), b + eta * (returns[-1] ** 2 - b)
    sharpe, moved = a / math.sqrt(b - a * a), a2 / math.sqrt(b2 - a2 * a2)
    assert (moved - sharpe) / eta == pytest.approx(d, rel=1e-4)


class Recorder:
    """Acts 0, 1, 0, 1, ... and records the rewards it is paid."""

    def __init__(self) -> None:
        self.acted = 0
        self.rewards: list[float] = []

    def act(self, obs: np.ndarray, explore: bool) -> int:
        self.acted += 1
        return self.acted % 2

    def observe(self, obs, action, reward, next_obs, terminated, truncated):  # type: ignore[no-untyped-def]
        self.rewards.append(reward)


def drive(frame: pd.DataFrame, **params: Any) -> tuple[Recorder, Any]:
    agent = Recorder()
    cerebro = build_cerebro(frame, AgentStrategy, {"agent": agent, **params},
                            cash=1000.0, commission=0.001, slippage=0.0)
    return agent, cerebro.run()[0]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return make_prices(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 40))))


def values_of(strat: Any) -> np.ndarray:
    return np.array([row[1] for row in strat.analyzers.equity.get_analysis()])


def test_excess_over_hold_as_the_agent_receives_it(frame: pd.DataFrame) -> None:
    agent, strat = drive(frame, window=2, reward="excess_over_hold", reward_scale=10.0)
    values, close = values_of(strat), frame["close"].to_numpy()
    bars = range(2, len(frame) - 1)  # decided on bar t, paid on bar t+1
    expected = [10 * (math.log(values[t + 1] / values[t]) - math.log(close[t + 1] / close[t]))
                for t in bars]
    assert agent.rewards == pytest.approx(expected, abs=1e-12)
    assert strat.episode_return == pytest.approx(sum(expected))


def test_drawdown_penalty_resets_with_each_run(frame: pd.DataFrame) -> None:
    """A stateful reward is built fresh per strategy run: two runs, same rewards."""
    first, _ = drive(frame, window=2, reward="drawdown_penalty:3")
    again, strat = drive(frame, window=2, reward="drawdown_penalty:3")
    assert first.rewards == again.rewards
    assert first.rewards == pytest.approx(rewards_of(DrawdownPenalty(3.0), list(
        values_of(strat)[2:])), abs=1e-12)


CLIPPED = '''
import math

class Clipped:
    """The log value change x reward_scale, clipped to +-CAP."""

    def __init__(self, cap="1"):
        self.cap = float(cap)

    def __call__(self, strategy, previous_value, value):
        r = math.log(value / previous_value) * strategy.p.reward_scale
        return max(-self.cap, min(self.cap, r))
'''


def test_a_file_reward_plugin_runs_end_to_end(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "clipped.py"
    path.write_text(CLIPPED)
    agent, strat = drive(frame, window=2, reward=f"{path}:Clipped:0.5")
    values = values_of(strat)[2:]
    expected = [max(-0.5, min(0.5, 100 * math.log(b / a)))
                for a, b in zip(values, values[1:], strict=False)]
    assert agent.rewards == pytest.approx(expected, abs=1e-12)
    assert max(map(abs, agent.rewards)) == 0.5  # the clip bit
    result = CliRunner().invoke(main, ["run", "dqn", *DATA, "--param", f"reward={path}:Clipped",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output


def test_a_reward_plugin_that_is_not_callable_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("class NotCallable:\n    pass\n")
    result = CliRunner().invoke(main, ["run", "dqn", "--data", "orcl", "--episodes", "0",
                                       "--param", f"reward={path}:NotCallable"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: --param reward") and "not callable" in result.output
