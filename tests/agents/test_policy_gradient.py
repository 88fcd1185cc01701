"""REINFORCE, and the on-policy contract it shares with A2C (tests parametrized over both).

A2C's own loss and targets are in ``test_a2c.py``; returns by hand in ``test_returns.py``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from envs import Env, IdentityEnv, TwoArmedBandit, greedy_accuracy, one_hot, run

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.agents.base import Agent
from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.policy_gradient import OnPolicyAgent, PolicyGradientAgent, PolicyGradientConfig

SMALL: dict[str, Any] = {"obs_dim": 4, "n_actions": 4, "hidden": (32,)}
MakeAgent = Callable[..., OnPolicyAgent[Any]]


def make_reinforce(**overrides: Any) -> PolicyGradientAgent:
    return PolicyGradientAgent(PolicyGradientConfig(**{**SMALL, **overrides}))


def make_a2c(**overrides: Any) -> A2CAgent:
    return A2CAgent(A2CConfig(**{**SMALL, **overrides}))


@pytest.fixture(params=[make_reinforce, make_a2c], ids=["reinforce", "a2c"])
def make_agent(request: pytest.FixtureRequest) -> MakeAgent:
    """Each shared test runs for both agents: ``make_agent(seed=3, lr=1e-2)``."""
    factory: MakeAgent = request.param
    return factory


# --------------------------------------------------------------------------- contract and errors


def test_follows_the_agent_protocol(make_agent: MakeAgent) -> None:
    agent = make_agent()
    assert isinstance(agent, Agent)
    assert (agent.obs_dim, agent.n_actions) == (4, 4)


@pytest.mark.parametrize("config_class", [PolicyGradientConfig, A2CConfig])
@pytest.mark.parametrize(("field", "value"), [
    ("obs_dim", 0), ("n_actions", 1), ("hidden", [64]), ("hidden", (0,)), ("lr", 0.0),
    ("lr", math.inf), ("gamma", 1.5), ("entropy_coef", -0.1), ("rollout_bars", -1),
    ("rollout_bars", 2.0), ("max_grad_norm", 0.0), ("seed", -3), ("device", 0),
])
def test_config_rejects_bad_values_naming_the_field(
    config_class: type, field: str, value: object
) -> None:
    with pytest.raises(AgentError, match=f"{config_class.__name__}.{field}="):
        config_class(**{"obs_dim": 2, "n_actions": 2, field: value})


@pytest.mark.parametrize(("field", "value"), [
    ("normalize_returns", 1), ("rollout_bars", 1),  # one return normalises to 0
])
def test_reinforce_config_rejects(field: str, value: object) -> None:
    with pytest.raises(AgentError, match=f"PolicyGradientConfig.{field}="):
        PolicyGradientConfig(**{"obs_dim": 2, "n_actions": 2, field: value})  # type: ignore[arg-type]


def test_one_transition_rollouts_are_fine_without_normalisation() -> None:
    assert PolicyGradientConfig(obs_dim=2, n_actions=2, rollout_bars=1, normalize_returns=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_asking_for_cuda_without_cuda_is_a_clear_error(make_agent: MakeAgent) -> None:
    with pytest.raises(AgentError, match="no CUDA device; use device='cpu'"):
        make_agent(device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda(make_agent: MakeAgent, tmp_path: Path) -> None:
    agent = make_agent(device="cuda", rollout_bars=8)
    run(agent, IdentityEnv(4), 100, explore=True)
    assert agent.updates > 0
    assert next(agent.network.parameters()).device.type == "cuda"
    agent.save(tmp_path / "agent.pt")
    assert type(agent).from_checkpoint(tmp_path / "agent.pt", device="cpu").device.type == "cpu"


def test_rejects_observations_of_the_wrong_shape(make_agent: MakeAgent) -> None:
    agent, good, bad = make_agent(), np.zeros(4, np.float32), np.zeros(3, np.float32)
    with pytest.raises(AgentError, match=r"shape \(3,\), expected \(4,\)"):
        agent.act(bad, explore=True)
    with pytest.raises(AgentError, match=r"next_obs has shape \(3,\), expected \(4,\)"):
        agent.observe(good, 0, 0.0, bad, False, False)


@pytest.mark.parametrize("action", [-1, 4, 1.0, True])
def test_observe_rejects_an_action_out_of_range(make_agent: MakeAgent, action: object) -> None:
    obs = np.zeros(4, dtype=np.float32)
    with pytest.raises(AgentError, match="action="):
        make_agent().observe(obs, action, 0.0, obs, False, False)  # type: ignore[arg-type]


def test_acts_on_read_only_and_float64_observations(make_agent: MakeAgent) -> None:
    obs = np.zeros(4)
    obs.flags.writeable = False
    agent = make_agent()
    assert 0 <= agent.act(obs, explore=False) < 4
    assert 0 <= agent.act(obs, explore=True) < 4


def test_learn_with_an_empty_rollout_is_an_error(make_agent: MakeAgent) -> None:
    with pytest.raises(AgentError, match="rollout is empty"):
        make_agent().learn()


# --------------------------------------------------------------------------- cadence and stats


@pytest.mark.parametrize(("rollout_bars", "ends", "learned"), [
    (0, {}, []),
    (0, {5: "terminated", 9: "truncated"}, [6, 10]),
    (4, {}, [4, 8, 12]),
    (4, {5: "truncated"}, [4, 6, 10]),  # an episode end restarts the count
])
def test_learns_at_each_rollout_and_episode_end(
    make_agent: MakeAgent, rollout_bars: int, ends: dict[int, str], learned: list[int]
) -> None:
    agent = make_agent(rollout_bars=rollout_bars)
    obs = np.ones(4, dtype=np.float32)
    results = [agent.observe(obs, t % 4, float(t % 3), obs, ends.get(t) == "terminated",
                             ends.get(t) == "truncated") for t in range(12)]
    assert [t + 1 for t, stats in enumerate(results) if stats is not None] == learned
    assert agent.updates == len(learned)
    assert len(agent.rollout) == 12 - (learned[-1] if learned else 0)


def test_learn_returns_the_loss_terms_and_counters(make_agent: MakeAgent) -> None:
    agent = make_agent()
    for t in range(5):
        agent.observe(one_hot(t % 4, 4), t % 4, float(t), one_hot(0, 4), False, False)
    stats = agent.learn()
    expected = {"policy_loss", "entropy", "loss", "grad_norm", "updates", "skipped_nonfinite"}
    if isinstance(agent, A2CAgent):
        expected.add("value_loss")
    assert set(stats) == expected
    assert all(math.isfinite(value) for value in stats.values())
    assert (stats["updates"], stats["skipped_nonfinite"]) == (1.0, 0.0)
    assert 0 < stats["entropy"] <= math.log(4) + 1e-6
    assert len(agent.rollout) == 0
    assert agent.counter_stats == ("updates", "skipped_nonfinite")


def test_reinforce_loss_by_hand() -> None:
    """A zero policy head: uniform policy, log pi = -log 2, entropy log 2.
    Rewards (1, 0, 2), gamma 0.5: G = (1.5, 1, 2), a truncated return (no bootstrap)."""
    agent = make_reinforce(obs_dim=2, n_actions=2, hidden=(), gamma=0.5, entropy_coef=0.1,
                           normalize_returns=False)
    with torch.no_grad():
        agent.network.head.weight.zero_()
    obs = np.ones(2, dtype=np.float32)
    for t, reward in enumerate([1.0, 0.0, 2.0]):
        stats = agent.observe(obs, t % 2, reward, obs, False, t == 2)
    assert stats is not None
    policy_loss = math.log(2) * (1.5 + 1.0 + 2.0) / 3  # -(mean(-log 2 * G))
    assert stats["policy_loss"] == pytest.approx(policy_loss)
    assert stats["entropy"] == pytest.approx(math.log(2))
    assert stats["loss"] == pytest.approx(policy_loss - 0.1 * math.log(2))


# --------------------------------------------------------------------------- learning


def test_learns_the_better_arm_of_a_bandit(make_agent: MakeAgent) -> None:
    agent = make_agent(obs_dim=1, n_actions=2, hidden=(16,), lr=1e-2, gamma=0.0, seed=1)
    env = TwoArmedBandit((0.2, 0.8), seed=2)
    actions, _ = run(agent, env, 600, explore=True)
    assert np.mean(np.array(actions[-100:]) == env.best) >= 0.9  # sampled
    greedy, _ = run(agent, env, 100, explore=False, learn=False)
    assert np.mean(np.array(greedy) == env.best) >= 0.9
    assert agent.skipped_nonfinite == 0


@pytest.mark.parametrize("rollout_bars", [0, 8])
def test_learns_the_identity_env(make_agent: MakeAgent, rollout_bars: int) -> None:
    agent = make_agent(lr=1e-2, gamma=0.5, rollout_bars=rollout_bars, seed=1)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) < 0.5  # not solved by chance
    run(agent, IdentityEnv(4, seed=2), 1_500, explore=True)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


# --------------------------------------------------------------------------- non-finite


def weights(agent: OnPolicyAgent[Any]) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.network.parameters()]


@pytest.mark.parametrize("reward", [math.nan, math.inf, -math.inf])
def test_a_non_finite_reward_never_reaches_the_weights(
    make_agent: MakeAgent, reward: float
) -> None:
    agent = make_agent(rollout_bars=4)
    obs = np.ones(4, dtype=np.float32)
    before = weights(agent)
    for t in range(3):
        assert agent.observe(obs, t, 1.0, obs, False, False) is None
    stats = agent.observe(obs, 3, reward, obs, False, False)
    assert stats is not None and stats["skipped_nonfinite"] == 1.0
    assert not math.isfinite(stats["loss"])
    assert all(torch.equal(a, b) for a, b in zip(before, weights(agent), strict=True))
    assert agent.updates == 0 and len(agent.rollout) == 0  # the bad rollout is dropped
    assert not agent.optimizer.state  # Adam never stepped: no moments to poison either


def test_training_goes_on_after_a_non_finite_reward(make_agent: MakeAgent) -> None:
    agent = make_agent(lr=1e-2, gamma=0.5, rollout_bars=8, seed=1)
    obs = one_hot(0, 4)
    agent.observe(obs, 0, math.nan, obs, False, True)
    run(agent, IdentityEnv(4, seed=2), 1_500, explore=True)
    assert agent.skipped_nonfinite == 1
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


# --------------------------------------------------------------------------- determinism


def train(make_agent: MakeAgent, steps: int = 200, **overrides: Any) -> (
    tuple[list[int], OnPolicyAgent[Any]]
):
    agent = make_agent(**{"rollout_bars": 8, **overrides})
    actions, _ = run(agent, IdentityEnv(4, seed=11), steps, explore=True)
    return actions, agent


def all_tensors(agent: OnPolicyAgent[Any]) -> list[torch.Tensor]:
    state = agent.state_dict()
    tensors = list(state["network"].values())
    for param_state in state["optimizer"]["state"].values():
        tensors += list(param_state.values())
    return tensors


def same_tensors(a: OnPolicyAgent[Any], b: OnPolicyAgent[Any]) -> bool:
    pairs = zip(all_tensors(a), all_tensors(b), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


def test_same_seed_same_decisions_and_weights(make_agent: MakeAgent) -> None:
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    actions_a, agent_a = train(make_agent, seed=5)
    torch.manual_seed(2), np.random.seed(2), random.seed(2)
    actions_b, agent_b = train(make_agent, seed=5)
    assert actions_a == actions_b
    assert agent_a.updates == 30  # 3 per 20-step episode: at 8, 16 and the end
    assert same_tensors(agent_a, agent_b)
    actions_c, agent_c = train(make_agent, seed=6)
    assert actions_a != actions_c
    assert not same_tensors(agent_a, agent_c)


def test_global_random_state_is_never_touched(make_agent: MakeAgent) -> None:
    torch_state, numpy_state, python_state = (
        torch.get_rng_state(), np.random.get_state(), random.getstate()
    )
    train(make_agent, steps=100)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert str(np.random.get_state()) == str(numpy_state)
    assert random.getstate() == python_state


# --------------------------------------------------------------------------- checkpoints


PROBES = [one_hot(i, 4) for i in range(4)] + list(
    np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
)


def greedy(agent: OnPolicyAgent[Any]) -> list[int]:
    return [agent.act(obs, explore=False) for obs in PROBES]


def test_round_trip_keeps_greedy_actions_and_the_next_update(
    make_agent: MakeAgent, tmp_path: Path
) -> None:
    _, agent = train(make_agent, steps=205)  # 5 transitions pending in the rollout
    agent.save(tmp_path / "agent.pt")
    loaded = type(agent).from_checkpoint(tmp_path / "agent.pt")
    assert loaded.config == agent.config
    assert greedy(loaded) == greedy(agent)
    assert same_tensors(loaded, agent)
    assert (loaded.env_steps, loaded.updates, len(loaded.rollout)) == (205, 30, 5)
    obs, next_obs = one_hot(1, 4), one_hot(2, 4)
    assert agent.observe(obs, 1, 1.0, next_obs, False, True) is not None
    assert loaded.observe(obs, 1, 1.0, next_obs, False, True) is not None
    assert same_tensors(loaded, agent)


def steps_from(
    agent: OnPolicyAgent[Any], env: Env, obs: np.ndarray | None, steps: int
) -> tuple[list[int], np.ndarray | None]:
    """Like ``envs.run``, but starts from ``obs`` and returns where it stopped, so a run
    can be split mid-episode (with a rollout pending)."""
    actions = []
    for _ in range(steps):
        obs = env.reset() if obs is None else obs
        action = agent.act(obs, explore=True)
        next_obs, reward, terminated, truncated = env.step(action)
        agent.observe(obs, action, reward, next_obs, terminated, truncated)
        actions.append(action)
        obs = None if terminated or truncated else next_obs
    return actions, obs


@pytest.mark.parametrize("rollout_bars", [0, 6])
def test_resume_mid_episode_equals_uninterrupted_training(
    make_agent: MakeAgent, tmp_path: Path, rollout_bars: int
) -> None:
    settings = {"rollout_bars": rollout_bars, "seed": 4}
    straight = make_agent(**settings)
    actions_straight, _ = steps_from(straight, IdentityEnv(4, episode_length=15, seed=9), None,
                                     200)
    env = IdentityEnv(4, episode_length=15, seed=9)
    first = make_agent(**settings)
    actions_first, obs = steps_from(first, env, None, 97)  # mid-episode, rollout pending
    assert len(first.rollout) > 0
    first.save(tmp_path / "mid.pt")
    resumed = type(first).from_checkpoint(tmp_path / "mid.pt")
    actions_rest, _ = steps_from(resumed, env, obs, 103)
    assert actions_first + actions_rest == actions_straight
    assert same_tensors(resumed, straight)
    assert resumed.updates == straight.updates > 0


def test_a_checkpoint_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    make_a2c().save(tmp_path / "a2c.pt")
    with pytest.raises(CheckpointError, match="holds a 'a2c' agent, expected 'policy_gradient'"):
        PolicyGradientAgent.from_checkpoint(tmp_path / "a2c.pt")


def test_incompatible_shapes_are_refused_other_settings_may_differ(
    make_agent: MakeAgent, tmp_path: Path
) -> None:
    _, agent = train(make_agent, steps=50)
    agent.save(tmp_path / "agent.pt")
    with pytest.raises(CheckpointError, match="hidden: file has"):
        make_agent(hidden=(16,)).load(tmp_path / "agent.pt")
    fresh = make_agent(lr=0.5, rollout_bars=0)  # a hyperparameter changed: the weights fit
    fresh.load(tmp_path / "agent.pt")
    assert greedy(fresh) == greedy(agent) and fresh.config.lr == 0.5
