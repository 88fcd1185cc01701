"""REINFORCE (Monte-Carlo policy gradient) learning online, and the on-policy skeleton A2C shares.

A softmax policy ``pi(a|s)`` (an MLP giving logits) picks the actions. Every
transition goes into a ``Rollout``; at the end of each rollout (``rollout_bars``
transitions, and always at the end of an episode) the agent takes one gradient
step on ``-(log pi(a_t|s_t) * G_t).mean() - entropy_coef * entropy`` and clears
the rollout: on-policy data is used once.

``G_t`` is the discounted return from ``t`` to the end of the rollout. REINFORCE
has no critic, so nothing is bootstrapped: when a rollout stops before the
episode does (``rollout_bars > 0``, or truncation at the end of the data),
``G_t`` is the *truncated* return. With ``normalize_returns`` the returns are
shifted to zero mean and unit standard deviation within the rollout (a simple
baseline); a constant batch (std < 1e-8, e.g. one transition) is only centred,
so its policy gradient is 0 and only the entropy term moves the weights.

``OnPolicyAgent`` holds what REINFORCE and A2C share: seeding, ``act``
(Gumbel-max sampling with the agent's own NumPy generator, argmax when greedy),
``observe`` and its learning cadence, the non-finite guard, and the
checkpointed state (the pending rollout included, so that a resumed run equals
an uninterrupted one bit for bit). A subclass supplies the network and the loss.

Non-finite losses (a NaN / inf reward, an exploding network): the optimizer is
not stepped, the step is counted in ``skipped_nonfinite`` and the rollout is
cleared, so the bad transition is never used again.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

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
from rlbt.agents.checkpoint import arrays_to_tensors, tensors_to_arrays
from rlbt.agents.errors import AgentError
from rlbt.agents.memory import check_memory
from rlbt.agents.memory_needs import on_policy_needs
from rlbt.agents.networks import mlp
from rlbt.agents.returns import discounted_returns, normalize
from rlbt.agents.rollout import Rollout, RolloutBatch

NetT = TypeVar("NetT", bound=nn.Module)
FIRST_ROLLOUT_ROWS = 256  # rollout rows allocated when rollout_bars=0 (it doubles as needed)


def check_on_policy_fields(config: Any, owner: str) -> None:
    """Validate the fields REINFORCE and A2C configs share; ``AgentError`` names the field.

    :param config: a ``PolicyGradientConfig`` or ``A2CConfig``.
    :param owner: the config class name, for the message.
    """
    def check(field: str, ok: bool, expected: str) -> None:
        require(ok, owner, field, getattr(config, field), expected)

    check("obs_dim", is_int(config.obs_dim) and config.obs_dim >= 1, "an integer >= 1")
    check("n_actions", is_int(config.n_actions) and config.n_actions >= 2, "an integer >= 2")
    check("rollout_bars", is_int(config.rollout_bars) and config.rollout_bars >= 0,
          "an integer >= 0")
    check("seed", is_seed(config.seed), "an integer in 0..2**32-1 (as --seed)")
    check("hidden", isinstance(config.hidden, tuple)
          and all(is_int(h) and h >= 1 for h in config.hidden), "a tuple of integers >= 1")
    check("lr", is_real(config.lr) and config.lr > 0, "a finite number > 0")
    check("gamma", is_real(config.gamma) and 0 <= config.gamma <= 1, "a number in [0, 1]")
    check("entropy_coef", is_real(config.entropy_coef) and config.entropy_coef >= 0,
          "a finite number >= 0")
    check("max_grad_norm", config.max_grad_norm is None
          or (is_real(config.max_grad_norm) and config.max_grad_norm > 0), "None or a number > 0")
    check("device", isinstance(config.device, str), "a device name such as 'cpu' or 'cuda'")


@dataclasses.dataclass(frozen=True)
class PolicyGradientConfig:
    """Settings of a ``PolicyGradientAgent``; validated on construction (``AgentError`` names
    the field)."""

    obs_dim: int
    """Number of observation features."""
    n_actions: int
    """Number of discrete actions (>= 2)."""
    hidden: tuple[int, ...] = (64, 64)
    """Widths of the policy network's hidden layers."""
    lr: float = 1e-3
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount factor in [0, 1]."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus (keeps the policy exploring)."""
    rollout_bars: int = 0
    """Learn every this many transitions and at each episode end; 0 = only at episode end."""
    max_grad_norm: float | None = 10.0
    """Clip the gradient's global norm to this; None to not clip."""
    normalize_returns: bool = True
    """Normalise the returns of each rollout to zero mean, unit std (a constant batch is
    only centred)."""
    seed: int = 0
    """The one seed of everything random in the agent."""
    device: str = "cpu"
    """Torch device: 'cpu' or 'cuda'."""

    def __post_init__(self) -> None:
        check_on_policy_fields(self, "PolicyGradientConfig")
        require(isinstance(self.normalize_returns, bool), "PolicyGradientConfig",
                "normalize_returns", self.normalize_returns, "True or False")
        # one-transition rollouts normalise to 0: the policy would never learn
        require(not (self.normalize_returns and self.rollout_bars == 1), "PolicyGradientConfig",
                "rollout_bars", self.rollout_bars,
                ">= 2 or 0 with normalize_returns=True (one return normalises to 0)")


