"""Advantage actor-critic (A2C) learning online, one rollout of ``rollout_bars`` at a time.

One network, a shared trunk with two heads: the actor's logits ``pi(a|s)`` and
the critic's value ``V(s)``. Every ``rollout_bars`` transitions, and at the end
of each episode, it takes one gradient step on::

    loss = -(log pi(a_t|s_t) * A_t).mean()            # policy_loss
           + value_coef * mean((V(s_t) - R_t) ** 2)   # value_loss (MSE, as in SB3's A2C)
           - entropy_coef * entropy

then clears the rollout. With ``gae_lambda=None`` the targets ``R_t`` are
n-step returns computed backwards from ``V(s'_last)`` and ``A_t = R_t - V(s_t)``;
with a float ``gae_lambda`` the advantages are GAE(lambda) and ``R_t = A_t + V(s_t)``.
Only termination zeroes the bootstrap: at truncation (end of data) and at the
end of a rollout mid-episode the return bootstraps from ``V`` of the last
``next_obs``. The targets and advantages are constants (no gradient flows
through the bootstrap value).

Seeding, ``act``, the learning cadence, the non-finite guard and the
checkpointed state are ``OnPolicyAgent``'s (``rlbt.agents.policy_gradient``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical

from rlbt.agents.base import is_real, require
from rlbt.agents.networks import mlp
from rlbt.agents.policy_gradient import OnPolicyAgent, check_on_policy_fields, small_head
from rlbt.agents.returns import gae_advantages, n_step_returns, normalize
from rlbt.agents.rollout import RolloutBatch


@dataclasses.dataclass(frozen=True)
class A2CConfig:
    """Settings of an ``A2CAgent``; validated on construction (``AgentError`` names the field)."""

    obs_dim: int
    """Number of observation features."""
    n_actions: int
    """Number of discrete actions (>= 2)."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the shared trunk's hidden layers."""
    lr: float = 7e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount factor in [0, 1]."""
    rollout_bars: int = 16
    """Learn every this many transitions and at each episode end; 0 = only at episode end."""
    value_coef: float = 0.5
    """Weight of the critic's value loss."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus (keeps the policy exploring)."""
    max_grad_norm: float | None = 0.5
    """Clip the gradient's global norm to this; None to not clip."""
    gae_lambda: float | None = None
    """None: n-step TD advantages; a number in [0, 1]: GAE(lambda) advantages."""
    normalize_advantages: bool = False
    """Normalise the advantages of each rollout to zero mean, unit std."""
    seed: int = 0
    """The one seed of everything random in the agent."""
    device: str = "cpu"
    """Torch device: 'cpu' or 'cuda'."""

    def __post_init__(self) -> None:
        check_on_policy_fields(self, "A2CConfig")
        require(is_real(self.value_coef) and self.value_coef >= 0, "A2CConfig", "value_coef",
                self.value_coef, "a finite number >= 0")
        require(self.gae_lambda is None or (is_real(self.gae_lambda) and 0 <= self.gae_lambda <= 1),
                "A2CConfig", "gae_lambda", self.gae_lambda, "None or a number in [0, 1]")
        require(isinstance(self.normalize_advantages, bool), "A2CConfig", "normalize_advantages",
                self.normalize_advantages, "True or False")


class ActorCritic(nn.Module):
    """A shared trunk with a policy head (logits) and a value head."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...]) -> None:
        """:param obs_dim: observation features.
        :param n_actions: number of discrete actions.
        :param hidden: widths of the shared hidden layers.
        """
        super().__init__()
        self.trunk, width = mlp(obs_dim, hidden)
        self.policy = small_head(width, n_actions)
        self.value = nn.Linear(width, 1)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:param obs: float tensor ``[B, obs_dim]``.
        :return: logits ``[B, n_actions]`` and values ``[B]``.
        """
        features = self.trunk(obs)
        return self.policy(features), self.value(features).squeeze(1)

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Only the policy head (for acting)."""
        logits: torch.Tensor = self.policy(self.trunk(obs))
        return logits


class A2CAgent(OnPolicyAgent[ActorCritic]):
    """A2C following the ``rlbt.agents.base.Agent`` contract.

    Learn stats: ``policy_loss``, ``value_loss``, ``entropy``, ``loss``, ``grad_norm``,
    ``updates``, ``skipped_nonfinite``.
    """

    kind = "a2c"
    config_class = A2CConfig
    shape_fields = ("obs_dim", "n_actions", "hidden")
    config: A2CConfig

    def __init__(self, config: A2CConfig) -> None:
        """:param config: the agent's settings (``seed`` fixes everything random)."""
        super().__init__(config, lambda: ActorCritic(
            config.obs_dim, config.n_actions, config.hidden))

    def _logits(self, obs: torch.Tensor) -> torch.Tensor:
        return self.network.logits(obs)

    def targets(
        self, batch: RolloutBatch, values: np.ndarray, next_values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Value targets ``R_t`` and advantages ``A_t`` of a rollout.

        :param batch: the rollout.
        :param values: ``V(s_t)``.
        :param next_values: ``V(s'_t)``.
        :return: ``(returns, advantages)``, float64 ``[T]`` each.
        """
        cfg = self.config
        ends = batch.terminated | batch.truncated
        if cfg.gae_lambda is None:
            returns = n_step_returns(batch.rewards, next_values, batch.terminated, cfg.gamma, ends)
            return returns, returns - values
        advantages = gae_advantages(batch.rewards, values, next_values, batch.terminated,
                                    cfg.gamma, cfg.gae_lambda, ends)
        return advantages + values, advantages

    def _losses(self, batch: RolloutBatch) -> dict[str, torch.Tensor]:
        cfg = self.config
        size = len(batch.actions)
        # one forward pass over s_t and s'_t; the bootstrap values are constants
        obs = self._tensor(np.concatenate([batch.obs, batch.next_obs]))
        all_logits, all_values = self.network(obs)
        values = all_values[:size]
        returns, advantages = self.targets(
            batch, values.detach().cpu().numpy(), all_values[size:].detach().cpu().numpy()
        )
        if cfg.normalize_advantages:
            advantages = normalize(advantages)
        dist = Categorical(logits=all_logits[:size])
        log_probs = dist.log_prob(self._tensor(batch.actions))
        policy_loss = -(log_probs * self._tensor(advantages.astype(np.float32))).mean()
        value_loss = F.mse_loss(values, self._tensor(returns.astype(np.float32)))
        entropy = dist.entropy().mean()
        loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
        return {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                "loss": loss}
