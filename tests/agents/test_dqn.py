"""DQN: config validation, the TD target, learning, non-finite losses, determinism."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import numpy as np
import pytest
import torch
from envs import FlipEnv, IdentityEnv, greedy_accuracy, run

from rlbt.agents.base import Agent
from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.errors import AgentError

MakeDQN = Callable[..., DQNAgent]


def test_follows_the_agent_protocol(make_dqn: MakeDQN) -> None:
    agent = make_dqn()
    assert isinstance(agent, Agent)
    assert (agent.obs_dim, agent.n_actions) == (4, 4)


@pytest.mark.parametrize(
    ("field", "value"),
    [("obs_dim", 0), ("n_actions", 1), ("hidden", [64]), ("hidden", (0,)), ("lr", 0.0),
     ("lr", math.inf), ("gamma", 1.5), ("batch_size", 0), ("warmup", -1), ("learn_every", 0),
     ("target_every", 0), ("tau", 0.0), ("tau", 1.5), ("max_grad_norm", -1.0),
     ("eps_start", 2.0), ("alpha", -0.1), ("n_step", 0), ("seed", -3), ("double", 1),
     ("batch_size", 10_000)],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    settings: dict[str, object] = {"obs_dim": 2, "n_actions": 2, "buffer_size": 100, field: value}
    with pytest.raises(AgentError, match=f"DQNConfig.{field}"):
        DQNConfig(**settings)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_asking_for_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(AgentError, match="no CUDA device; use device='cpu'"):
        DQNAgent(DQNConfig(obs_dim=2, n_actions=2, device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda(make_dqn: MakeDQN) -> None:
    agent = make_dqn(device="cuda", warmup=32)
    run(agent, IdentityEnv(4), 100, explore=True)
    assert agent.updates > 0
    assert next(agent.q_network.parameters()).device.type == "cuda"


def test_rejects_an_observation_of_the_wrong_shape(make_dqn: MakeDQN) -> None:
    with pytest.raises(AgentError, match=r"shape \(3,\), expected \(4,\)"):
        make_dqn().act(np.zeros(3, dtype=np.float32), explore=False)


@pytest.mark.parametrize("action", [-1, 4, 1.0, True])
def test_observe_rejects_an_action_out_of_range(make_dqn: MakeDQN, action: object) -> None:
    obs = np.zeros(4, dtype=np.float32)
    with pytest.raises(AgentError, match="action="):
        make_dqn().observe(obs, action, 0.0, obs, False, False)  # type: ignore[arg-type]


def test_acts_on_read_only_and_float64_observations(make_dqn: MakeDQN) -> None:
    obs = np.zeros(4)
    obs.flags.writeable = False
    assert 0 <= make_dqn().act(obs, explore=False) < 4


def test_learn_before_a_batch_is_stored_is_an_error(make_dqn: MakeDQN) -> None:
    with pytest.raises(AgentError, match="batch_size"):
        make_dqn().learn()


def test_epsilon_decays_linearly_over_env_steps(make_dqn: MakeDQN) -> None:
    agent = make_dqn(eps_start=1.0, eps_end=0.1, eps_decay_steps=100, warmup=1_000)
    assert agent.epsilon == 1.0
    run(agent, IdentityEnv(4), 50, explore=True)
    assert agent.epsilon == pytest.approx(0.55)
    run(agent, IdentityEnv(4), 100, explore=True)
    assert agent.epsilon == pytest.approx(0.1)


# --------------------------------------------------------------------------- TD target


def linear_agent(double: bool) -> DQNAgent:
    """hidden=() makes Q(s) = W s + b, so its values can be set and checked by hand."""
    agent = DQNAgent(DQNConfig(obs_dim=2, n_actions=2, hidden=(), double=double))
    with torch.no_grad():
        agent.q_network.head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        agent.q_network.head.bias.zero_()
        agent.target_network.head.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 1.0]]))
        agent.target_network.head.bias.zero_()
    return agent


@pytest.mark.parametrize(("double", "bootstrap"), [
    (True, 1.0),   # online Q(s') = [1, 2] picks action 1; the target values it at 1
    (False, 3.0),  # plain DQN: max of the target's Q(s') = [3, 1]
])
def test_td_target_by_hand(double: bool, bootstrap: float) -> None:
    agent = linear_agent(double)
    next_obs = torch.ones(2, 2)
    rewards = torch.tensor([0.5, 0.5])
    terminated = torch.tensor([1.0, 0.0])  # row 0 terminal; row 1 live or truncated
    discounts = torch.tensor([0.9, 0.9])
    td_target = agent.td_target(rewards, next_obs, terminated, discounts)
    assert td_target.tolist() == pytest.approx([0.5, 0.5 + 0.9 * bootstrap])


def test_truncation_is_stored_as_not_terminated(make_dqn: MakeDQN) -> None:
    agent = make_dqn(batch_size=2, warmup=10)
    obs = np.ones(4, dtype=np.float32)
    agent.observe(obs, 0, 1.0, obs, terminated=False, truncated=True)  # end of data
    agent.observe(obs, 1, 1.0, obs, terminated=True, truncated=False)
    batch = agent.buffer.gather(np.arange(2))
    assert set(zip(batch.actions.tolist(), batch.terminated.tolist(), strict=True)) == {
        (0, 0.0), (1, 1.0)
    }


def test_truncation_flushes_pending_n_step_returns(make_dqn: MakeDQN) -> None:
    agent = make_dqn(n_step=3, warmup=1_000)
    run(agent, IdentityEnv(4, episode_length=5), 5, explore=True)
    assert len(agent.buffer) == 5  # nothing left pending at the end of the episode


# --------------------------------------------------------------------------- learning


@pytest.mark.parametrize("dueling", [False, True])
@pytest.mark.parametrize("prioritized", [False, True])
def test_learns_the_identity_env(make_dqn: MakeDQN, dueling: bool, prioritized: bool) -> None:
    agent = make_dqn(gamma=0.5, lr=3e-3, dueling=dueling, prioritized=prioritized, seed=1)
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) < 0.5  # not solved by chance
    run(agent, IdentityEnv(4, seed=2), 1_200, explore=True)
    assert agent.skipped_nonfinite == 0
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


def test_learns_to_flip(make_dqn: MakeDQN) -> None:
    agent = make_dqn(obs_dim=2, n_actions=2, gamma=0.9, lr=3e-3, tau=0.05, target_every=1,
                     seed=1)
    assert greedy_accuracy(agent, FlipEnv()) < 0.9  # not solved by chance
    run(agent, FlipEnv(), 1_200, explore=True)
    assert greedy_accuracy(agent, FlipEnv()) >= 0.9


def test_observe_returns_stats_when_it_learns(make_dqn: MakeDQN) -> None:
    agent = make_dqn(warmup=40, batch_size=8, learn_every=4, gradient_steps=2)
    obs = np.zeros(4, dtype=np.float32)
    results = [agent.observe(obs, 0, 1.0, obs, False, False) for _ in range(48)]
    learned = [i + 1 for i, stats in enumerate(results) if stats is not None]
    assert learned == [40, 44, 48]  # after warmup, every learn_every env steps
    assert agent.updates == 6  # gradient_steps each time
    stats = results[-1]
    assert stats is not None
    assert set(stats) == {"loss", "q_mean", "grad_norm", "epsilon", "updates",
                          "skipped_nonfinite"}
    assert math.isfinite(stats["loss"]) and math.isfinite(stats["q_mean"])


# --------------------------------------------------------------------------- non-finite


def weights(agent: DQNAgent) -> list[torch.Tensor]:
    return [p.detach().clone() for p in agent.q_network.parameters()]


@pytest.mark.parametrize("reward", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("prioritized", [False, True])
def test_a_non_finite_loss_never_reaches_the_weights(
    make_dqn: MakeDQN, reward: float, prioritized: bool
) -> None:
    # a one-transition memory: the bad transition is the whole batch
    agent = make_dqn(buffer_size=1, batch_size=1, warmup=1, prioritized=prioritized)
    obs = np.ones(4, dtype=np.float32)
    before = weights(agent)
    stats = agent.observe(obs, 1, reward, obs, False, False)
    assert stats is not None and stats["skipped_nonfinite"] == 1.0
    assert math.isnan(stats["loss"])
    assert all(torch.equal(a, b) for a, b in zip(before, weights(agent), strict=True))
    assert agent.updates == 0
    assert not agent.optimizer.state  # Adam never stepped: no moments to poison either


@pytest.mark.parametrize("prioritized", [False, True])
def test_one_bad_transition_skips_only_the_batches_that_draw_it(
    make_dqn: MakeDQN, prioritized: bool
) -> None:
    agent = make_dqn(buffer_size=8, batch_size=8, warmup=8, gradient_steps=20,
                     prioritized=prioritized)
    obs = np.ones(4, dtype=np.float32)
    for _ in range(7):
        agent.observe(obs, 0, 1.0, obs, False, False)
    stats = agent.observe(obs, 1, math.nan, obs, False, False)  # learns 20 times
    assert stats is not None and stats["skipped_nonfinite"] >= 1
    assert agent.updates + agent.skipped_nonfinite == 20
    assert all(torch.isfinite(p).all() for p in agent.q_network.parameters())


def test_training_goes_on_after_a_non_finite_reward(make_dqn: MakeDQN) -> None:
    agent = make_dqn(prioritized=True, gamma=0.5, lr=3e-3, seed=1)
    env = IdentityEnv(4, seed=2)
    obs = env.reset()
    agent.observe(obs, 0, math.nan, obs, False, False)
    run(agent, env, 1_200, explore=True)
    assert all(torch.isfinite(p).all() for p in agent.q_network.parameters())
    assert greedy_accuracy(agent, IdentityEnv(4, seed=3)) >= 0.9


# --------------------------------------------------------------------------- determinism


def train(make_dqn: MakeDQN, steps: int = 250, **overrides: object) -> tuple[list[int], DQNAgent]:
    agent = make_dqn(**overrides)
    actions, _ = run(agent, IdentityEnv(4, seed=11), steps, explore=True)
    return actions, agent


def all_tensors(agent: DQNAgent) -> list[torch.Tensor]:
    state = agent.state_dict()
    tensors = [*state["q_network"].values(), *state["target_network"].values()]
    for param_state in state["optimizer"]["state"].values():
        tensors += list(param_state.values())
    return tensors


def same_tensors(a: DQNAgent, b: DQNAgent) -> bool:
    pairs = zip(all_tensors(a), all_tensors(b), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize(("dueling", "prioritized"), [(False, False), (True, True)])
def test_same_seed_same_decisions_and_weights(
    make_dqn: MakeDQN, dueling: bool, prioritized: bool
) -> None:
    settings = {"seed": 5, "dueling": dueling, "prioritized": prioritized}
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    actions_a, agent_a = train(make_dqn, **settings)
    torch.manual_seed(2), np.random.seed(2), random.seed(2)
    actions_b, agent_b = train(make_dqn, **settings)
    assert actions_a == actions_b
    assert agent_a.updates > 100
    assert same_tensors(agent_a, agent_b)
    actions_c, agent_c = train(make_dqn, **{**settings, "seed": 6})
    assert actions_a != actions_c
    assert not same_tensors(agent_a, agent_c)


def test_global_random_state_is_never_touched(make_dqn: MakeDQN) -> None:
    torch_state, numpy_state, python_state = (
        torch.get_rng_state(), np.random.get_state(), random.getstate()
    )
    train(make_dqn, steps=120, prioritized=True)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert str(np.random.get_state()) == str(numpy_state)
    assert random.getstate() == python_state
