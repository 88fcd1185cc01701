"""Adapters that fill and drive the peers' replay buffers the same way as rlbt's.

Each ``make_*`` returns an object with ``sample(batch)`` and ``add_one(i)``
(store transition ``i`` of the data, one call, the online case) built over the
same transitions. Filling is setup and never timed; where a peer has no batch
insert, its arrays are written directly so a 1M fill takes seconds, not minutes.
Every import goes through ``conftest.peer`` so a missing library skips cleanly.

What each ``sample`` returns is what the library returns: SB3 moves its batch
to torch tensors (its ``sample`` always does), cpprb returns a dict of NumPy
arrays, TorchRL a ``TensorDict``, rlbt NumPy arrays ready for
``torch.from_numpy``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from bench_common import N_ACTIONS, OBS_DIM, peer


class SB3Buffer:
    """stable-baselines3's ``ReplayBuffer`` (one env, no memory optimisation)."""

    def __init__(self, capacity: int, data: dict[str, np.ndarray], fill: bool = True) -> None:
        buffers = peer("stable_baselines3.common.buffers")
        spaces = peer("gymnasium.spaces")
        self.rb = buffers.ReplayBuffer(
            capacity, spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32),
            spaces.Discrete(N_ACTIONS), device="cpu", n_envs=1,
        )
        self.data = data
        self._infos: list[dict[str, Any]] = [{}]
        if fill:
            n = min(capacity, len(data["actions"]))
            self.rb.observations[:n, 0] = data["obs"][:n]
            self.rb.next_observations[:n, 0] = data["next_obs"][:n]
            self.rb.actions[:n, 0, 0] = data["actions"][:n]
            self.rb.rewards[:n, 0] = data["rewards"][:n]
            self.rb.dones[:n, 0] = data["terminated"][:n]
            self.rb.pos, self.rb.full = n % capacity, n == capacity

    def sample(self, batch: int) -> Any:
        return self.rb.sample(batch)

    def add_one(self, i: int) -> None:
        d = self.data
        self.rb.add(d["obs"][i], d["next_obs"][i], d["actions"][i:i + 1], d["rewards"][i:i + 1],
                    d["terminated"][i:i + 1], self._infos)


def _cpprb_fields() -> dict[str, Any]:
    return {"obs": {"shape": OBS_DIM}, "act": {"dtype": np.int64}, "rew": {},
            "next_obs": {"shape": OBS_DIM}, "done": {}}


class CpprbBuffer:
    """cpprb's ``ReplayBuffer`` or ``PrioritizedReplayBuffer``."""

    def __init__(self, capacity: int, data: dict[str, np.ndarray], prioritized: bool = False,
                 fill: bool = True) -> None:
        cpprb = peer("cpprb")
        cls = cpprb.PrioritizedReplayBuffer if prioritized else cpprb.ReplayBuffer
        self.rb = cls(capacity, _cpprb_fields())
        self.data = data
        if fill:
            n = min(capacity, len(data["actions"]))
            self.rb.add(obs=data["obs"][:n], act=data["actions"][:n], rew=data["rewards"][:n],
                        next_obs=data["next_obs"][:n], done=data["terminated"][:n])

    def sample(self, batch: int) -> Any:
        return self.rb.sample(batch)

    def add_one(self, i: int) -> None:
        d = self.data
        self.rb.add(obs=d["obs"][i], act=int(d["actions"][i]), rew=float(d["rewards"][i]),
                    next_obs=d["next_obs"][i], done=float(d["terminated"][i]))


class TorchRLBuffer:
    """TorchRL's ``ReplayBuffer(LazyTensorStorage)`` of TensorDicts."""

    def __init__(self, capacity: int, data: dict[str, np.ndarray], fill: bool = True) -> None:
        peer("torchrl")
        replay = peer("torchrl.data")
        tensordict = peer("tensordict")
        self.rb = replay.ReplayBuffer(storage=replay.LazyTensorStorage(capacity))
        self._make = tensordict.TensorDict
        n = len(data["actions"])
        self.data = self._make(
            {"obs": torch.from_numpy(data["obs"]), "action": torch.from_numpy(data["actions"]),
             "reward": torch.from_numpy(data["rewards"]),
             "next_obs": torch.from_numpy(data["next_obs"]),
             "done": torch.from_numpy(data["terminated"])}, batch_size=[n])
        if fill:
            self.rb.extend(self.data[:min(capacity, n)])
        else:
            self.rb.extend(self.data[:1])  # storage is lazy: the first write allocates it

    def sample(self, batch: int) -> Any:
        return self.rb.sample(batch)

    def add_one(self, i: int) -> None:
        self.rb.add(self.data[i])


class PackedRows:
    """The practical floor: every field of a transition packed in one float32 row, and a
    sample is one ``np.take`` of ``B`` rows (no next-obs sharing, no separate arrays)."""

    def __init__(self, capacity: int, data: dict[str, np.ndarray], seed: int = 0) -> None:
        n = min(capacity, len(data["actions"]))
        rows = np.empty((capacity, 2 * OBS_DIM + 3), dtype=np.float32)
        rows[:n, :OBS_DIM] = data["obs"][:n]
        rows[:n, OBS_DIM:2 * OBS_DIM] = data["next_obs"][:n]
        rows[:n, -3] = data["actions"][:n]
        rows[:n, -2] = data["rewards"][:n]
        rows[:n, -1] = data["terminated"][:n]
        self.rows, self.size = rows, n
        self.rng = np.random.default_rng(seed)

    def sample(self, batch: int) -> np.ndarray:
        return self.rows.take(self.rng.integers(0, self.size, batch), axis=0)


def box_env(obs_dim: int = OBS_DIM, n_actions: int = N_ACTIONS) -> Any:
    """A do-nothing gymnasium env with SB3's spaces: ``DQN`` needs one to build itself."""
    gym = peer("gymnasium")

    class BoxEnv(gym.Env):  # type: ignore[misc, name-defined]
        observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        action_space = gym.spaces.Discrete(n_actions)

        def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
            super().reset(seed=seed)
            return np.zeros(obs_dim, dtype=np.float32), {}

        def step(self, action: int) -> Any:
            return np.zeros(obs_dim, dtype=np.float32), 0.0, False, False, {}

    return BoxEnv()


def sb3_dqn(env: Any, *, batch: int, buffer_size: int, learning_starts: int,
            device: str = "cpu") -> Any:
    """An SB3 ``DQN`` sized like rlbt's: MLP 64-64, Adam 1e-3, train every 4 steps."""
    sb3 = peer("stable_baselines3")
    logger = peer("stable_baselines3.common.logger")
    model = sb3.DQN(
        "MlpPolicy", env, learning_rate=1e-3, buffer_size=buffer_size, batch_size=batch,
        learning_starts=learning_starts, train_freq=4, gradient_steps=1, gamma=0.99,
        target_update_interval=250, exploration_fraction=0.25, exploration_final_eps=0.05,
        policy_kwargs={"net_arch": [64, 64]}, seed=0, device=device, verbose=0,
    )
    model.set_logger(logger.configure(None, [""]))
    return model
