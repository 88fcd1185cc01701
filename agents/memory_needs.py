"""What each built-in agent allocates, estimated from its settings before it is
built, for the allocation guard (``rlbt.agents.memory.check_memory``).

Each estimate counts the arrays and parameters that grow with a setting, with
their gradient and optimiser copies; each product is blamed on the setting
farthest above its default (``blamed``), so the error names the setting that
drives it (``num_layers=100000``), never one left at its default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rlbt.agents.memory import FLOAT32, Need, blamed, lstm_parameters, mlp_parameters

if TYPE_CHECKING:  # the agents import this module: no import cycle at run time
    from rlbt.agents.a2c import A2CConfig
    from rlbt.agents.dqn import DQNConfig
    from rlbt.agents.lstm.forecaster import LSTMConfig
    from rlbt.agents.policy_gradient import PolicyGradientConfig
    from rlbt.agents.qtable import QTableConfig


def dqn_needs(cfg: DQNConfig) -> list[Need]:
    """The big allocations of a ``DQNAgent`` with these settings (``rlbt.agents.memory``)."""
    params = mlp_parameters(cfg.obs_dim, cfg.hidden, cfg.n_actions)
    params += (cfg.hidden[-1] if cfg.hidden else cfg.obs_dim) + 1 if cfg.dueling else 0
    # online + target + gradient + two Adam moments, and the fast path's flat copies of four
    network = 9 * FLOAT32 * params
    slots = cfg.buffer_size + cfg.n_step + max(16, cfg.buffer_size // 64)
    replay = slots * cfg.obs_dim * FLOAT32 + cfg.buffer_size * 28  # rows; int64 x2, float32 x3
    if cfg.prioritized:
        replay += 2 * 2 ** max(0, (cfg.buffer_size - 1).bit_length()) * 8  # the sum tree
    widest = max((*cfg.hidden, cfg.obs_dim, cfg.n_actions))
    batch = 6 * FLOAT32 * cfg.batch_size * (2 * cfg.obs_dim + 2 * len(cfg.hidden) * widest)
    return [
        blamed(f"the Q-network ({params:,} weights for obs_dim={cfg.obs_dim}, with its "
               "target, gradients and optimiser state)", network, ("hidden", cfg.hidden, 64),
               ("obs_dim", cfg.obs_dim, 64)),
        blamed(f"the replay memory ({cfg.buffer_size:,} transitions of obs_dim={cfg.obs_dim})",
               replay, ("buffer_size", cfg.buffer_size, 100_000), ("obs_dim", cfg.obs_dim, 64)),
        blamed("one training batch's activations", batch, ("batch_size", cfg.batch_size, 64),
               ("hidden", cfg.hidden, 64), ("obs_dim", cfg.obs_dim, 64)),
    ]


def on_policy_needs(cfg: PolicyGradientConfig | A2CConfig) -> list[Need]:
    """The big allocations of a policy-gradient or A2C agent (``rlbt.agents.memory``)."""
    width = cfg.hidden[-1] if cfg.hidden else cfg.obs_dim
    params = mlp_parameters(cfg.obs_dim, cfg.hidden, cfg.n_actions) + width + 1  # + value head
    rows = max(cfg.rollout_bars, 1)
    return [
        blamed(f"the network ({params:,} weights for obs_dim={cfg.obs_dim})",
               5 * FLOAT32 * params,  # weights, gradient, Adam moments
               ("hidden", cfg.hidden, 64), ("obs_dim", cfg.obs_dim, 64)),
        Need("rollout_bars", cfg.rollout_bars, rows * (2 * cfg.obs_dim * FLOAT32 + 26),
             "the rollout storage"),
    ]


def lstm_needs(cfg: LSTMConfig) -> list[Need]:
    """The big allocations of an ``LSTMForecaster`` (``rlbt.agents.memory``)."""
    params = lstm_parameters(cfg.n_features, cfg.hidden_size, cfg.num_layers) + cfg.hidden_size + 1
    window = cfg.window_size * cfg.n_features
    # per sequence step and layer the backward pass keeps the gates, cell and hidden states
    activations = cfg.window_size * cfg.num_layers * 8 * cfg.hidden_size
    return [
        blamed(f"the LSTM ({params:,} weights in {cfg.num_layers:,} layers, with gradients "
               "and optimiser state)", 5 * FLOAT32 * params,
               ("hidden_size", cfg.hidden_size, 32), ("num_layers", cfg.num_layers, 1)),
        blamed(f"the sequence memory ({cfg.memory_size:,} windows of window_size="
               f"{cfg.window_size} x {cfg.n_features} features)",
               cfg.memory_size * (window + 1) * FLOAT32, ("memory_size", cfg.memory_size, 10_000),
               ("window_size", cfg.window_size, 32), ("n_features", cfg.n_features, 32)),
        blamed(f"one training batch (window_size={cfg.window_size})",
               cfg.batch_size * (window + activations) * FLOAT32,
               ("batch_size", cfg.batch_size, 64), ("window_size", cfg.window_size, 32),
               ("hidden_size", cfg.hidden_size, 32), ("num_layers", cfg.num_layers, 1)),
    ]


def qtable_needs(cfg: QTableConfig) -> list[Need]:
    """The Q-table: (bins + 1) ** obs_dim states x actions, float64."""
    n_states = (len(cfg.bins) + 1) ** cfg.obs_dim  # a Python int: never overflows
    field = table_culprits(cfg.obs_dim, cfg.bins)[0]
    return [Need(field, getattr(cfg, field), n_states * cfg.n_actions * 8,
                 f"the Q-table ({len(cfg.bins) + 1} bins ** {cfg.obs_dim} features states)")]


def table_culprits(obs_dim: int, bins: tuple[float, ...]) -> tuple[str, str]:
    """The Q-table setting that drives its size, then the other one: ``bins``
    when its bins per feature are further above the default 3 than the
    features are above the qtable strategy's default 5."""
    return ("bins", "obs_dim") if (len(bins) + 1) / 3 > obs_dim / 5 else ("obs_dim", "bins")
