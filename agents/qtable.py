"""Tabular Q-learning on a discretised observation.

Each feature is cut into a few bins by the thresholds in ``config.bins``
(shared by every feature); the tuple of bin indices is the state. The default
thresholds ``(-1e-8, 1e-8)`` give the sign of each feature (negative / about
zero / positive): for market observations that is the direction of each of the
last k returns and whether the position is short / flat / long. The table is a
dense NumPy array of shape ``(len(bins) + 1) ** obs_dim x n_actions``, which
must stay at or below 1e6 states.

It learns in ``observe`` (one Q-learning update per transition); ``learn``
only reports the stats of the last update. A non-finite TD target (NaN / inf
reward) is skipped and counted in ``skipped_nonfinite``, as in ``DQNAgent``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from rlbt.agents.base import (
    CheckpointMixin,
    StepPlan,
    generator_state,
    is_int,
    is_real,
    is_seed,
    linear_schedule,
    require,
    spawn_seeds,
)
from rlbt.agents.errors import AgentError, SettingError
from rlbt.agents.memory import check_memory
from rlbt.agents.memory_needs import qtable_needs, table_culprits

MAX_STATES = 1_000_000


@dataclasses.dataclass(frozen=True)
class QTableConfig:
    """Settings of a ``QTableAgent``; validated on construction (``AgentError`` names the field)."""

    obs_dim: int
    """Number of observation features."""
    n_actions: int
    """Number of discrete actions (>= 2)."""
    lr: float = 0.1
    """Step size of the Q-learning update, in (0, 1]."""
    gamma: float = 0.95
    """Discount factor in [0, 1]."""
    eps_start: float = 1.0
    """Exploration epsilon at step 0."""
    eps_end: float = 0.05
    """Exploration epsilon after the decay."""
    eps_decay_steps: int | None = None
    """Environment steps of the linear epsilon decay; None: ``eps_decay_fraction``
    of the run's training steps (``rlbt run`` plans episodes x bars)."""
    eps_decay_fraction: float = 0.5
    """The epsilon decay's share of the training steps, when ``eps_decay_steps`` is None."""
    bins: tuple[float, ...] = (-1e-8, 1e-8)
    """Increasing thresholds cutting every feature into len(bins) + 1 bins; x falls in
    bin i when exactly i thresholds are < x. The default is the sign (-, 0, +)."""
    seed: int = 0
    """The one seed of everything random in the agent."""

    def __post_init__(self) -> None:
        def check(field: str, ok: bool, expected: str) -> None:
            require(ok, "QTableConfig", field, getattr(self, field), expected)

        check("obs_dim", is_int(self.obs_dim) and self.obs_dim >= 1, "an integer >= 1")
        check("n_actions", is_int(self.n_actions) and self.n_actions >= 2, "an integer >= 2")
        check("lr", is_real(self.lr) and 0 < self.lr <= 1, "a number in (0, 1]")
        for name in ("gamma", "eps_start", "eps_end", "eps_decay_fraction"):
            value = getattr(self, name)
            check(name, is_real(value) and 0 <= value <= 1, "a number in [0, 1]")
        check("seed", is_seed(self.seed), "an integer in 0..2**32-1 (as --seed)")
        check("eps_decay_steps", self.eps_decay_steps is None
              or (is_int(self.eps_decay_steps) and self.eps_decay_steps >= 0),
              "None (a share of training) or an integer >= 0")
        check("bins", isinstance(self.bins, tuple) and len(self.bins) >= 1
              and all(is_real(b) for b in self.bins)
              and all(a < b for a, b in zip(self.bins, self.bins[1:], strict=False)),
              "a non-empty tuple of finite, strictly increasing thresholds")
        self._check_table_size()

    def _check_table_size(self) -> None:
        n_bins = len(self.bins) + 1
        n_states = n_bins**self.obs_dim  # a Python int: never overflows
        if n_states <= MAX_STATES:
            return
        field, other = table_culprits(self.obs_dim, self.bins)
        raise SettingError(
            "QTableConfig", field, getattr(self, field),
            f"{n_bins} bins per feature ** {self.obs_dim} features = {n_states:.3g} table "
            f"rows, more than {MAX_STATES:,}; use fewer features, fewer bins, or the dqn "
            "strategy", also=(other,),
        )


