"""Continuous allocation by policy gradient: a logistic-normal policy over
portfolio weights, learnt by A2C or REINFORCE, one rollout at a time.

The network (a shared MLP trunk) maps an observation to ``mu(s)`` in
``R^(n_assets + 1)``; a learned, state-independent ``log_std`` sets the
spread. Acting samples ``z ~ N(mu(s), diag(std^2))`` with the agent's own
generator (greedy: ``z = mu(s)``); the weights over the assets plus cash
(last) are ``softmax(z)`` (``allocation_weights``). The action the agent
returns and learns from is ``z`` itself, so ``log pi(z|s)`` is the Gaussian
log-density: an exact policy gradient over ``z``, whatever the softmax does
after it.

Every ``rollout_bars`` transitions, and at each episode end, one Adam step on

    loss = -(log pi(z_t|s_t) * A_t).mean() + value_coef * mean((V(s_t) - R_t)^2)
           - entropy_coef * entropy

``method="a2c"``: ``R_t`` are n-step returns bootstrapped from ``V`` of the
last ``next_obs`` (zero only at termination; truncation bootstraps) and
``A_t = R_t - V(s_t)``. ``method="reinforce"``: no value term; ``A_t`` are
the rollout's discounted returns, normalised. A non-finite loss or gradient
never reaches the weights (``guarded_step``): the step is skipped and
counted, the rollout cleared.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlbt.agents.base import (
    CheckpointMixin,
    generator_state,
    guarded_step,
    is_int,
    is_real,
    is_seed,
    require,
    resolve_device,
    spawn_seeds,
    torch_seeded,
)
from rlbt.agents.errors import AgentError
from rlbt.agents.networks import mlp
from rlbt.agents.returns import discounted_returns, n_step_returns, normalize

METHODS = ("a2c", "reinforce")


def allocation_weights(z: np.ndarray) -> np.ndarray:
    """``softmax(z)`` in float64, stable for any finite ``z`` (the last entry is cash)."""
    shifted = np.asarray(z, dtype=np.float64) - np.max(z)
    exp = np.exp(shifted)
    weights: np.ndarray = exp / exp.sum()
    return weights


@dataclasses.dataclass(frozen=True)
class AllocationConfig:
    """Settings of an ``AllocationAgent``; validated on construction (``AgentError``
    names the field)."""

    obs_dim: int
    """Number of observation features."""
    n_assets: int
    """Number of assets (the policy has one more output: cash)."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the shared trunk's hidden layers."""
    lr: float = 3e-3
    """Adam learning rate."""
    gamma: float = 0.5
    """Discount factor in [0, 1] (a bar's reward mostly reflects its own allocation)."""
    rollout_bars: int = 16
    """Learn every this many transitions and at each episode end; 0 = only at episode end."""
    value_coef: float = 0.5
    """Weight of the critic's value loss (a2c)."""
    entropy_coef: float = 0.0
    """Weight of the Gaussian entropy bonus."""
    max_grad_norm: float | None = 0.5
    """Clip the gradient's global norm to this; None to not clip."""
    log_std_init: float = -0.5
    """Initial log standard deviation of the policy's Gaussian."""
    method: str = "a2c"
    """``a2c`` (critic, n-step TD advantages) or ``reinforce`` (normalised returns)."""
    seed: int = 0
    """The one seed of everything random in the agent."""
    device: str = "cpu"
    """Torch device: 'cpu' or 'cuda'."""

    def __post_init__(self) -> None:
        def check(field: str, ok: bool, expected: str) -> None:
            require(ok, "AllocationConfig", field, getattr(self, field), expected)

        check("obs_dim", is_int(self.obs_dim) and self.obs_dim >= 1, "an integer >= 1")
        check("n_assets", is_int(self.n_assets) and self.n_assets >= 1, "an integer >= 1")
        check("hidden", isinstance(self.hidden, tuple)
              and all(is_int(h) and h >= 1 for h in self.hidden), "a tuple of integers >= 1")
        check("lr", is_real(self.lr) and self.lr > 0, "a finite number > 0")
        check("gamma", is_real(self.gamma) and 0 <= self.gamma <= 1, "a number in [0, 1]")
        check("rollout_bars", is_int(self.rollout_bars) and self.rollout_bars >= 0
              and self.rollout_bars != 1, "0 or an integer >= 2")
        for name in ("value_coef", "entropy_coef"):
            check(name, is_real(getattr(self, name)) and getattr(self, name) >= 0,
                  "a finite number >= 0")
        check("max_grad_norm", self.max_grad_norm is None
              or (is_real(self.max_grad_norm) and self.max_grad_norm > 0), "None or a number > 0")
        check("log_std_init", is_real(self.log_std_init) and -5 <= self.log_std_init <= 2,
              "a number in [-5, 2]")
        check("method", self.method in METHODS, f"one of {', '.join(METHODS)}")
        check("seed", is_seed(self.seed), "an integer in 0..2**32-1 (as --seed)")
        check("device", isinstance(self.device, str), "a device name such as 'cpu' or 'cuda'")


