"""Observation and reward functions, checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from strategies.features import observation, observation_size, step_reward


def test_observation_by_hand() -> None:
    closes = np.array([100.0, 110.0, 99.0])
    obs = observation(closes, high=101.0, low=98.0, exposure=1.0, scale=100.0)
    assert obs.dtype == np.float32 and obs.shape == (observation_size(2),)
    expected = [100 * math.log(1.1), 100 * math.log(99 / 110), 100 * math.log(101 / 98), 1.0]
    np.testing.assert_allclose(obs, expected, rtol=1e-6)


def test_observation_uses_only_the_bars_it_is_given() -> None:
    closes = np.array([1.0, 2.0, 4.0, 8.0])
    a = observation(closes, 8.5, 7.5, 0.0)
    b = observation(closes.copy(), 8.5, 7.5, 0.0)
    np.testing.assert_array_equal(a, b)
    assert not np.shares_memory(a, closes)


def test_reward_is_log_value_change() -> None:
    assert step_reward(100.0, 110.0, scale=1.0) == pytest.approx(math.log(1.1))
    assert step_reward(100.0, 90.0) == pytest.approx(100 * math.log(0.9))
