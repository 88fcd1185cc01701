"""A2C's own parts: config, the shared-trunk network, targets and losses by hand.

The contract it shares with REINFORCE (cadence, learning, non-finite rewards,
determinism, checkpoints, resume) is tested for both in ``test_policy_gradient.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from envs import IdentityEnv, greedy_accuracy, run
from test_returns import NEXT_VALUES, REWARDS, TERMINATED, TRUNCATED, VALUES

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.agents.errors import AgentError
from rlbt.agents.rollout import RolloutBatch

LN2 = math.log(2)


def make_a2c(**overrides: Any) -> A2CAgent:
    return A2CAgent(A2CConfig(**{"obs_dim": 4, "n_actions": 4, "hidden": (32,), **overrides}))


@pytest.mark.parametrize(("field", "value"), [
    ("value_coef", -1.0), ("value_coef", math.nan), ("gae_lambda", 1.5), ("gae_lambda", "0.9"),
    ("normalize_advantages", 1),
])
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(AgentError, match=f"A2CConfig.{field}="):
        A2CConfig(**{"obs_dim": 2, "n_actions": 2, field: value})  # type: ignore[arg-type]


def test_actor_and_critic_share_one_trunk() -> None:
    agent = make_a2c(hidden=(8, 8))
    network = agent.network
    logits, values = network(torch.zeros(3, 4))
    assert logits.shape == (3, 4) and values.shape == (3,)
    trunk = {id(p) for p in network.trunk.parameters()}
    heads = {id(p) for p in [*network.policy.parameters(), *network.value.parameters()]}
    optimized = {id(p) for group in agent.optimizer.param_groups for p in group["params"]}
    assert trunk and not trunk & heads and optimized == trunk | heads


def test_targets_of_a_fixed_rollout_by_hand() -> None:
    """The rollout of test_returns.py: a terminal at t = 1, a truncation at t = 3,
    and the rollout stopping mid-episode after t = 4 (numbers worked out there)."""
    batch = RolloutBatch(np.zeros((5, 4), np.float32), np.zeros(5, np.int64), REWARDS,
                         np.zeros((5, 4), np.float32), TERMINATED, TRUNCATED)
    returns, advantages = make_a2c(gamma=0.5).targets(batch, VALUES, NEXT_VALUES)
    assert returns.tolist() == [2.0, 2.0, 12.5, 21.0, 29.0]
    assert advantages.tolist() == [1.0, 0.0, 9.5, 17.0, 24.0]
    returns, advantages = make_a2c(gamma=0.5, gae_lambda=0.5).targets(batch, VALUES, NEXT_VALUES)
    assert advantages.tolist() == [5.0, 0.0, 18.25, 17.0, 24.0]
    assert returns.tolist() == (advantages + VALUES).tolist()


def linear_a2c(**overrides: Any) -> A2CAgent:
    """hidden=(): V(s) = (1, 2) . s and a uniform policy, so the losses can be done by hand."""
    agent = A2CAgent(A2CConfig(obs_dim=2, n_actions=2, hidden=(), gamma=0.5, entropy_coef=0.1,
                               value_coef=0.5, **overrides))
    with torch.no_grad():
        agent.network.policy.weight.zero_()
        agent.network.policy.bias.zero_()
        agent.network.value.weight.copy_(torch.tensor([[1.0, 2.0]]))
        agent.network.value.bias.zero_()
    return agent


@pytest.mark.parametrize(("end", "gae_lambda", "advantages", "returns"), [
    # V(s0) = 1, V(s1) = 2, V(s'1) = 3; rewards 1, 1; gamma 0.5
    ("truncated", None, [1.25, 0.5], [2.25, 2.5]),    # R1 = 1 + 0.5 * V(s'1): bootstrap
    ("rollout_end", None, [1.25, 0.5], [2.25, 2.5]),  # mid-episode: bootstrap too
    ("terminated", None, [0.5, -1.0], [1.5, 1.0]),    # R1 = 1: the future is worth 0
    ("truncated", 1.0, [1.25, 0.5], [2.25, 2.5]),     # GAE(1) is the n-step advantage
    ("truncated", 0.0, [1.0, 0.5], [2.0, 2.5]),       # GAE(0): one-step TD errors
])
def test_losses_by_hand(
    end: str, gae_lambda: float | None, advantages: list[float], returns: list[float]
) -> None:
    agent = linear_a2c(gae_lambda=gae_lambda, rollout_bars=2 if end == "rollout_end" else 0)
    s0, s1, s1_next = (np.array(v, dtype=np.float32) for v in ([1, 0], [0, 1], [1, 1]))
    assert agent.observe(s0, 0, 1.0, s1, False, False) is None
    stats = agent.observe(s1, 1, 1.0, s1_next, end == "terminated", end == "truncated")
    assert stats is not None
    values = np.array([1.0, 2.0])
    value_loss = float(np.mean((values - np.array(returns)) ** 2))
    policy_loss = LN2 * float(np.mean(advantages))  # -(mean(log pi * A)), log pi = -ln 2
    assert stats["value_loss"] == pytest.approx(value_loss)
    assert stats["policy_loss"] == pytest.approx(policy_loss)
    assert stats["entropy"] == pytest.approx(LN2)
    assert stats["loss"] == pytest.approx(policy_loss + 0.5 * value_loss - 0.1 * LN2)


def test_normalized_advantages_have_zero_mean() -> None:
    agent = linear_a2c(normalize_advantages=True)
    s0, s1 = np.array([1, 0], dtype=np.float32), np.array([0, 1], dtype=np.float32)
    agent.observe(s0, 0, 1.0, s1, False, False)
    stats = agent.observe(s1, 1, 1.0, s0, False, True)
    assert stats is not None
    assert stats["policy_loss"] == pytest.approx(0.0, abs=1e-7)  # uniform policy: ln 2 * mean(A)
    assert stats["value_loss"] > 0  # the critic's targets are not normalised


def test_learns_the_identity_env_with_gae() -> None:
    agent = make_a2c(lr=1e-2, gamma=0.5, gae_lambda=0.95, normalize_advantages=True, seed=1)
    run(agent, IdentityEnv(4, seed=2), 1_500, explore=True)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


def test_the_critic_learns_the_value_of_a_constant_reward() -> None:
    """Reward 1 at every step and gamma 0.5: V = 1 / (1 - 0.5) = 2, bootstrapped across
    rollouts and through the truncation at each episode end."""
    agent = make_a2c(obs_dim=1, n_actions=2, hidden=(8,), lr=1e-2, gamma=0.5, rollout_bars=4,
                     max_grad_norm=None)
    obs = np.ones(1, dtype=np.float32)
    for t in range(2_000):
        agent.observe(obs, t % 2, 1.0, obs, False, t % 50 == 49)
    with torch.no_grad():
        _, value = agent.network(torch.ones(1, 1))
    assert value.item() == pytest.approx(2.0, abs=0.1)
