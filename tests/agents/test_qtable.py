"""Tabular Q-learning: discretisation, the update rule, learning, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from envs import FlipEnv, IdentityEnv, greedy_accuracy, run
from hypothesis import given
from hypothesis import strategies as st

from rlbt.agents.base import Agent
from rlbt.agents.errors import AgentError
from rlbt.agents.qtable import QTableAgent, QTableConfig


def make_agent(obs_dim: int = 4, n_actions: int = 4, **overrides: object) -> QTableAgent:
    return QTableAgent(QTableConfig(obs_dim=obs_dim, n_actions=n_actions, **overrides))  # type: ignore[arg-type]


def test_follows_the_agent_protocol() -> None:
    agent = make_agent()
    assert isinstance(agent, Agent)
    assert (agent.obs_dim, agent.n_actions) == (4, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [("obs_dim", 0), ("n_actions", 1), ("lr", 0.0), ("lr", 1.5), ("gamma", -0.1),
     ("eps_end", 2.0), ("eps_decay_steps", -1), ("seed", -1), ("bins", ()),
     ("bins", (1.0, 0.0)), ("bins", (math.nan,)), ("obs_dim", 13), ("lr", True)],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    settings: dict[str, object] = {"obs_dim": 2, "n_actions": 2, field: value}
    with pytest.raises(AgentError, match=field):
        QTableConfig(**settings)  # type: ignore[arg-type]


def test_too_many_states_is_an_error_that_says_how_to_fix_it() -> None:
    with pytest.raises(AgentError, match="fewer bins"):
        QTableConfig(obs_dim=13, n_actions=3)  # 3**13 > 1e6


def test_default_bins_are_the_sign_of_each_feature() -> None:
    agent = make_agent(obs_dim=2, n_actions=2)
    assert agent.q_table.shape == (9, 2)
    # (sign of feature 0, sign of feature 1) in base 3, with - / 0 / + as 0 / 1 / 2
    assert agent.state_index(np.array([-0.5, -0.5])) == 0
    assert agent.state_index(np.array([0.0, 0.0])) == 4
    assert agent.state_index(np.array([0.3, -1.0])) == 6
    assert agent.state_index(np.array([0.3, 1.0])) == 8


@given(st.lists(st.integers(0, 2), min_size=3, max_size=3))
def test_each_bin_tuple_has_its_own_row(digits: list[int]) -> None:
    agent = make_agent(obs_dim=3, n_actions=2, bins=(0.5, 1.5))
    obs = np.asarray(digits, dtype=np.float64)  # 0, 1, 2 fall in bins 0, 1, 2
    assert agent.state_index(obs) == digits[0] * 9 + digits[1] * 3 + digits[2]


def test_bad_observations_are_rejected() -> None:
    agent = make_agent(obs_dim=2, n_actions=2)
    with pytest.raises(AgentError, match="shape"):
        agent.act(np.zeros(3), explore=False)
    with pytest.raises(AgentError, match="NaN"):
        agent.act(np.array([0.0, math.nan]), explore=False)
    with pytest.raises(AgentError, match="action"):
        agent.observe(np.zeros(2), 5, 1.0, np.zeros(2), False, False)


@pytest.mark.parametrize(("terminated", "truncated", "expected"), [
    (True, False, 1.0),          # terminal: no bootstrap
    (False, True, 1.0 + 0.5 * 4.0),  # end of data: still bootstraps from next_obs
    (False, False, 1.0 + 0.5 * 4.0),
])
def test_only_termination_zeroes_the_bootstrap(
    terminated: bool, truncated: bool, expected: float
) -> None:
    agent = make_agent(obs_dim=1, n_actions=2, lr=1.0, gamma=0.5)
    obs, next_obs = np.array([-1.0]), np.array([1.0])
    agent.q_table[agent.state_index(next_obs)] = [3.0, 4.0]
    stats = agent.observe(obs, 1, 1.0, next_obs, terminated, truncated)
    assert agent.q_table[agent.state_index(obs), 1] == pytest.approx(expected)
    assert stats is not None and stats["loss"] == pytest.approx(expected**2)


@pytest.mark.parametrize("reward", [math.nan, math.inf, -math.inf])
def test_a_non_finite_reward_never_reaches_the_table(reward: float) -> None:
    agent = make_agent(obs_dim=1, n_actions=2)
    stats = agent.observe(np.array([1.0]), 0, reward, np.array([1.0]), False, False)
    assert stats is not None and stats["skipped_nonfinite"] == 1.0
    assert np.all(agent.q_table == 0.0)
    agent.observe(np.array([1.0]), 0, 1.0, np.array([1.0]), False, False)
    assert np.isfinite(agent.q_table).all() and agent.updates == 1


def test_learns_the_identity_env() -> None:
    agent = make_agent(obs_dim=4, n_actions=4, eps_decay_steps=500, seed=1)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) < 0.5  # untrained: always action 0
    run(agent, IdentityEnv(4, seed=2), 1500, explore=True)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


def test_learns_to_flip() -> None:
    agent = make_agent(obs_dim=2, n_actions=2, eps_decay_steps=300, seed=1)
    assert greedy_accuracy(agent, FlipEnv()) == 0.0  # untrained: always repeats action 0
    run(agent, FlipEnv(), 1000, explore=True)
    assert greedy_accuracy(agent, FlipEnv()) >= 0.9


def train_fingerprint(seed: int) -> tuple[list[int], np.ndarray]:
    agent = make_agent(eps_decay_steps=200, seed=seed)
    actions, _ = run(agent, IdentityEnv(4, seed=5), 300, explore=True)
    return actions, agent.q_table


def test_same_seed_same_decisions_whatever_the_global_seeds() -> None:
    np.random.seed(1)
    actions_a, table_a = train_fingerprint(seed=7)
    np.random.seed(2)
    actions_b, table_b = train_fingerprint(seed=7)
    assert actions_a == actions_b
    assert np.array_equal(table_a, table_b)
    actions_c, _ = train_fingerprint(seed=8)
    assert actions_a != actions_c
