"""Fixtures shared by the agent tests: small, fast agent factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

from rlbt.agents.dqn import DQNAgent, DQNConfig

SMALL_DQN: dict[str, Any] = {
    "obs_dim": 4,
    "n_actions": 4,
    "hidden": (32,),
    "buffer_size": 2_000,
    "batch_size": 32,
    "warmup": 64,
    "learn_every": 1,
    "target_every": 50,
    "eps_decay_steps": 500,
    "beta_anneal_steps": 1_000,
}


@pytest.fixture
def make_dqn() -> Callable[..., DQNAgent]:
    """A factory of small DQN agents: ``make_dqn(seed=3, dueling=True)``."""

    def factory(**overrides: Any) -> DQNAgent:
        return DQNAgent(DQNConfig(**{**SMALL_DQN, **overrides}))

    return factory


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread; with two threads on a busy 2-core
    machine, torch's intra-op threads wait on each other and a step gets ~10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