class PolicyNetwork(nn.Module):
    """Maps observations ``[B, obs_dim]`` to action logits ``[B, n_actions]``."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: tuple[int, ...]) -> None:
        """:param obs_dim: observation features.
        :param n_actions: number of discrete actions.
        :param hidden: hidden layer widths.
        """
        super().__init__()
        self.trunk, width = mlp(obs_dim, hidden)
        self.head = small_head(width, n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """:param obs: float tensor ``[B, obs_dim]``.
        :return: logits ``[B, n_actions]``.
        """
        logits: torch.Tensor = self.head(self.trunk(obs))
        return logits


def small_head(width: int, n_actions: int) -> nn.Linear:
    """A policy head with weights x 0.01 and zero bias, so the first policy is
    near uniform and every action gets tried (as in CleanRL's actor init)."""
    head = nn.Linear(width, n_actions)
    with torch.no_grad():
        head.weight.mul_(0.01)
        head.bias.zero_()
    return head


class OnPolicyAgent(CheckpointMixin, Generic[NetT]):
    """The shared on-policy skeleton: act, observe, learn on a rollout, checkpoint state.

    A subclass implements ``_logits`` (policy logits for ``act``) and ``_losses``
    (a dict of scalar tensors with ``"loss"``, the one that is minimised).
    """

    counter_stats = ("updates", "skipped_nonfinite")  # running totals in learn() stats
    # log pi(a|s) * A is the policy gradient only for actions drawn from pi: a
    # runner that lets this agent learn online samples its actions (engine/training.py).
    on_policy: ClassVar[bool] = True

    def __init__(self, config: Any, build_network: Callable[[], NetT]) -> None:
        """:param config: the agent's settings (``seed`` fixes everything random).
        :param build_network: makes the network (on the CPU, inside a seeded RNG).
        """
        check_memory(type(config).__name__, on_policy_needs(config))
        self.config = config
        self.obs_dim: int = config.obs_dim
        self.n_actions: int = config.n_actions
        self.device = resolve_device(config.device)
        rng_seed, torch_seed = spawn_seeds(config.seed, 2)
        self.rng = np.random.default_rng(rng_seed)  # action sampling
        with torch_seeded(torch_seed):  # the caller's global torch RNG is left untouched
            network = build_network()
        self.network: NetT = network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr)
        self.rollout = Rollout(config.obs_dim, config.rollout_bars or FIRST_ROLLOUT_ROWS)
        self.env_steps = 0
        self.updates = 0
        self.skipped_nonfinite = 0
        self.last_stats: dict[str, float] = {}

    def _logits(self, obs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _losses(self, batch: RolloutBatch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)  # no copy on the CPU

    def act(self, obs: np.ndarray, explore: bool) -> int:
        """Sample an action from the policy (``explore``), or take the most likely one.

        :param obs: observation of shape ``(obs_dim,)``.
        :param explore: sample (training) or act greedily (evaluation).
        """
        array = np.asarray(obs, dtype=np.float32)
        if array.shape != (self.obs_dim,):
            raise AgentError(f"observation has shape {array.shape}, expected ({self.obs_dim},)")
        obs_t = torch.from_numpy(array if array.flags.writeable else array.copy())
        with torch.inference_mode():
            logits = self._logits(obs_t.to(self.device).unsqueeze(0))[0]
        if not explore:
            return int(logits.argmax().item())
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits),
        # taken with the agent's own generator (the global RNGs never matter)
        noise = self.rng.gumbel(size=self.n_actions)
        return int(np.argmax(logits.double().cpu().numpy() + noise))

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        """Store a transition; learn at the end of the rollout or of the episode.

        :param obs: observation the action was chosen from.
        :param action: the action taken.
        :param reward: reward of that action.
        :param next_obs: the observation that followed (the last one at end of data).
        :param terminated: a true terminal state: the future is worth 0.
        :param truncated: the episode was cut (end of data).
        :return: the ``learn()`` stats when it learned this step, else None.
        """
        if not (is_int(action) and 0 <= action < self.n_actions):
            raise AgentError(f"action={action!r}: expected an integer in [0, {self.n_actions})")
        self.rollout.add(obs, action, reward, next_obs, bool(terminated), bool(truncated))
        self.env_steps += 1
        bars = self.config.rollout_bars
        if terminated or truncated or (bars > 0 and len(self.rollout) >= bars):
            return self.learn()
        return None

    def learn(self) -> dict[str, float]:
        """One gradient step on the stored rollout now, then clear it.

        :return: the loss terms, ``grad_norm`` (the gradient's norm before clipping;
            NaN when the step was skipped as non-finite), ``updates`` and
            ``skipped_nonfinite`` (cumulative).
        :raises AgentError: when no transition is stored.
        """
        if len(self.rollout) == 0:
            raise AgentError("learn() needs at least one stored transition; the rollout is empty")
        try:
            # a NaN / inf reward is handled below (the step is skipped): no NumPy warnings
            with np.errstate(invalid="ignore", over="ignore"):
                losses = self._losses(self.rollout.batch())
            grad_norm = self._gradient_step(losses["loss"])
        finally:
            self.rollout.clear()  # on-policy: used once, even when skipped
        self.last_stats = {name: float(value.item()) for name, value in losses.items()}
        self.last_stats.update(grad_norm=math.nan if grad_norm is None else grad_norm,
                               updates=float(self.updates),
                               skipped_nonfinite=float(self.skipped_nonfinite))
        return self.last_stats

    def _gradient_step(self, loss: torch.Tensor) -> float | None:
        """Minimise ``loss`` by one Adam step: the gradient norm before clipping,
        None when skipped as non-finite."""
        grad_norm = guarded_step(loss, self.optimizer, self.network.parameters(),
                                 self.config.max_grad_norm)
        if grad_norm is None:  # a NaN/inf never reached the weights
            self.skipped_nonfinite += 1
            return None
        self.updates += 1
        return grad_norm

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer, counters, RNG, pending rollout.

        :param include_replay: accepted for the ``CheckpointMixin`` signature; the
            pending rollout is small and always included.
        """
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "env_steps": self.env_steps,
            "updates": self.updates,
            "skipped_nonfinite": self.skipped_nonfinite,
            "rng": generator_state(self.rng),
            "rollout": arrays_to_tensors(self.rollout.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :param state: a dict from ``state_dict`` (or a checkpoint's ``state``).
        """
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.env_steps = int(state["env_steps"])
        self.updates = int(state["updates"])
        self.skipped_nonfinite = int(state["skipped_nonfinite"])
        self.rng.bit_generator.state = dict(state["rng"])
        self.rollout.load_state_dict(tensors_to_arrays(state["rollout"]))


