"""Returns and advantages of a rollout: pure NumPy functions, small enough to check by hand.

Conventions, shared by every function here. A rollout holds ``T`` transitions
in time order; index ``t`` is the transition ``(s_t, a_t, r_t, s'_t)``.

- ``terminated[t]``: ``s'_t`` is a true terminal state, so the future after it is
  worth 0 (no bootstrap).
- ``ends[t]``: the chain of returns is cut after ``t``: the episode ended there
  (terminated or truncated) or the rollout stops there. The last transition
  always ends the chain, whatever ``ends[-1]`` says. Where a chain is cut and
  ``terminated[t]`` is false (a truncation, end of data, or the end of the
  rollout mid-episode) the return bootstraps from ``next_values[t] = V(s'_t)``.

All inputs are 1-D arrays of length ``T``; outputs are float64 arrays of length
``T`` (the agents cast them to float32 tensors).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

_TINY_STD = 1e-8  # below this a batch is treated as constant


def _chain_cuts(ends: ArrayLike | None, size: int) -> np.ndarray:
    """Boolean cuts with the last transition always cutting the chain."""
    cuts = np.zeros(size, dtype=bool) if ends is None else np.array(ends, dtype=bool)
    if cuts.shape != (size,):
        raise ValueError(f"ends has shape {cuts.shape}, expected ({size},)")
    if size:
        cuts[-1] = True
    return cuts


def discounted_returns(
    rewards: ArrayLike, gamma: float, ends: ArrayLike | None = None
) -> np.ndarray:
    """Monte-Carlo returns ``G_t = r_t + gamma * G_{t+1}``, with ``G = 0`` after a cut.

    No bootstrap: where the rollout stops before the episode does, ``G_t`` is the
    return truncated there (what REINFORCE, having no critic, can know).

    :param rewards: ``r_t``, shape ``(T,)``.
    :param gamma: discount factor.
    :param ends: where the chain is cut (episode ends); None for one episode.
    :return: ``G_t``, shape ``(T,)``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    cuts = _chain_cuts(ends, rewards.shape[0])
    returns = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + (0.0 if cuts[t] else gamma * running)
        returns[t] = running
    return returns


def normalize(values: ArrayLike) -> np.ndarray:
    """Shift to zero mean and scale to unit (population) standard deviation.

    Guard: when the standard deviation is below 1e-8 (one value, or all equal)
    the values are only centred (so all become 0), never divided by ~0.

    :param values: a 1-D batch.
    :return: the normalised batch, float64.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values.copy()
    centred = values - values.mean()
    std = float(centred.std())
    return centred / std if std >= _TINY_STD else centred


def n_step_returns(
    rewards: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    gamma: float,
    ends: ArrayLike | None = None,
) -> np.ndarray:
    """Bootstrapped returns computed backwards through the rollout (the A2C targets).

    ``R_t = r_t + gamma * (1 - terminated_t) * X`` where ``X = V(s'_t)`` if the
    chain is cut after ``t``, else ``R_{t+1}``. So each ``R_t`` sums the rewards
    up to the next cut, then bootstraps from the value there (0 if terminal).
    The advantage is ``R_t - V(s_t)``.

    :param rewards: ``r_t``.
    :param next_values: ``V(s'_t)``; only read where the chain is cut.
    :param terminated: 1 / True where ``s'_t`` is terminal.
    :param gamma: discount factor.
    :param ends: where the chain is cut besides the last transition.
    :return: ``R_t``, shape ``(T,)``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    live = 1.0 - np.asarray(terminated, dtype=np.float64)
    cuts = _chain_cuts(ends, rewards.shape[0])
    returns = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.shape[0] - 1, -1, -1):
        future = next_values[t] if cuts[t] else running
        running = rewards[t] + gamma * live[t] * future
        returns[t] = running
    return returns


def gae_advantages(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    gamma: float,
    lam: float,
    ends: ArrayLike | None = None,
) -> np.ndarray:
    """Generalized advantage estimation, GAE(lambda) (Schulman et al., 2016).

    ``delta_t = r_t + gamma * (1 - terminated_t) * V(s'_t) - V(s_t)`` and
    ``A_t = delta_t + gamma * lam * A_{t+1}``, with ``A_{t+1} = 0`` after a cut.
    ``lam = 0`` gives one-step TD errors; ``lam = 1`` gives ``n_step_returns - values``.
    The value targets are ``A_t + V(s_t)``.

    :param rewards: ``r_t``.
    :param values: ``V(s_t)``.
    :param next_values: ``V(s'_t)`` for every ``t``.
    :param terminated: 1 / True where ``s'_t`` is terminal.
    :param gamma: discount factor.
    :param lam: the GAE lambda in [0, 1].
    :param ends: where the chain is cut besides the last transition.
    :return: ``A_t``, shape ``(T,)``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    next_values = np.asarray(next_values, dtype=np.float64)
    live = 1.0 - np.asarray(terminated, dtype=np.float64)
    cuts = _chain_cuts(ends, rewards.shape[0])
    deltas = rewards + gamma * live * next_values - values
    advantages = np.empty_like(rewards)
    running = 0.0
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = deltas[t] + (0.0 if cuts[t] else gamma * lam * running)
        advantages[t] = running
    return advantages
