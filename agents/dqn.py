"""Deep Q-learning (DQN) that learns online, one transition at a time.

Reads top to bottom like CleanRL's ``dqn.py``: a Q-network and its target
network, an epsilon-greedy ``act``, ``observe`` that stores the transition and
learns every ``learn_every`` steps after ``warmup``, and ``learn`` that
samples a batch, builds the ``td_target`` and takes a gradient step.
Options: double DQN, dueling head, Huber or MSE loss, prioritized replay with
beta annealing, n-step returns, hard or Polyak target updates.

Non-finite losses: a gradient step whose loss or gradient norm is not finite
(a NaN / inf reward, e.g. log(0) after a wipe-out; an exploding network) is
skipped: the optimizer is not stepped, the weights stay as they were, and the
step is counted in ``stats["skipped_nonfinite"]`` (cumulative), so one bad bar
cannot poison the network and the caller can see that it happened. The bad
transition stays in memory (batches drawing it are skipped too); prioritized
replay sets its priority to ~0 so it is rarely drawn again.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlbt.agents.base import (
    CheckpointMixin,
    StepPlan,
    generator_state,
    guarded_step,
    is_int,
    is_real,
    is_seed,
    linear_schedule,
    require,
    resolve_device,
    spawn_seeds,
    torch_seeded,
)
from rlbt.agents.checkpoint import arrays_to_tensors, tensors_to_arrays
from rlbt.agents.errors import AgentError
from rlbt.agents.fast.dqn_step import FastPathMixin
from rlbt.agents.memory import check_memory
from rlbt.agents.memory_needs import dqn_needs
from rlbt.agents.networks import QNetwork
from rlbt.agents.replay import Batch, PrioritizedReplayBuffer, ReplayBuffer


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """Settings of a ``DQNAgent``; validated on construction (``AgentError`` names the field)."""

    obs_dim: int
    """Number of observation features."""
    n_actions: int
    """Number of discrete actions (>= 2)."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the Q-network's hidden layers."""
    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount factor in [0, 1]."""
    buffer_size: int = 100_000
    """Replay memory capacity, in transitions."""
    batch_size: int = 64
    """Transitions per gradient step."""
    warmup: int = 500
    """Environment steps stored before the first gradient step."""
    learn_every: int = 4
    """Learn once every this many environment steps."""
    gradient_steps: int = 1
    """Gradient steps each time it learns."""
    target_every: int = 500
    """Update the target network every this many gradient steps."""
    tau: float = 1.0
    """Target update: target <- tau * online + (1 - tau) * target. 1.0 is a hard
    copy; e.g. tau=0.005 with target_every=1 is Polyak averaging."""
    double: bool = True
    """Double DQN: the online network picks the next action, the target network values it."""
    dueling: bool = False
    """Dueling value / advantage head."""
    huber: bool = True
    """Huber (smooth L1) loss; False for mean squared error."""
    max_grad_norm: float | None = 10.0
    """Clip the gradient's global norm to this; None to not clip."""
    eps_start: float = 1.0
    """Exploration epsilon at step 0."""
    eps_end: float = 0.05
    """Exploration epsilon after the decay."""
    eps_decay_steps: int | None = None
    """Environment steps of the linear epsilon decay; None: ``eps_decay_fraction``
    of the run's training steps (``rlbt run`` plans episodes x bars)."""
    eps_decay_fraction: float = 0.5
    """The epsilon decay's share of the training steps, when ``eps_decay_steps`` is None."""
    prioritized: bool = False
    """Prioritized replay (proportional, sum-tree) instead of uniform."""
    alpha: float = 0.6
    """Prioritized replay: how much priorities count (0 is uniform)."""
    beta_start: float = 0.4
    """Prioritized replay: importance-sampling exponent at step 0."""
    beta_end: float = 1.0
    """Prioritized replay: importance-sampling exponent after annealing."""
    beta_anneal_steps: int | None = None
    """Prioritized replay: environment steps of the linear beta annealing; None:
    all of the run's training steps."""
    n_step: int = 1
    """Steps of the n-step return."""
    seed: int = 0
    """The one seed of everything random in the agent."""
    device: str = "cpu"
    """Torch device: 'cpu' or 'cuda'."""
    fast: bool = True
    """On the CPU, train and act with a plain MLP through the hand-written NumPy path
    (``rlbt.agents.fast.dqn_step``): the same update, several times faster. False forces the torch
    autograd reference; the two agree up to float32 rounding."""

    def __post_init__(self) -> None:
        def check(field: str, ok: bool, expected: str) -> None:
            require(ok, "DQNConfig", field, getattr(self, field), expected)

        for name in ("obs_dim", "buffer_size", "batch_size", "learn_every", "gradient_steps",
                     "target_every", "n_step"):
            check(name, is_int(getattr(self, name)) and getattr(self, name) >= 1, "an integer >= 1")
        check("warmup", is_int(self.warmup) and self.warmup >= 0, "an integer >= 0")
        check("seed", is_seed(self.seed), "an integer in 0..2**32-1 (as --seed)")
        for name in ("eps_decay_steps", "beta_anneal_steps"):
            value = getattr(self, name)
            check(name, value is None or (is_int(value) and value >= 0),
                  "None (a share of training) or an integer >= 0")
        check("n_actions", is_int(self.n_actions) and self.n_actions >= 2, "an integer >= 2")
        check("hidden", isinstance(self.hidden, tuple)
              and all(is_int(h) and h >= 1 for h in self.hidden), "a tuple of integers >= 1")
        check("lr", is_real(self.lr) and self.lr > 0, "a finite number > 0")
        check("tau", is_real(self.tau) and 0 < self.tau <= 1, "a number in (0, 1]")
        for name in ("gamma", "eps_start", "eps_end", "alpha", "beta_start", "beta_end",
                     "eps_decay_fraction"):
            value = getattr(self, name)
            check(name, is_real(value) and 0 <= value <= 1, "a number in [0, 1]")
        check("max_grad_norm", self.max_grad_norm is None
              or (is_real(self.max_grad_norm) and self.max_grad_norm > 0), "None or a number > 0")
        check("batch_size", self.batch_size <= self.buffer_size, "<= buffer_size")
        for name in ("double", "dueling", "huber", "prioritized", "fast"):
            check(name, isinstance(getattr(self, name), bool), "True or False")
        check("device", isinstance(self.device, str), "a device name such as 'cpu' or 'cuda'")