class QTableAgent(StepPlan, CheckpointMixin):
    """Tabular Q-learning following the ``rlbt.agents.base.Agent`` contract."""

    kind = "qtable"
    counter_stats = ("updates", "skipped_nonfinite")  # running totals in learn() stats
    config_class = QTableConfig
    shape_fields = ("obs_dim", "n_actions", "bins")

    def __init__(self, config: QTableConfig) -> None:
        """:param config: the agent's settings (``seed`` fixes everything random)."""
        check_memory("QTableConfig", qtable_needs(config))
        self.config = config
        self.obs_dim = config.obs_dim
        self.n_actions = config.n_actions
        self.device = torch.device("cpu")
        self.rng = np.random.default_rng(spawn_seeds(config.seed, 1)[0])
        self._bins = np.asarray(config.bins, dtype=np.float64)
        n_bins = len(config.bins) + 1
        # mixed-radix place values: the bin tuple (d_0, ..., d_k) -> sum d_i * n_bins**(k - i)
        self._place = n_bins ** np.arange(config.obs_dim - 1, -1, -1, dtype=np.int64)
        self.q_table = np.zeros((n_bins**config.obs_dim, config.n_actions), dtype=np.float64)
        self.env_steps = 0
        self.updates = 0
        self.skipped_nonfinite = 0
        self.last_td_error = math.nan

    @property
    def epsilon(self) -> float:
        """Current exploration rate (linear decay over environment steps)."""
        cfg = self.config
        decay = self.schedule_steps(cfg.eps_decay_steps, cfg.eps_decay_fraction)
        return linear_schedule(cfg.eps_start, cfg.eps_end, decay, self.env_steps)

    def state_index(self, obs: np.ndarray) -> int:
        """The table row of an observation.

        :param obs: observation of shape ``(obs_dim,)``.
        :raises AgentError: on a wrong shape or a NaN feature.
        """
        array = np.asarray(obs, dtype=np.float64)
        if array.shape != (self.obs_dim,):
            raise AgentError(f"observation has shape {array.shape}, expected ({self.obs_dim},)")
        if np.isnan(array).any():
            raise AgentError("observation holds NaN; a Q-table cannot place it in a bin")
        digits = np.searchsorted(self._bins, array, side="left")  # thresholds < x
        return int(digits @ self._place)

    def act(self, obs: np.ndarray, explore: bool) -> int:
        """Pick an action: greedy (lowest index on ties), or epsilon-greedy.

        :param obs: observation of shape ``(obs_dim,)``.
        :param explore: explore (training) or act greedily (evaluation).
        """
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(self.q_table[self.state_index(obs)]))

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        """Apply one Q-learning update for this transition.

        :param obs: observation the action was chosen from.
        :param action: the action taken.
        :param reward: reward of that action.
        :param next_obs: the observation that followed (the last one at end of data).
        :param terminated: a true terminal state: the future is worth 0.
        :param truncated: the episode was cut (end of data): the future still counts.
        :return: the stats of this update.
        """
        if not (is_int(action) and 0 <= action < self.n_actions):
            raise AgentError(f"action={action!r}: expected an integer in [0, {self.n_actions})")
        state, next_state = self.state_index(obs), self.state_index(next_obs)
        # only termination zeroes the bootstrap; truncation (end of data) still bootstraps
        bootstrap = 0.0 if terminated else self.config.gamma * float(self.q_table[next_state].max())
        td_target = float(reward) + bootstrap
        self.env_steps += 1
        if not math.isfinite(td_target):  # a NaN/inf never reaches the table
            self.skipped_nonfinite += 1
            self.last_td_error = math.nan
            return self.learn()
        td_error = td_target - self.q_table[state, action]
        self.q_table[state, action] += self.config.lr * td_error
        self.updates += 1
        self.last_td_error = float(td_error)
        return self.learn()

    def learn(self) -> dict[str, float]:
        """Report the last update (Q-learning updates inside ``observe``).

        :return: ``loss`` (squared TD error of the last update), ``q_mean``,
            ``epsilon``, ``updates``, ``skipped_nonfinite``.
        """
        return {
            "loss": self.last_td_error**2,
            "q_mean": float(self.q_table.mean()),
            "epsilon": self.epsilon,
            "updates": float(self.updates),
            "skipped_nonfinite": float(self.skipped_nonfinite),
        }

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        """The table, counters and RNG state.

        :param include_replay: ignored (a Q-table keeps no replay memory).
        """
        return {
            "q_table": torch.from_numpy(self.q_table.copy()),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "skipped_nonfinite": self.skipped_nonfinite,
            "last_td_error": self.last_td_error,
            "rng": generator_state(self.rng),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :param state: a dict from ``state_dict`` (or a checkpoint's ``state``).
        """
        table = state["q_table"].detach().cpu().numpy().astype(np.float64)
        if table.shape != self.q_table.shape:
            raise AgentError(f"q_table has shape {table.shape}, expected {self.q_table.shape}")
        self.q_table = table
        self.env_steps = int(state["env_steps"])
        self.updates = int(state["updates"])
        self.skipped_nonfinite = int(state["skipped_nonfinite"])
        self.last_td_error = float(state["last_td_error"])
        self.rng.bit_generator.state = dict(state["rng"])
