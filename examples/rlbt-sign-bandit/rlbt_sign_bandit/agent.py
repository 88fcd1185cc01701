"""SignBanditAgent: a tiny contextual bandit in NumPy, following rlbt's Agent
contract (act / observe). Replace it with your own PyTorch model."""

from __future__ import annotations

import numpy as np


class SignBanditAgent:
    """Mean reward per (signs of the observation, action), epsilon-greedy."""

    def __init__(self, obs_dim: int, n_actions: int, seed: int, epsilon: float = 0.1) -> None:
        self.obs_dim, self.n_actions, self.epsilon = obs_dim, n_actions, epsilon
        self.rng = np.random.default_rng(seed)  # own generator: same seed, same run
        self.total: dict[tuple[tuple[int, ...], int], float] = {}
        self.count: dict[tuple[tuple[int, ...], int], int] = {}

    def _key(self, obs: np.ndarray) -> tuple[int, ...]:
        return tuple(int(v) for v in np.sign(obs))

    def act(self, obs: np.ndarray, explore: bool) -> int:
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        key = self._key(obs)
        means = [
            self.total.get((key, a), 0.0) / max(self.count.get((key, a), 0), 1)
            for a in range(self.n_actions)
        ]
        return int(np.argmax(means))

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        # Called one bar after act(), when the reward (log change of portfolio
        # value, costs included) is known.
        key = (self._key(obs), action)
        self.total[key] = self.total.get(key, 0.0) + reward
        self.count[key] = self.count.get(key, 0) + 1
        return None

    def state_dict(self) -> dict[str, object]:
        # What `rlbt lookahead` compares bar by bar, besides the decisions.
        return {"total": sorted(self.total.items()), "count": sorted(self.count.items()),
                "rng": self.rng.bit_generator.state}
