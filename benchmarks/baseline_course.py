"""The course's replay memory and DQN update, kept verbatim in spirit as the baseline.

This is the code rlbt started from, written the way the course teaches it: a
``deque`` of Python tuples sampled with ``np.random.choice(..., replace=False)``
(which shuffles the whole memory on every call, hence its cost grows with the
capacity), and an update that rebuilds NumPy arrays from the sampled tuples,
turns them into tensors and takes a plain MSE step. Every benchmark figure is
printed as a ratio to these. Not used by rlbt itself.

The only change: the random state is private (a ``RandomState`` with the
global ``np.random``'s algorithm and cost; torch seeded inside ``fork_rng``) so
the suite never touches global random state.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Experience = tuple[np.ndarray, int, float, np.ndarray, bool]


class Memory:
    """The course's replay memory: a bounded deque of ``(s, a, r, s', done)`` tuples."""

    def __init__(self, max_size: int, seed: int = 0) -> None:
        self.buffer: deque[Experience] = deque(maxlen=max_size)
        self.random = np.random.RandomState(seed)

    def add(self, experience: Experience) -> None:
        """Append one transition (the oldest falls off when full)."""
        self.buffer.append(experience)

    def sample(self, batch_size: int) -> list[Experience]:
        """``batch_size`` distinct transitions, drawn uniformly."""
        buffer_size = len(self.buffer)
        index = self.random.choice(np.arange(buffer_size), size=batch_size, replace=False)
        return [self.buffer[i] for i in index]


class CourseQNetwork(nn.Module):
    """The course's Q-network: two hidden ReLU layers."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(obs_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, n_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CourseDQN:
    """The course's learner: ``replay(batch_size)`` is one update."""

    def __init__(self, obs_dim: int, n_actions: int, memory: Memory, gamma: float = 0.99,
                 lr: float = 1e-3, seed: int = 0) -> None:
        with torch.random.fork_rng(devices=[]):  # the course seeds globally; we fork first
            torch.manual_seed(seed)
            self.model = CourseQNetwork(obs_dim, n_actions)
            self.target_model = CourseQNetwork(obs_dim, n_actions)
        self.target_model.load_state_dict(self.model.state_dict())
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.memory = memory
        self.gamma = gamma

    def replay(self, batch_size: int) -> float:
        """Sample, build the target, take one MSE gradient step; return the loss."""
        minibatch = self.memory.sample(batch_size)
        states = np.array([each[0] for each in minibatch])
        actions = np.array([each[1] for each in minibatch])
        rewards = np.array([each[2] for each in minibatch])
        next_states = np.array([each[3] for each in minibatch])
        dones = np.array([each[4] for each in minibatch])

        states_t = torch.FloatTensor(states)
        actions_t = torch.LongTensor(actions).unsqueeze(1)
        rewards_t = torch.FloatTensor(rewards)
        next_states_t = torch.FloatTensor(next_states)
        dones_t = torch.FloatTensor(dones.astype(np.float32))

        q_values = self.model(states_t).gather(1, actions_t).squeeze(1)
        next_q = self.target_model(next_states_t).detach().max(1)[0]
        targets = rewards_t + self.gamma * next_q * (1 - dones_t)
        loss = F.mse_loss(q_values, targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return float(loss.item())


def fill_memory(memory: Memory, data: dict[str, Any]) -> None:
    """Add ``data``'s transitions one tuple each, as the course's loop does."""
    obs, next_obs = data["obs"], data["next_obs"]
    actions, rewards = data["actions"].tolist(), data["rewards"].tolist()
    for i in range(len(actions)):
        memory.add((obs[i], actions[i], rewards[i], next_obs[i], False))
