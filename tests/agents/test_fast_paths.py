"""The NumPy fast path of the DQN against its torch reference, and the BLAS thread knob.

Tolerance, stated once: both paths compute the same float32 arithmetic but sum
in different orders (OpenBLAS vs torch's kernels, pairwise vs sequential
reductions, fused vs per-tensor Adam), so results agree to float32 rounding,
not bit for bit. One step's gradients agree to 1e-5 relative; after 61 Adam
steps the weights agree to 1e-5 absolute (measured: about 1e-7). Prioritized
replay is compared one step at a time: its sampling follows the priorities, so
two runs whose priorities differ in the last bit draw different batches.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.fast.blas import blas_threads, set_blas_threads
from rlbt.agents.fast.mlp import NumpyMLP
from rlbt.agents.networks import QNetwork
from rlbt.agents.replay.buffer import Batch

WEIGHT_ATOL = 1e-5
GRAD_RTOL = 1e-5
BASE: dict[str, Any] = {"obs_dim": 6, "n_actions": 3, "hidden": (16, 16), "buffer_size": 500,
                        "batch_size": 32, "warmup": 32, "learn_every": 1, "target_every": 20}


def pair(**overrides: Any) -> tuple[DQNAgent, DQNAgent]:
    """A fast agent and a reference agent with the same seed (so the same initial weights)."""
    settings = {**BASE, **overrides}
    fast = DQNAgent(DQNConfig(**settings, fast=True))
    reference = DQNAgent(DQNConfig(**settings, fast=False))
    assert fast._fast is not None and reference._fast is None
    return fast, reference


def feed(agents: tuple[DQNAgent, ...], steps: int, seed: int = 0) -> list[list[Any]]:
    """The same random transitions to every agent; each one's learn stats per step."""
    rng = np.random.default_rng(seed)
    obs_dim = agents[0].obs_dim
    obs = rng.standard_normal(obs_dim).astype(np.float32)
    stats: list[list[Any]] = [[] for _ in agents]
    for step in range(steps):
        next_obs = rng.standard_normal(obs_dim).astype(np.float32)
        action, reward = int(rng.integers(agents[0].n_actions)), float(rng.standard_normal())
        terminated = step % 17 == 16
        for agent, log in zip(agents, stats, strict=True):
            log.append(agent.observe(obs, action, reward, next_obs, terminated, False))
        obs = rng.standard_normal(obs_dim).astype(np.float32) if terminated else next_obs
    return stats


def max_weight_gap(a: DQNAgent, b: DQNAgent) -> float:
    pairs = [*zip(a.q_network.parameters(), b.q_network.parameters(), strict=True),
             *zip(a.target_network.parameters(), b.target_network.parameters(), strict=True)]
    return max(float((x.detach() - y.detach()).abs().max()) for x, y in pairs)


@pytest.mark.parametrize("overrides", [
    {},
    {"double": False, "huber": False},
    {"max_grad_norm": 0.05},  # clipping active on most steps
    {"max_grad_norm": None, "tau": 0.1, "target_every": 1},
    {"hidden": ()},
    {"hidden": (8, 8, 8), "n_step": 3, "gamma": 0.9},
])
def test_fast_update_follows_the_reference(overrides: dict[str, Any]) -> None:
    fast, reference = pair(**overrides)
    fast_stats, reference_stats = feed((fast, reference), 92)  # 61 gradient steps
    assert fast.updates == reference.updates > 50
    assert max_weight_gap(fast, reference) <= WEIGHT_ATOL
    learned = [(f, r) for f, r in zip(fast_stats, reference_stats, strict=True) if f]
    for f, r in learned:
        assert f["loss"] == pytest.approx(r["loss"], rel=1e-4, abs=1e-6)
        assert f["q_mean"] == pytest.approx(r["q_mean"], rel=1e-4, abs=1e-6)


def reference_gradients(network: QNetwork, target: QNetwork, batch: Batch, *, double: bool,
                        huber: bool) -> list[torch.Tensor]:
    """d loss / d parameters by autograd, with the loss written as DQNAgent writes it."""
    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array)

    with torch.no_grad():
        target_q = target(t(batch.next_obs))
        if double:
            next_q = target_q.gather(1, network(t(batch.next_obs)).argmax(1, keepdim=True))
            next_q = next_q.squeeze(1)
        else:
            next_q = target_q.max(1).values
        td_target = t(batch.rewards) + t(batch.discounts) * (1 - t(batch.terminated)) * next_q
    q = network(t(batch.obs)).gather(1, t(batch.actions).unsqueeze(1)).squeeze(1)
    loss_fn = F.smooth_l1_loss if huber else F.mse_loss
    loss = (t(batch.weights) * loss_fn(q, td_target, reduction="none")).mean()
    network.zero_grad()
    loss.backward()
    return [p.grad.clone() for p in network.parameters()]  # type: ignore[union-attr]


