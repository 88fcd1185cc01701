"""Q-networks: a plain MLP, with an optional dueling head."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp(in_dim: int, hidden: Sequence[int]) -> tuple[nn.Sequential, int]:
    """A ReLU MLP trunk.

    :param in_dim: input features.
    :param hidden: widths of the hidden layers (may be empty).
    :return: the trunk and its output width.
    """
    layers: list[nn.Module] = []
    width = in_dim
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers), width


class QNetwork(nn.Module):
    """Maps a batch of observations ``[B, obs_dim]`` to Q-values ``[B, n_actions]``.

    With ``dueling=True`` the last hidden layer feeds a state value ``V(s)`` and
    advantages ``A(s, a)``; ``Q = V + A - mean_a A`` (Wang et al., 2016).
    """

    def __init__(
        self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64), dueling: bool = False
    ) -> None:
        """:param obs_dim: observation features.
        :param n_actions: number of discrete actions.
        :param hidden: hidden layer widths.
        :param dueling: use a dueling value / advantage head.
        """
        super().__init__()
        self.trunk, width = mlp(obs_dim, hidden)
        self.dueling = dueling
        self.head = nn.Linear(width, n_actions)  # advantages when dueling
        self.value = nn.Linear(width, 1) if dueling else None

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """:param obs: float tensor ``[B, obs_dim]``.
        :return: Q-values ``[B, n_actions]``.
        """
        features = self.trunk(obs)
        q_values: torch.Tensor = self.head(features)
        if self.value is not None:
            advantages = q_values
            q_values = self.value(features) + advantages - advantages.mean(dim=1, keepdim=True)
        return q_values
