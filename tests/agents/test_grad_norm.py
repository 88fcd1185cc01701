"""``grad_norm``: every torch agent reports the gradient's global L2 norm
before clipping, the NumPy DQN path the same figure, and reporting it changes
no weight (the norm is what clipping computes anyway)."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
import torch

from rlbt.agents.a2c import A2CAgent, A2CConfig
from rlbt.agents.base import guarded_step
from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.lstm.forecaster import LSTMConfig, LSTMForecaster
from rlbt.agents.policy_gradient import PolicyGradientAgent, PolicyGradientConfig

DQN = {"obs_dim": 4, "n_actions": 3, "hidden": (8,), "buffer_size": 200, "batch_size": 16,
       "warmup": 16, "learn_every": 1, "gradient_steps": 2}


def _net_and_loss(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    x = torch.randn(12, 3)
    return net, (net(x) - 3.0).pow(2).mean()


@pytest.mark.parametrize("clip", [None, 0.01])
def test_guarded_step_returns_the_norm_before_clipping(clip: float | None) -> None:
    net, loss = _net_and_loss()
    grads = torch.autograd.grad(loss, list(net.parameters()), retain_graph=True)
    expected = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))  # by hand
    assert expected > 0.1  # so a clip at 0.01 really clips
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    before = [p.detach().clone() for p in net.parameters()]
    norm = guarded_step(loss, optimizer, net.parameters(), clip)
    assert norm == pytest.approx(expected, rel=1e-6)
    # the step taken is the clipped one: SGD moved the weights by lr x clipped gradient
    moved = math.sqrt(sum(float((p.detach() - b).pow(2).sum())
                          for p, b in zip(net.parameters(), before, strict=True)))
    assert moved == pytest.approx(min(expected, clip or math.inf), rel=1e-4)


def test_guarded_step_skips_a_non_finite_loss() -> None:
    net, loss = _net_and_loss()
    before = [p.detach().clone() for p in net.parameters()]
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    assert guarded_step(loss * math.nan, optimizer, net.parameters(), 1.0) is None
    assert all(torch.equal(p, b) for p, b in zip(net.parameters(), before, strict=True))


def _feed_dqn(agents: tuple[DQNAgent, ...], steps: int) -> list[list[dict[str, float]]]:
    rng = np.random.default_rng(0)
    stats: list[list[dict[str, float]]] = [[] for _ in agents]
    for _ in range(steps):
        obs, nxt = (rng.standard_normal(4).astype(np.float32) for _ in range(2))
        action, reward = int(rng.integers(3)), float(rng.standard_normal())
        for agent, log in zip(agents, stats, strict=True):
            out = agent.observe(obs, action, reward, nxt, False, False)
            if out:
                log.append(out)
    return stats


@pytest.mark.parametrize("clip", [10.0, 0.05, None])
def test_dqn_fast_path_reports_the_reference_norm(clip: float | None) -> None:
    fast = DQNAgent(DQNConfig(**DQN, max_grad_norm=clip, fast=True))
    reference = DQNAgent(DQNConfig(**DQN, max_grad_norm=clip, fast=False))
    assert fast._fast is not None and reference._fast is None
    fast_stats, reference_stats = _feed_dqn((fast, reference), 60)
    assert len(fast_stats) == len(reference_stats) > 40
    for f, r in zip(fast_stats, reference_stats, strict=True):
        assert r["grad_norm"] > 0 and math.isfinite(r["grad_norm"])
        assert f["grad_norm"] == pytest.approx(r["grad_norm"], rel=1e-4)  # float32 sums


def test_dqn_grad_norm_is_the_mean_over_the_call_steps() -> None:
    agent = DQNAgent(DQNConfig(**DQN))
    _feed_dqn((agent,), 20)
    norms: list[float] = []
    real = agent._fast_gradient_step

    def spy(fast: Any, batch: Any) -> Any:
        result = real(fast, batch)
        norms.append(result[2])
        return result

    agent._fast_gradient_step = spy  # type: ignore[method-assign]
    stats = agent.learn()
    assert len(norms) == DQN["gradient_steps"] and len(set(norms)) == 2
    assert stats["grad_norm"] == pytest.approx(float(np.mean(norms)), rel=1e-12)


@pytest.mark.parametrize("make", [
    lambda: PolicyGradientAgent(PolicyGradientConfig(obs_dim=3, n_actions=2, hidden=(8,))),
    lambda: A2CAgent(A2CConfig(obs_dim=3, n_actions=2, hidden=(8,))),
])
def test_on_policy_agents_report_the_norm(make: Any) -> None:
    agent = make()
    probe = copy.deepcopy(agent)
    rng = np.random.default_rng(1)
    for _ in range(6):
        agent.observe(rng.standard_normal(3).astype(np.float32), int(rng.integers(2)),
                      float(rng.standard_normal()), rng.standard_normal(3).astype(np.float32),
                      False, False)
    batch = agent.rollout.batch()
    loss = probe._losses(batch)["loss"]  # the same weights and rollout: the same gradient
    grads = torch.autograd.grad(loss, list(probe.network.parameters()))
    expected = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    stats = agent.learn()
    assert stats["grad_norm"] == pytest.approx(expected, rel=1e-5)


def test_on_policy_skipped_step_reports_nan() -> None:
    agent = A2CAgent(A2CConfig(obs_dim=3, n_actions=2, hidden=(8,)))
    obs = np.zeros(3, dtype=np.float32)
    agent.observe(obs, 0, math.nan, obs, False, False)
    stats = agent.learn()
    assert math.isnan(stats["grad_norm"]) and stats["skipped_nonfinite"] == 1


def test_lstm_reports_the_mean_norm_of_its_steps() -> None:
    model = LSTMForecaster(LSTMConfig(n_features=2, window_size=4, hidden_size=8, batch_size=8,
                                      warmup=8, learn_every=1, gradient_steps=2))
    rng = np.random.default_rng(2)
    for _ in range(12):
        model.add_example(rng.standard_normal((4, 2)), float(rng.standard_normal()))
    stats = model.learn()
    assert stats["grad_norm"] > 0 and math.isfinite(stats["grad_norm"])
    assert set(stats) >= {"loss", "grad_norm", "updates"}
