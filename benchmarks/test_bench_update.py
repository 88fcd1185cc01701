"""Batched Q updates: one full DQN gradient step (sample, target, loss, backward, optimizer).

MLP 32-64-64-3, B = 32 / 64 / 256 / 1024, one thread and the default threads,
CUDA when present. rlbt's NumPy fast path and its torch reference beside the
course's recipe, a CleanRL-style torch step, stable-baselines3's
``DQN.train`` and the floor: the same matmuls in torch without autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from baseline_course import CourseDQN, Memory, fill_memory
from bench_common import (
    N_ACTIONS,
    OBS_DIM,
    UPDATE_BATCHES,
    capacity_of,
    full_run,
    label,
    transitions,
    use_threads,
)
from peers import SB3Buffer, box_env, sb3_dqn
from torch import nn

from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.replay.buffer import ReplayBuffer

Obs = Callable[[int], np.ndarray]
HIDDEN = 64
THREADS = {"1 thread": 1, "default threads": None}
CUDA = torch.cuda.is_available()


def rlbt_agent(capacity: int, data: dict[str, np.ndarray], batch: int, fast: bool,
               device: str = "cpu") -> DQNAgent:
    agent = DQNAgent(DQNConfig(obs_dim=OBS_DIM, n_actions=N_ACTIONS, hidden=(HIDDEN, HIDDEN),
                               batch_size=batch, buffer_size=capacity, fast=fast,
                               device=device))
    agent.buffer.add_batch(data["obs"], data["actions"], data["rewards"], data["next_obs"],
                           data["terminated"])
    return agent


class CleanRLStep:
    """CleanRL's ``dqn.py`` update, as written there: MSE on a max target, no clipping.

    It samples rlbt's buffer (CleanRL uses SB3's, slower), which only flatters it.
    """

    def __init__(self, buffer: ReplayBuffer, batch: int, device: str = "cpu") -> None:
        def network() -> nn.Module:
            return nn.Sequential(nn.Linear(OBS_DIM, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN),
                                 nn.ReLU(), nn.Linear(HIDDEN, N_ACTIONS)).to(device)

        self.q_network, self.target_network = network(), network()
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=1e-3)
        self.buffer, self.batch, self.device, self.gamma = buffer, batch, device, 0.99

    def step(self) -> None:
        data = self.buffer.sample(self.batch)

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array).to(self.device)

        with torch.no_grad():
            target_max, _ = self.target_network(tensor(data.next_obs)).max(dim=1)
            td_target = tensor(data.rewards) + self.gamma * target_max * (
                1 - tensor(data.terminated))
        old_val = self.q_network(tensor(data.obs)).gather(
            1, tensor(data.actions).unsqueeze(1)).squeeze()
        loss = F.mse_loss(td_target, old_val)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


class MatmulFloor:
    """The update's matmuls alone, in torch without autograd: forward of the online network on
    obs and next_obs, of the target network on next_obs, and the five backward products."""

    def __init__(self, batch: int) -> None:
        gen = torch.Generator().manual_seed(0)
        shapes = [(HIDDEN, OBS_DIM), (HIDDEN, HIDDEN), (N_ACTIONS, HIDDEN)]
        self.weights = [torch.randn(*s, generator=gen) for s in shapes]
        self.biases = [torch.randn(s[0], generator=gen) for s in shapes]
        self.obs = torch.randn(batch, OBS_DIM, generator=gen)
        self.next_obs = torch.randn(batch, OBS_DIM, generator=gen)

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for w, b in zip(self.weights, self.biases, strict=True):
            outs.append(F.linear(outs[-1], w, b))
        return outs

    @torch.no_grad()
    def step(self) -> None:
        outs = self._forward(self.obs)
        self._forward(self.next_obs)
        self._forward(self.next_obs)
        delta = outs[-1]
        for i in (2, 1, 0):
            delta.T @ outs[i]  # weight gradient
            if i:
                delta = delta @ self.weights[i]


def build(impl: str, capacity: int, data: dict[str, np.ndarray], batch: int) -> Callable[[], Any]:
    """The timed call of ``impl``: one full update at batch ``batch``."""
    if impl.startswith("rlbt"):
        agent = rlbt_agent(capacity, data, batch, fast="fast" in impl,
                           device="cuda" if "cuda" in impl else "cpu")
        return agent.learn
    if impl == "course recipe":
        memory = Memory(capacity)
        fill_memory(memory, data)
        course = CourseDQN(OBS_DIM, N_ACTIONS, memory)
        return lambda: course.replay(batch)
    if impl.startswith("CleanRL"):
        buffer = ReplayBuffer(capacity, (OBS_DIM,), seed=0)
        buffer.add_batch(data["obs"], data["actions"], data["rewards"], data["next_obs"],
                         data["terminated"])
        return CleanRLStep(buffer, batch, device="cuda" if "cuda" in impl else "cpu").step
    if impl == "stable-baselines3 DQN.train":
        model = sb3_dqn(box_env(), batch=batch, buffer_size=capacity, learning_starts=0)
        model.replay_buffer = SB3Buffer(capacity, data).rb
        return lambda: model.train(gradient_steps=1, batch_size=batch)
    return MatmulFloor(batch).step


IMPLS = {
    "rlbt fast path (NumPy)": "rlbt",
    "rlbt torch reference": "rlbt",
    "course recipe": "baseline",
    "CleanRL-style torch step": "peer",
    "stable-baselines3 DQN.train": "peer",
    "torch matmuls, no autograd (floor)": "floor",
}
CUDA_IMPLS = {"rlbt torch reference cuda": "rlbt", "CleanRL-style torch step cuda": "peer"}


def params() -> list[Any]:
    marks = {name: pytest.mark.skipif(not CUDA, reason="needs CUDA") for name in CUDA_IMPLS}
    warn = pytest.mark.filterwarnings("ignore")  # SB3's own deprecations
    return [pytest.param(name, marks=[m for m in (marks.get(name), warn) if m is not None])
            for name in {**IMPLS, **CUDA_IMPLS}]


@pytest.mark.parametrize("batch", UPDATE_BATCHES)
@pytest.mark.parametrize("threads", list(THREADS))
@pytest.mark.parametrize("impl", params())
def test_dqn_update(benchmark: Any, observations: Obs, impl: str, threads: str,
                    batch: int) -> None:
    capacity = capacity_of(benchmark, "100k")
    data = transitions(observations(capacity))
    use_threads(THREADS[threads])
    step = build(impl, capacity, data, batch)
    for _ in range(3 if full_run(benchmark) else 0):  # first calls allocate: not steady state
        step()
    role = {**IMPLS, **CUDA_IMPLS}[impl]
    device = "cuda" if "cuda" in impl else "cpu"
    label(benchmark, f"DQN update B={batch}, {threads}, {device}", impl, role, unit="updates")
    benchmark(step)