class DQNAgent(FastPathMixin, StepPlan, CheckpointMixin):
    """A DQN agent following the ``rlbt.agents.base.Agent`` contract."""

    kind = "dqn"
    counter_stats = ("updates", "skipped_nonfinite")  # running totals in learn() stats
    config_class = DQNConfig
    shape_fields = ("obs_dim", "n_actions", "hidden", "dueling")
    replay_fields = ("buffer_size", "prioritized", "n_step", "gamma")

    def __init__(self, config: DQNConfig) -> None:
        """:param config: the agent's settings (``seed`` fixes everything random)."""
        check_memory("DQNConfig", dqn_needs(config))
        self.config = config
        self.obs_dim = config.obs_dim
        self.n_actions = config.n_actions
        self.device = resolve_device(config.device)
        rng_seed, torch_seed, buffer_seed = spawn_seeds(config.seed, 3)
        self.rng = np.random.default_rng(rng_seed)  # epsilon draws and random actions
        with torch_seeded(torch_seed):  # the caller's global torch RNG is left untouched
            q_network = QNetwork(config.obs_dim, config.n_actions, config.hidden, config.dueling)
        self.q_network = q_network.to(self.device)
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=config.lr)
        self.buffer = self._make_buffer(buffer_seed)
        self._fast = self._make_fast_path()
        self.env_steps = 0
        self.updates = 0
        self.skipped_nonfinite = 0
        self.last_stats: dict[str, float] = {}

    def _make_buffer(self, seed: int) -> ReplayBuffer | PrioritizedReplayBuffer:
        cfg = self.config
        if cfg.prioritized:
            return PrioritizedReplayBuffer(
                cfg.buffer_size, (cfg.obs_dim,), seed=seed, alpha=cfg.alpha,
                beta=cfg.beta_start, n_step=cfg.n_step, gamma=cfg.gamma,
            )
        return ReplayBuffer(cfg.buffer_size, (cfg.obs_dim,), seed=seed, n_step=cfg.n_step,
                            gamma=cfg.gamma)

    @property
    def epsilon(self) -> float:
        """Current exploration rate (linear decay over environment steps)."""
        cfg = self.config
        decay = self.schedule_steps(cfg.eps_decay_steps, cfg.eps_decay_fraction)
        return linear_schedule(cfg.eps_start, cfg.eps_end, decay, self.env_steps)

    @property
    def beta(self) -> float:
        """Current importance-sampling exponent of prioritized replay."""
        cfg = self.config
        anneal = self.schedule_steps(cfg.beta_anneal_steps, 1.0)
        return linear_schedule(cfg.beta_start, cfg.beta_end, anneal, self.env_steps)

    def act(self, obs: np.ndarray, explore: bool) -> int:
        """Pick an action: greedy, or epsilon-greedy with the current epsilon.

        :param obs: observation of shape ``(obs_dim,)``.
        :param explore: explore (training) or act greedily (evaluation).
        """
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        if self._fast is not None:
            return self._fast.greedy(self._check_obs(obs))
        obs_t = torch.from_numpy(self._check_obs(obs)).to(self.device)
        with torch.inference_mode():
            return int(self.q_network(obs_t.unsqueeze(0)).argmax(dim=1).item())

    def _check_obs(self, obs: np.ndarray) -> np.ndarray:
        array = np.asarray(obs, dtype=np.float32)  # no copy when already float32
        if array.shape != (self.obs_dim,):
            raise AgentError(f"observation has shape {array.shape}, expected ({self.obs_dim},)")
        return array if array.flags.writeable else array.copy()

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        """Store a transition and learn when it is time.

        :param obs: observation the action was chosen from.
        :param action: the action taken.
        :param reward: reward of that action.
        :param next_obs: the observation that followed (the last one at end of data).
        :param terminated: a true terminal state: the future is worth 0.
        :param truncated: the episode was cut (end of data): the future still counts.
        :return: the ``learn()`` stats when it learned this step, else None.
        """
        if not (is_int(action) and 0 <= action < self.n_actions):
            raise AgentError(f"action={action!r}: expected an integer in [0, {self.n_actions})")
        # only `terminated` is stored: a truncated transition keeps bootstrapping from next_obs
        self.buffer.add(obs, action, reward, next_obs, terminated)
        if truncated and not terminated:
            self.buffer.flush()  # end of data: close the pending n-step returns
        self.env_steps += 1
        cfg = self.config
        if (self.env_steps >= cfg.warmup and len(self.buffer) >= cfg.batch_size
                and self.env_steps % cfg.learn_every == 0):
            return self.learn()
        return None

    def learn(self) -> dict[str, float]:
        """Take ``gradient_steps`` gradient steps on sampled batches now.

        :return: ``loss``, ``q_mean`` and ``grad_norm`` (the gradient's norm before
            clipping; each the mean over this call's finite steps, NaN if none),
            ``epsilon``, ``updates`` and ``skipped_nonfinite`` (cumulative).
        :raises AgentError: when the replay memory holds fewer than ``batch_size`` transitions.
        """
        cfg = self.config
        if len(self.buffer) < cfg.batch_size:
            raise AgentError(
                f"learn() needs {cfg.batch_size} stored transitions (batch_size), "
                f"the replay memory has {len(self.buffer)}"
            )
        steps: list[tuple[float, float, float]] = []  # (loss, q_mean, grad_norm) per step
        for _ in range(cfg.gradient_steps):
            if isinstance(self.buffer, PrioritizedReplayBuffer):
                self.buffer.beta = self.beta
            batch = self.buffer.sample(cfg.batch_size)
            if self._fast is not None:
                result = self._fast_gradient_step(self._fast, batch)
            else:
                result = self._gradient_step(batch)
            if result is not None:
                steps.append(result)
        # each figure's own 1-D mean, summed in the order it always was (same bits)
        loss, q_mean, grad_norm = ([float(np.mean(column)) for column in zip(*steps, strict=True)]
                                   if steps else [math.nan] * 3)
        self.last_stats = {
            "loss": loss,
            "q_mean": q_mean,
            "grad_norm": grad_norm,
            "epsilon": self.epsilon,
            "updates": float(self.updates),
            "skipped_nonfinite": float(self.skipped_nonfinite),
        }
        return self.last_stats

    def td_target(
        self,
        rewards: torch.Tensor,
        next_obs: torch.Tensor,
        terminated: torch.Tensor,
        discounts: torch.Tensor,
    ) -> torch.Tensor:
        """The TD target ``r + discount * (1 - terminated) * Q_target(s', a*)``.

        :param rewards: ``[B]`` (n-step discounted sums when n_step > 1).
        :param next_obs: ``[B, obs_dim]``.
        :param terminated: ``[B]`` 0/1; truncated transitions carry 0 here.
        :param discounts: ``[B]`` gamma^k for the k steps the reward covers.
        """
        with torch.no_grad():
            target_q = self.target_network(next_obs)
            if self.config.double:  # online network picks a*, target network values it
                next_actions = self.q_network(next_obs).argmax(dim=1, keepdim=True)
                next_q = target_q.gather(1, next_actions).squeeze(1)
            else:
                next_q = target_q.max(dim=1).values
            # only termination zeroes the bootstrap; truncation (end of data) still bootstraps
            return rewards + discounts * (1.0 - terminated) * next_q

    def _gradient_step(self, batch: Batch) -> tuple[float, float, float] | None:
        """One gradient step on ``batch``: its loss, mean Q and gradient norm
        (before clipping); None when skipped as non-finite."""
        def to_device(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(array).to(self.device)  # no copy on the CPU

        td_target = self.td_target(
            to_device(batch.rewards), to_device(batch.next_obs),
            to_device(batch.terminated), to_device(batch.discounts),
        )
        actions = to_device(batch.actions).unsqueeze(1)
        q_values = self.q_network(to_device(batch.obs)).gather(1, actions).squeeze(1)
        td_errors = (td_target - q_values).detach()
        loss_fn = F.smooth_l1_loss if self.config.huber else F.mse_loss
        loss = (to_device(batch.weights) * loss_fn(q_values, td_target, reduction="none")).mean()
        grad_norm = guarded_step(loss, self.optimizer, self.q_network.parameters(),
                                 self.config.max_grad_norm)
        if grad_norm is None:  # a NaN/inf never reached the weights
            self.skipped_nonfinite += 1
            if not torch.isfinite(loss):
                # priority ~0 for the bad transitions, so they are rarely drawn again
                self._write_priorities(batch, torch.nan_to_num(td_errors, 0.0, 0.0, 0.0))
            return None
        self.updates += 1
        self._write_priorities(batch, td_errors)
        if self.updates % self.config.target_every == 0:
            self._update_target()
        return float(loss.item()), float(q_values.detach().mean().item()), grad_norm

    def _write_priorities(self, batch: Batch, td_errors: torch.Tensor | np.ndarray) -> None:
        if isinstance(self.buffer, PrioritizedReplayBuffer):
            if isinstance(td_errors, torch.Tensor):
                td_errors = td_errors.cpu().numpy()
            self.buffer.update_priorities(batch.indices, np.abs(td_errors))

    def _update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            for target, online in zip(
                self.target_network.parameters(), self.q_network.parameters(), strict=True
            ):
                if tau == 1.0:
                    target.copy_(online)
                else:
                    target.lerp_(online, tau)  # target += tau * (online - target)

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer, counters, RNG state.

        :param include_replay: also include the replay memory (as tensors) so that
            training resumes exactly.
        """
        state: dict[str, Any] = {
            "q_network": self.q_network.state_dict(),
            "target_network": self.target_network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "skipped_nonfinite": self.skipped_nonfinite,
            "rng": generator_state(self.rng),
        }
        if include_replay:
            state["replay"] = arrays_to_tensors(self.buffer.state_dict())
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned (the replay memory too, when present).

        :param state: a dict from ``state_dict`` (or a checkpoint's ``state``).
        """
        self.q_network.load_state_dict(state["q_network"])
        self.target_network.load_state_dict(state["target_network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.env_steps = int(state["env_steps"])
        self.updates = int(state["updates"])
        self.skipped_nonfinite = int(state["skipped_nonfinite"])
        self.rng.bit_generator.state = dict(state["rng"])
        if "replay" in state:
            self.buffer.load_state_dict(tensors_to_arrays(state["replay"]))