class AllocationNetwork(nn.Module):
    """Trunk -> ``mu(s)`` ``[B, n_assets + 1]`` and ``V(s)`` ``[B]``; a free ``log_std``."""

    def __init__(self, config: AllocationConfig) -> None:
        super().__init__()
        self.trunk, width = mlp(config.obs_dim, config.hidden)
        self.mu = nn.Linear(width, config.n_assets + 1)
        with torch.no_grad():  # the first policy is near equal weight
            self.mu.weight.mul_(0.01)
            self.mu.bias.zero_()
        self.value = nn.Linear(width, 1)
        self.log_std = nn.Parameter(torch.full((config.n_assets + 1,), float(config.log_std_init)))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(obs)
        return self.mu(features), self.value(features).squeeze(1)


class AllocationAgent(CheckpointMixin):
    """Learn stats: ``policy_loss``, ``value_loss`` (a2c), ``entropy``, ``loss``,
    ``grad_norm``, ``updates``, ``skipped_nonfinite``."""

    kind = "allocation"
    config_class = AllocationConfig
    shape_fields = ("obs_dim", "n_assets", "hidden")
    counter_stats = ("updates", "skipped_nonfinite")
    on_policy: ClassVar[bool] = True  # learns only from actions sampled from its policy
    config: AllocationConfig

    def __init__(self, config: AllocationConfig) -> None:
        self.config = config
        self.obs_dim, self.n_assets = config.obs_dim, config.n_assets
        self.device = resolve_device(config.device)
        rng_seed, torch_seed = spawn_seeds(config.seed, 2)
        self.rng = np.random.default_rng(rng_seed)
        with torch_seeded(torch_seed):
            network = AllocationNetwork(config)
        self.network = network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr)
        self._rollout: list[tuple[np.ndarray, np.ndarray, float, np.ndarray, bool, bool]] = []
        self.env_steps = self.updates = self.skipped_nonfinite = 0
        self.last_stats: dict[str, float] = {}

    # -- acting ----------------------------------------------------------------

    def _obs(self, obs: np.ndarray) -> torch.Tensor:
        array = np.asarray(obs, dtype=np.float32)
        if array.shape[-1:] != (self.obs_dim,):
            raise AgentError(f"observation has shape {array.shape}, expected ({self.obs_dim},)")
        return torch.from_numpy(np.array(array, copy=True)).to(self.device)

    def act(self, obs: np.ndarray, explore: bool = True) -> np.ndarray:
        """A point ``z`` (float32 ``[n_assets + 1]``); its softmax is the weights."""
        with torch.inference_mode():
            mu, _ = self.network(self._obs(obs).unsqueeze(0))
            std = self.network.log_std.exp()
        mean = mu[0].double().cpu().numpy()
        if not explore:
            return mean.astype(np.float32)
        noise = self.rng.standard_normal(self.n_assets + 1)
        return (mean + std.double().cpu().numpy() * noise).astype(np.float32)

    def greedy_weights(self, observations: np.ndarray) -> np.ndarray:
        """Greedy weights (assets + cash) for a batch of observations."""
        with torch.inference_mode():
            mu, _ = self.network(self._obs(observations).reshape(-1, self.obs_dim))
        return np.stack([allocation_weights(row) for row in mu.double().cpu().numpy()])

    # -- learning --------------------------------------------------------------

    def observe(self, obs: np.ndarray, action: np.ndarray, reward: float, next_obs: np.ndarray,
                terminated: bool, truncated: bool) -> dict[str, float] | None:
        """Store a transition; learn at the end of the rollout or of the episode."""
        z = np.asarray(action, dtype=np.float32).reshape(-1)
        if z.shape != (self.n_assets + 1,):
            raise AgentError(f"action has shape {z.shape}, expected ({self.n_assets + 1},)")
        for name, value in (("obs", obs), ("next_obs", next_obs)):
            if np.shape(value) != (self.obs_dim,):
                raise AgentError(f"{name} has shape {np.shape(value)}, expected ({self.obs_dim},)")
        self._rollout.append((np.asarray(obs, np.float32), z, float(reward),
                              np.asarray(next_obs, np.float32), bool(terminated), bool(truncated)))
        self.env_steps += 1
        bars = self.config.rollout_bars
        if terminated or truncated or (bars > 0 and len(self._rollout) >= bars):
            return self.learn()
        return None

    def learn(self) -> dict[str, float]:
        """One gradient step on the stored rollout now, then clear it."""
        if not self._rollout:
            raise AgentError("learn() needs at least one stored transition; the rollout is empty")
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                losses = self._losses()
            norm = guarded_step(losses["loss"], self.optimizer, self.network.parameters(),
                                self.config.max_grad_norm)
        finally:
            self._rollout.clear()
        if norm is None:
            self.skipped_nonfinite += 1
        else:
            self.updates += 1
        self.last_stats = {k: float(v.item()) for k, v in losses.items()}
        self.last_stats.update(grad_norm=math.nan if norm is None else norm,
                               updates=float(self.updates),
                               skipped_nonfinite=float(self.skipped_nonfinite))
        return self.last_stats

    def _losses(self) -> dict[str, torch.Tensor]:
        cfg = self.config
        obs, z, rewards, next_obs, terminated, truncated = (np.array(c) for c in
                                                            zip(*self._rollout, strict=True))
        size = len(rewards)
        mu, values = self.network(torch.from_numpy(np.concatenate([obs, next_obs]))
                                  .to(self.device))
        dist = torch.distributions.Normal(mu[:size], self.network.log_std.exp())
        log_probs = dist.log_prob(torch.from_numpy(z).to(self.device)).sum(dim=1)
        entropy = dist.entropy().sum(dim=1).mean()
        out: dict[str, torch.Tensor] = {}
        if cfg.method == "a2c":
            returns = n_step_returns(rewards, values[size:].detach().cpu().numpy(), terminated,
                                     cfg.gamma, terminated | truncated)
            advantages = returns - values[:size].detach().cpu().numpy()
            out["value_loss"] = F.mse_loss(values[:size], self._f32(returns))
        else:
            advantages = normalize(discounted_returns(rewards, cfg.gamma, terminated | truncated))
        out["policy_loss"] = -(log_probs * self._f32(advantages)).mean()
        out["entropy"] = entropy
        out["loss"] = (out["policy_loss"] + cfg.value_coef * out.get("value_loss", 0.0)
                       - cfg.entropy_coef * entropy)
        return out

    def _f32(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(array, dtype=np.float32)).to(self.device)

    # -- state -----------------------------------------------------------------

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        """Weights, optimizer, counters and the sampling RNG. A pending rollout is
        not kept: episodes end in a learning step, so it is empty between them."""
        return {"network": self.network.state_dict(), "optimizer": self.optimizer.state_dict(),
                "env_steps": self.env_steps, "updates": self.updates,
                "skipped_nonfinite": self.skipped_nonfinite, "rng": generator_state(self.rng)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.env_steps = int(state["env_steps"])
        self.updates = int(state["updates"])
        self.skipped_nonfinite = int(state["skipped_nonfinite"])
        self.rng.bit_generator.state = dict(state["rng"])
        self._rollout.clear()
