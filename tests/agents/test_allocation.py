"""The continuous-allocation agent: a contextual bandit whose right answer is
known, determinism, checkpoints, settings and the non-finite guard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlbt.agents.allocation import AllocationAgent, AllocationConfig, allocation_weights
from rlbt.agents.errors import AgentError, CheckpointError


def _train(method: str, seed: int, steps: int = 3000) -> AllocationAgent:
    """Each bar one of three assets pays +1% (the observation says which, with
    noise), the others lose 0.5%, cash pays 0: all in the paying asset is right."""
    agent = AllocationAgent(AllocationConfig(obs_dim=3, n_assets=3, method=method, seed=seed))
    rng = np.random.default_rng(seed + 100)

    def observe(asset: int) -> np.ndarray:
        return (np.eye(3)[asset] + rng.normal(0, 0.1, 3)).astype(np.float32)

    asset = int(rng.integers(3))
    obs = observe(asset)
    for t in range(steps):
        z = agent.act(obs, explore=True)
        returns = np.array([-0.005, -0.005, -0.005, 0.0])
        returns[asset] = 0.01
        reward = 100 * float(allocation_weights(z) @ returns)
        asset = int(rng.integers(3))
        following = observe(asset)
        agent.observe(obs, z, reward, following, False, (t + 1) % 32 == 0)
        obs = following
    return agent


@pytest.mark.parametrize("method", ["a2c", "reinforce"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_puts_most_weight_on_the_paying_asset(method: str, seed: int) -> None:
    greedy = _train(method, seed).greedy_weights(np.eye(3, dtype=np.float32))
    assert (np.diag(greedy[:, :3]) >= 0.6).all(), greedy.round(2)


def test_a_fresh_agent_allocates_about_equally() -> None:
    agent = AllocationAgent(AllocationConfig(obs_dim=3, n_assets=3))
    assert np.allclose(agent.greedy_weights(np.eye(3, dtype=np.float32)), 0.25, atol=0.02)


def test_same_seed_same_bits_and_seeds_differ() -> None:
    runs = [_train("a2c", 4, steps=200) for _ in range(2)]
    obs = np.ones(3, dtype=np.float32)
    assert runs[0].act(obs).tobytes() == runs[1].act(obs).tobytes()
    assert not np.array_equal(_train("a2c", 5, steps=200).act(obs, explore=False),
                              runs[0].act(obs, explore=False))


def test_checkpoint_round_trip_and_refusal(tmp_path: Path) -> None:
    agent = _train("a2c", 0, steps=300)
    path = tmp_path / "alloc.pt"
    agent.save(path)
    loaded = AllocationAgent.from_checkpoint(path)
    batch = np.eye(3, dtype=np.float32)
    assert np.array_equal(loaded.greedy_weights(batch), agent.greedy_weights(batch))
    other = AllocationAgent(AllocationConfig(obs_dim=3, n_assets=2))
    with pytest.raises(CheckpointError, match="n_assets"):
        other.load(path)


@pytest.mark.parametrize(("field", "value"), [("n_assets", 0), ("method", "x"), ("gamma", 2.0),
                                              ("rollout_bars", 1), ("lr", float("nan"))])
def test_bad_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(AgentError, match=field):
        AllocationConfig(**{"obs_dim": 3, "n_assets": 3, field: value})  # type: ignore[arg-type]


def test_a_non_finite_reward_is_skipped_and_counted() -> None:
    agent = AllocationAgent(AllocationConfig(obs_dim=2, n_assets=2, rollout_bars=2))
    before = [p.detach().clone() for p in agent.network.parameters()]
    obs = np.zeros(2, dtype=np.float32)
    agent.observe(obs, agent.act(obs), float("nan"), obs, False, False)
    stats = agent.observe(obs, agent.act(obs), 1.0, obs, False, False)
    assert stats is not None and stats["skipped_nonfinite"] == 1 and stats["updates"] == 0
    assert all(np.array_equal(a, b.detach()) for a, b in zip(before, agent.network.parameters(),
                                                              strict=True))


def test_weights_are_a_stable_softmax() -> None:
    weights = allocation_weights(np.array([1e4, 0.0, -1e4]))
    assert weights.sum() == pytest.approx(1.0) and weights[0] == pytest.approx(1.0)
    with pytest.raises(AgentError, match="action has shape"):
        AllocationAgent(AllocationConfig(obs_dim=2, n_assets=2)).observe(
            np.zeros(2), np.zeros(5), 0.0, np.zeros(2), False, False)