@pytest.mark.parametrize(("double", "huber"), [(True, True), (False, False), (True, False)])
def test_one_gradient_with_importance_weights_equals_autograd(double: bool, huber: bool) -> None:
    agent = DQNAgent(DQNConfig(**{**BASE, "prioritized": True}))
    feed((agent,), 40)
    batch = agent.buffer.sample(32)
    batch = batch._replace(weights=np.random.default_rng(1).uniform(0.2, 1.0, 32)
                           .astype(np.float32))
    fast = agent._fast
    assert fast is not None
    result = fast.loss_and_grad(batch, double=double, huber=huber)
    expected = reference_gradients(agent.q_network, agent.target_network, batch,
                                   double=double, huber=huber)
    got = [torch.from_numpy(g) for g in fast.grads]
    for e, g in zip(expected, got, strict=True):
        torch.testing.assert_close(g, e, rtol=GRAD_RTOL, atol=1e-7)
    assert np.isfinite(result.loss) and np.isfinite(result.grad_norm)


def test_prioritized_fast_agent_learns_and_writes_priorities() -> None:
    fast, reference = pair(prioritized=True)
    feed((fast, reference), 40)  # same batches until the first priorities diverge in rounding
    assert fast.updates == reference.updates > 0
    assert max_weight_gap(fast, reference) <= WEIGHT_ATOL


def test_greedy_numpy_inference_picks_the_torch_argmax() -> None:
    network = QNetwork(32, 3, (64, 64))
    mlp = NumpyMLP(network)  # binds the weights: the torch module reads the same numbers
    observations = np.random.default_rng(0).standard_normal((2_000, 32)).astype(np.float32)
    with torch.inference_mode():
        q = network(torch.from_numpy(observations)).numpy()
    top_two = np.sort(q, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-5  # a closer tie may round either way
    greedy = np.array([mlp.greedy(o) for o in observations])
    assert clear.mean() > 0.99
    np.testing.assert_array_equal(greedy[clear], q.argmax(axis=1)[clear])
    np.testing.assert_allclose(mlp.forward(observations), q, rtol=1e-5, atol=1e-6)


def test_fast_agent_acts_like_the_reference_greedily() -> None:
    fast, reference = pair()
    probes = np.random.default_rng(3).standard_normal((200, BASE["obs_dim"])).astype(np.float32)
    assert [fast.act(p, explore=False) for p in probes] == [
        reference.act(p, explore=False) for p in probes]


def test_checkpoints_move_between_the_two_paths(tmp_path: Path) -> None:
    fast, reference = pair()
    feed((fast, reference), 60)
    fast.save(tmp_path / "fast.pt", include_replay=True)
    # the fast path keeps torch's optimizer layout: same keys, same step counts
    fast_opt, ref_opt = fast.optimizer.state_dict(), reference.optimizer.state_dict()
    assert fast_opt["state"].keys() == ref_opt["state"].keys()
    assert {float(s["step"]) for s in fast_opt["state"].values()} == {float(reference.updates)}
    as_reference = DQNAgent(DQNConfig(**BASE, fast=False))
    as_reference.load(tmp_path / "fast.pt")
    as_fast = DQNAgent(DQNConfig(**BASE, fast=True))
    as_fast.load(tmp_path / "fast.pt")
    feed((fast, as_reference, as_fast), 20, seed=5)
    assert max_weight_gap(as_reference, fast) <= WEIGHT_ATOL
    assert max_weight_gap(as_fast, fast) == 0.0  # same path, same state: bit for bit


def test_a_deep_copy_trains_on_its_own_weights() -> None:
    agent, _ = pair()
    feed((agent,), 50)
    twin = copy.deepcopy(agent)
    before = [p.detach().clone() for p in agent.q_network.parameters()]
    feed((twin,), 20, seed=7)
    assert twin.updates == agent.updates + 20
    for p, b in zip(agent.q_network.parameters(), before, strict=True):
        assert torch.equal(p.detach(), b)  # the original did not move
    probe = np.ones(BASE["obs_dim"], dtype=np.float32)
    with torch.inference_mode():
        expected = int(twin.q_network(torch.from_numpy(probe)[None]).argmax())
    assert twin.act(probe, explore=False) == expected


@pytest.mark.parametrize("overrides", [{"dueling": True}, {"fast": False}])
def test_fast_path_off_where_it_does_not_apply(overrides: dict[str, Any]) -> None:
    assert DQNAgent(DQNConfig(**{**BASE, **overrides}))._fast is None


def test_blas_threads_can_be_set_and_restored() -> None:
    before = blas_threads()
    if before is None:
        assert set_blas_threads(1) is False
        pytest.skip("NumPy does not bundle OpenBLAS here")
    try:
        assert set_blas_threads(1) is True
        assert blas_threads() == 1
        assert set_blas_threads(0) is True and blas_threads() == 1  # 0 leaves it
    finally:
        set_blas_threads(before)




@pytest.mark.parametrize("fast", [True, False])
def test_greedy_actions_for_many_rows_match_act(fast: bool) -> None:
    agent = DQNAgent(DQNConfig(**BASE, fast=fast))
    feed((agent,), 60)
    rows = np.random.default_rng(4).standard_normal((300, BASE["obs_dim"])).astype(np.float32)
    batched = agent.greedy_actions(rows)
    assert batched.dtype == np.int64 and batched.shape == (300,)
    with torch.inference_mode():
        top_two = np.sort(agent.q_network(torch.from_numpy(rows)).numpy(), axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e-5  # a closer tie may round either way
    one_by_one = np.array([agent.act(r, explore=False) for r in rows])
    np.testing.assert_array_equal(batched[clear], one_by_one[clear])