class PolicyGradientAgent(OnPolicyAgent[PolicyNetwork]):
    """REINFORCE following the ``rlbt.agents.base.Agent`` contract.

    Learn stats: ``policy_loss``, ``entropy``, ``loss``, ``grad_norm``, ``updates``,
    ``skipped_nonfinite``.
    """

    kind = "policy_gradient"
    config_class = PolicyGradientConfig
    shape_fields = ("obs_dim", "n_actions", "hidden")
    config: PolicyGradientConfig

    def __init__(self, config: PolicyGradientConfig) -> None:
        """:param config: the agent's settings (``seed`` fixes everything random)."""
        super().__init__(config, lambda: PolicyNetwork(
            config.obs_dim, config.n_actions, config.hidden))

    def _logits(self, obs: torch.Tensor) -> torch.Tensor:
        return self.network(obs)

    def _losses(self, batch: RolloutBatch) -> dict[str, torch.Tensor]:
        cfg = self.config
        # G_t within the rollout; no bootstrap (no critic): a truncated return at a cut
        returns = discounted_returns(batch.rewards, cfg.gamma, batch.terminated | batch.truncated)
        if cfg.normalize_returns:
            returns = normalize(returns)
        dist = Categorical(logits=self.network(self._tensor(batch.obs)))
        log_probs = dist.log_prob(self._tensor(batch.actions))
        policy_loss = -(log_probs * self._tensor(returns.astype(np.float32))).mean()
        entropy = dist.entropy().mean()
        return {
            "policy_loss": policy_loss,
            "entropy": entropy,
            "loss": policy_loss - cfg.entropy_coef * entropy,
        }
