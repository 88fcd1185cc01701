"""The bar-to-agent bridge with a scripted agent: timing of observations,
actions, rewards and the end-of-data truncation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.errors import ConfigError
from rlbt.strategies.agent_strategy import AgentStrategy


class ScriptedAgent:
    """Follows a fixed action list and records everything it is told."""

    def __init__(self, actions: list[int]) -> None:
        self.actions = actions
        self.seen: list[np.ndarray] = []
        self.transitions: list[tuple[Any, ...]] = []

    def act(self, obs: np.ndarray, explore: bool) -> int:
        self.seen.append(obs.copy())
        return self.actions[(len(self.seen) - 1) % len(self.actions)]

    def observe(self, obs, action, reward, next_obs, terminated, truncated):  # type: ignore[no-untyped-def]
        transition = (obs.copy(), action, reward, next_obs.copy(), terminated, truncated)
        self.transitions.append(transition)
        return None


def _run(frame: pd.DataFrame, agent: ScriptedAgent, **params: Any) -> Any:
    cerebro = build_cerebro(frame, AgentStrategy, {"agent": agent, "window": 2, **params},
                            cash=1000.0, commission=0.001, slippage=0.0)
    strat = cerebro.run()[0]
    return strat, cerebro


@pytest.fixture
def frame() -> pd.DataFrame:
    return make_prices(np.array([10.0, 11, 12, 11, 13, 14, 12, 15, 16, 15]))


def test_transitions_arrive_one_bar_later_with_the_log_value_reward(frame: pd.DataFrame) -> None:
    agent = ScriptedAgent([1, 1, 0, 1])
    strat, _ = _run(frame, agent)
    values = [row[1] for row in strat.analyzers.equity.get_analysis()]
    decided = len(frame) - 2  # window 2 needs 3 closes: first decision on bar 3
    assert len(agent.seen) == decided
    assert len(agent.transitions) == decided - 1
    for i, (obs, action, reward, next_obs, terminated, _) in enumerate(agent.transitions):
        bar = i + 2  # index of the bar the action was decided on
        assert reward == pytest.approx(100 * math.log(values[bar + 1] / values[bar]), abs=1e-12)
        np.testing.assert_array_equal(obs, agent.seen[i])
        np.testing.assert_array_equal(next_obs, agent.seen[i + 1])
        assert action == agent.actions[i % 4] and terminated is False


def test_end_of_data_is_truncation(frame: pd.DataFrame) -> None:
    agent = ScriptedAgent([1])
    _run(frame, agent)
    flags = [t[5] for t in agent.transitions]
    assert flags[-1] is True and not any(flags[:-1])


def test_observation_carries_the_filled_exposure(frame: pd.DataFrame) -> None:
    agent = ScriptedAgent([1, 1, 0, 0])
    _run(frame, agent)
    exposures = [obs[-1] for obs in agent.seen]
    # Decided long at bars 0-1 of the script, filled one bar later, and so on.
    assert exposures[:5] == [0.0, 1.0, 1.0, 0.0, 0.0]


def test_long_position_earns_the_open_to_close_move(frame: pd.DataFrame) -> None:
    agent = ScriptedAgent([1])
    strat, cerebro = _run(frame, agent, reward_scale=1.0)
    # First decision at bar 2, filled at bar 3's open; held to the last close.
    shares = 1000.0 * (1 - 1e-9) / (frame["open"].iloc[3] * 1.001)
    expected = 1000.0 - shares * frame["open"].iloc[3] * 1.001 + shares * frame["close"].iloc[-1]
    assert cerebro.broker.getvalue() == pytest.approx(expected, rel=1e-12)
    total_reward = sum(t[2] for t in agent.transitions)
    values = [row[1] for row in strat.analyzers.equity.get_analysis()]
    assert total_reward == pytest.approx(math.log(values[-1] / values[2]), abs=1e-12)


def test_learn_false_stores_nothing(frame: pd.DataFrame) -> None:
    agent = ScriptedAgent([0, 1])
    strat, _ = _run(frame, agent, learn=False)
    assert agent.transitions == [] and len(agent.seen) == len(frame) - 2
    assert strat.episode_stats()["return"] != 0.0


def test_missing_agent_is_a_config_error(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="needs an agent"):
        build_cerebro(frame, AgentStrategy, {}, cash=1000.0, commission=0, slippage=0).run()


@pytest.mark.parametrize(("preload", "runonce"), [(True, True), (True, False)])
def test_precomputed_and_bar_by_bar_observations_agree(
    frame: pd.DataFrame, preload: bool, runonce: bool
) -> None:
    """The preloaded path slices precomputed features; without preload the bridge
    builds them from the lines. Same observations either way."""

    def seen(preload: bool, runonce: bool) -> list[np.ndarray]:
        agent = ScriptedAgent([1, 0, 0, 1])
        cerebro = build_cerebro(frame, AgentStrategy, {"agent": agent, "window": 3},
                                cash=1000.0, commission=0.001, slippage=0.0,
                                preload=preload, runonce=runonce)
        cerebro.run()
        return agent.seen

    reference = seen(False, False)  # no preload: built bar by bar from the lines
    assert len(reference) == len(frame) - 3  # window 3 needs 4 closes
    for a, b in zip(seen(preload, runonce), reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_greedy_table_gives_the_same_decisions_as_acting_bar_by_bar() -> None:
    from rlbt.engine.runner import backtest

    class NoTable:
        """The same agent without greedy_actions: the bridge acts bar by bar."""

        def __init__(self, agent: Any) -> None:
            self.agent = agent

        def act(self, obs: np.ndarray, explore: bool) -> int:
            return int(self.agent.act(obs, explore))

        def observe(self, *args: Any) -> None:
            raise AssertionError("a frozen run must not learn")

    frame = make_prices(100 + 10 * np.sin(np.arange(300) / 7))
    params = {"hidden": (16,), "warmup": 32, "window": 5, "positions": (0.0, 1.0, -1.0)}
    result = backtest("dqn", frame, episodes=1, params=params, freeze=True)
    table = result.test.actions
    cerebro = build_cerebro(frame, AgentStrategy,
                            {"agent": NoTable(result.agent), "window": 5, "learn": False,
                             "explore": False, "positions": (0.0, 1.0, -1.0),
                             "trade_start": table.index[0].to_pydatetime()},
                            cash=10_000.0, commission=0.0, slippage=0.0)
    strat = cerebro.run()[0]
    by_bar = pd.DataFrame(strat.decisions, columns=["datetime", "action", "exposure"])
    np.testing.assert_array_equal(by_bar["action"].to_numpy(), table["action"].to_numpy())
    assert set(table["action"]) != {table["action"].iloc[0]}  # it does change its mind
