"""Observation and reward functions, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlbt.strategies.features import (
    assemble,
    bar_features,
    observation,
    observation_size,
    step_reward,
)


def test_observation_by_hand() -> None:
    closes = np.array([100.0, 110.0, 99.0])
    obs = observation(closes, high=101.0, low=98.0, exposure=1.0, scale=100.0)
    assert obs.dtype == np.float32 and obs.shape == (observation_size(2),)
    expected = [100 * math.log(1.1), 100 * math.log(99 / 110), 100 * math.log(101 / 98), 1.0]
    np.testing.assert_allclose(obs, expected, rtol=1e-6)


def test_observation_uses_only_the_last_window_of_bars() -> None:
    """Bars before the window and the caller's array do not leak in: changing an
    older close leaves the observation alone, changing one inside changes it."""
    closes = np.array([5.0, 1.0, 2.0, 4.0, 8.0])
    window = 3
    base = observation(closes[-(window + 1):], 8.5, 7.5, 0.0)
    older = closes.copy()
    older[0] = 500.0
    np.testing.assert_array_equal(observation(older[-(window + 1):], 8.5, 7.5, 0.0), base)
    inside = closes.copy()
    inside[2] = 3.0
    assert not np.array_equal(observation(inside[-(window + 1):], 8.5, 7.5, 0.0), base)
    assert not np.shares_memory(base, closes)
    base[0] = 99.0  # writing into the observation never touches the prices
    assert closes[1] == 1.0


def test_precomputed_bar_features_match_the_per_bar_observation() -> None:
    """``bar_features`` over a whole series gives the numbers ``observation``
    builds bar by bar, and row i does not change when later bars do."""
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 30)))
    high, low = close * 1.01, close * 0.99
    returns, ranges = bar_features(close, high, low)
    window, t = 4, 20
    obs = observation(close[t - window:t + 1], high[t], low[t], 1.0)
    np.testing.assert_allclose(assemble(returns[t - window + 1:t + 1], ranges[t], 1.0), obs,
                               rtol=1e-6)
    future = close.copy()
    future[t + 1:] *= 2.0
    np.testing.assert_array_equal(bar_features(future, high, low)[0][:t + 1], returns[:t + 1])


def test_reward_is_log_value_change() -> None:
    assert step_reward(100.0, 110.0, scale=1.0) == pytest.approx(math.log(1.1))
    assert step_reward(100.0, 90.0) == pytest.approx(100 * math.log(0.9))
