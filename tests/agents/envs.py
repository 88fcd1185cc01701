"""Tiny deterministic environments whose right answer is known, for agent tests.

Import with ``from envs import IdentityEnv`` from tests in ``tests/agents``
(pytest's default "prepend" import mode puts this folder on ``sys.path``);
tests elsewhere can add ``tests/agents`` to ``sys.path`` in their conftest.

Each env has ``obs_dim``, ``n_actions``, ``reset() -> obs`` and
``step(action) -> (next_obs, reward, terminated, truncated)``. Episodes have a
fixed length and end by truncation, like the end of a price series.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Env(Protocol):
    obs_dim: int
    n_actions: int

    def reset(self) -> np.ndarray: ...

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]: ...


class LearningAgent(Protocol):
    def act(self, obs: np.ndarray, explore: bool) -> int: ...

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None: ...


def one_hot(index: int, size: int) -> np.ndarray:
    """A float32 one-hot vector."""
    vector = np.zeros(size, dtype=np.float32)
    vector[index] = 1.0
    return vector


class IdentityEnv:
    """The observation is the one-hot of a random class; reward 1 for naming it, else 0.

    :param n_classes: number of classes (= actions = observation features).
    :param episode_length: steps per episode; the last one is truncated.
    :param seed: seed of the class draws.
    """

    def __init__(self, n_classes: int = 4, episode_length: int = 20, seed: int = 0) -> None:
        self.obs_dim = self.n_actions = n_classes
        self.episode_length = episode_length
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.label = 0

    def _draw(self) -> np.ndarray:
        self.label = int(self.rng.integers(self.n_actions))
        return one_hot(self.label, self.obs_dim)

    def reset(self) -> np.ndarray:
        self.t = 0
        return self._draw()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        reward = 1.0 if action == self.label else 0.0
        self.t += 1
        return self._draw(), reward, False, self.t >= self.episode_length


class FlipEnv:
    """Two states: the one-hot of the previous action. Reward 1 for switching
    action (the right action flips every step), 0 for repeating it.

    :param episode_length: steps per episode; the last one is truncated.
    """

    def __init__(self, episode_length: int = 20) -> None:
        self.obs_dim = self.n_actions = 2
        self.episode_length = episode_length
        self.t = 0
        self.previous = 0

    def reset(self) -> np.ndarray:
        self.t = 0
        self.previous = 0
        return one_hot(0, 2)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        reward = 1.0 if action != self.previous else 0.0
        self.previous = int(action)
        self.t += 1
        return one_hot(self.previous, 2), reward, False, self.t >= self.episode_length


def run(agent: LearningAgent, env: Env, steps: int, *, explore: bool, learn: bool = True) -> (
    tuple[list[int], list[float]]
):
    """Drive ``agent`` in ``env`` for ``steps`` steps, resetting after each episode.

    :param explore: passed to ``agent.act``.
    :param learn: call ``agent.observe`` on each transition.
    :return: the actions taken and the rewards received.
    """
    actions: list[int] = []
    rewards: list[float] = []
    obs: np.ndarray | None = None
    for _ in range(steps):
        if obs is None:  # reset lazily, so runs split at an episode end chain exactly
            obs = env.reset()
        action = agent.act(obs, explore)
        next_obs, reward, terminated, truncated = env.step(action)
        if learn:
            agent.observe(obs, action, reward, next_obs, terminated, truncated)
        actions.append(action)
        rewards.append(reward)
        # the next step starts from next_obs, unless the episode ended
        obs = None if terminated or truncated else next_obs
    return actions, rewards


def greedy_accuracy(agent: LearningAgent, env: Env, steps: int = 400) -> float:
    """Mean reward of the greedy policy, without learning (1.0 is perfect here)."""
    _, rewards = run(agent, env, steps, explore=False, learn=False)
    return float(np.mean(rewards))


class TwoArmedBandit:
    """One constant observation and two arms that pay 1 with probabilities ``probs``
    (else 0): the best arm is the one with the higher probability.

    :param probs: payout probability of arm 0 and arm 1.
    :param episode_length: pulls per episode; the last one is truncated.
    :param seed: seed of the payouts.
    """

    def __init__(
        self, probs: tuple[float, float] = (0.2, 0.8), episode_length: int = 10, seed: int = 0
    ) -> None:
        self.obs_dim = 1
        self.n_actions = 2
        self.probs = probs
        self.best = int(np.argmax(probs))
        self.episode_length = episode_length
        self.rng = np.random.default_rng(seed)
        self.t = 0

    def reset(self) -> np.ndarray:
        self.t = 0
        return np.ones(1, dtype=np.float32)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool]:
        reward = float(self.rng.random() < self.probs[action])
        self.t += 1
        return np.ones(1, dtype=np.float32), reward, False, self.t >= self.episode_length
