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
    obs = np.empty(len(closes) + 1, dtype=np.float32)
    log_closes = np.log(closes)
    obs[:-2] = np.diff(log_closes) * scale
    obs[-2] = math.log(high / low) * scale
    obs[-1] = exposure
    return obs


def step_reward(previous_value: float, value: float, scale: float = 100.0) -> float:
    """Reward of the action taken one bar ago: the log change of portfolio value
    (costs included, since the broker charged them), times ``scale``."""
    return math.log(value / previous_value) * scale
