"""Observation features and rewards for agent strategies: pure functions of
past bars, testable without backtrader.

The observation at bar t is built from bars <= t and the current exposure:
``window`` log returns of the close, the log range of bar t, and the exposure.
Returns are multiplied by ``scale`` (100: percent-sized numbers suit small
networks better than 0.01-sized ones).
"""

from __future__ import annotations

import math

import numpy as np


def observation_size(window: int) -> int:
    """Length of the observation vector for a ``window`` of returns."""
    return window + 2


def assemble(returns: np.ndarray, bar_range: np.ndarray | float,
             exposure: float) -> np.ndarray:
    """The one place the observation layout is written down:
    ``[returns (window, oldest first), range of bar t, exposure]``.

    Works on one bar (``returns`` of shape ``[window]``) or many at once
    (``[bars, window]`` with ``bar_range`` of shape ``[bars]``).
    """
    window = returns.shape[-1]
    obs = np.empty((*returns.shape[:-1], observation_size(window)), dtype=np.float32)
    obs[..., :window] = returns
    obs[..., window] = bar_range
    obs[..., window + 1] = exposure
    return obs


def observation(
    closes: np.ndarray, high: float, low: float, exposure: float, scale: float = 100.0
) -> np.ndarray:
    """Observation vector (float32) at the bar whose close is ``closes[-1]``.

    :param closes: the last ``window + 1`` closes, oldest first (bars <= t).
    :param high: high of bar t.
    :param low: low of bar t.
    :param exposure: current target exposure (0 flat, 1 long, -1 short).
    :param scale: multiplier for returns and range.
    """
    returns = np.diff(np.log(closes)) * scale
    return assemble(returns, math.log(high / low) * scale, exposure)


def bar_features(
    close: np.ndarray, high: np.ndarray, low: np.ndarray, scale: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar log return of the close and log range, for a whole series at once.

    Row i uses bars i-1 and i only, so precomputing it before a run reads no
    bar after i at bar i (row 0 has no return: NaN). Same numbers as
    ``observation`` builds bar by bar.
    """
    log_close = np.log(np.asarray(close, dtype=np.float64))
    returns = np.empty(len(log_close))
    returns[0] = np.nan
    returns[1:] = np.diff(log_close) * scale
    ranges = np.log(np.asarray(high, dtype=np.float64) / np.asarray(low, dtype=np.float64))
    return returns, ranges * scale


def step_reward(previous_value: float, value: float, scale: float = 100.0) -> float:
    """Reward of the action taken one bar ago: the log change of portfolio value
    (costs included, since the broker charged them), times ``scale``."""
    return math.log(value / previous_value) * scale
