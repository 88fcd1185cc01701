"""Returns and advantages, checked by hand on one short rollout.

The rollout (gamma = 0.5), five transitions::

    t            0     1     2     3     4
    r_t          1     2     2     1     4
    terminated   .     T     .     .     .      s'_1 is terminal
    truncated    .     .     .     T     .      end of data after t = 3
    V(s_t)       1     2     3     4     5
    V(s'_t)     10    20    30    40    50
                                         ^ the rollout stops mid-episode after t = 4
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlbt.agents.returns import discounted_returns, gae_advantages, n_step_returns, normalize

GAMMA = 0.5
REWARDS = np.array([1.0, 2.0, 2.0, 1.0, 4.0])
TERMINATED = np.array([False, True, False, False, False])
TRUNCATED = np.array([False, False, False, True, False])
ENDS = TERMINATED | TRUNCATED
VALUES = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
NEXT_VALUES = np.array([10.0, 20.0, 30.0, 40.0, 50.0])


def test_discounted_returns_by_hand() -> None:
    # G_4 = 4 and G_3 = 1 (chains cut, no bootstrap); G_2 = 2 + 0.5 * 1;
    # G_1 = 2 (terminal); G_0 = 1 + 0.5 * 2
    returns = discounted_returns(REWARDS, GAMMA, ENDS)
    assert returns.tolist() == [2.0, 2.0, 2.5, 1.0, 4.0]


def test_discounted_returns_of_one_episode() -> None:
    assert discounted_returns([1.0, 1.0, 1.0], 0.5).tolist() == [1.75, 1.5, 1.0]
    assert discounted_returns([], 0.9).tolist() == []


def test_normalized_returns_by_hand() -> None:
    returns = np.array([2.0, 2.0, 2.5, 1.0, 4.0])  # mean 2.3, variance 4.8 / 5 = 0.96
    expected = (returns - 2.3) / math.sqrt(0.96)
    normalized = normalize(returns)
    assert normalized.tolist() == pytest.approx(expected.tolist())
    assert normalized.mean() == pytest.approx(0.0, abs=1e-12)
    assert normalized.std() == pytest.approx(1.0)


@pytest.mark.parametrize("values", [[3.0], [2.0, 2.0, 2.0], [1.0, 1.0 + 1e-12]])
def test_normalizing_a_constant_batch_only_centres_it(values: list[float]) -> None:
    normalized = normalize(values)
    assert np.all(np.isfinite(normalized))
    assert normalized == pytest.approx([0.0] * len(values), abs=1e-11)


def test_normalize_keeps_nan_visible() -> None:
    assert np.isnan(normalize([1.0, math.nan, 2.0])).all()
    assert normalize([]).tolist() == []


def test_n_step_returns_and_advantages_by_hand() -> None:
    # R_4 = 4 + 0.5 * V(s'_4) = 29   (the rollout ends mid-episode: bootstrap)
    # R_3 = 1 + 0.5 * V(s'_3) = 21   (truncation: bootstrap from the last next_obs)
    # R_2 = 2 + 0.5 * R_3 = 12.5
    # R_1 = 2                        (terminal: no bootstrap)
    # R_0 = 1 + 0.5 * R_1 = 2
    returns = n_step_returns(REWARDS, NEXT_VALUES, TERMINATED, GAMMA, ENDS)
    assert returns.tolist() == [2.0, 2.0, 12.5, 21.0, 29.0]
    assert (returns - VALUES).tolist() == [1.0, 0.0, 9.5, 17.0, 24.0]


def test_a_terminal_last_transition_does_not_bootstrap() -> None:
    returns = n_step_returns([1.0, 1.0], [7.0, 9.0], [False, True], GAMMA)
    assert returns.tolist() == [1.5, 1.0]
    returns = n_step_returns([1.0, 1.0], [7.0, 9.0], [False, False], GAMMA)
    assert returns.tolist() == [3.75, 5.5]  # R_1 = 1 + 0.5 * 9


def test_gae_by_hand() -> None:
    # deltas: 1 + 5 - 1 = 5, 2 - 2 = 0 (terminal), 2 + 15 - 3 = 14, 1 + 20 - 4 = 17,
    # 4 + 25 - 5 = 24; A_t = delta_t + 0.5 * 0.5 * A_{t+1} within a chain
    advantages = gae_advantages(REWARDS, VALUES, NEXT_VALUES, TERMINATED, GAMMA, 0.5, ENDS)
    assert advantages.tolist() == [5.0, 0.0, 14.0 + 0.25 * 17.0, 17.0, 24.0]


def consistent_rollout() -> tuple[np.ndarray, ...]:
    """A rollout whose V(s'_t) is V(s_{t+1}) inside each chain, as in a real stream."""
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=8), rng.normal(size=8)
    terminated = np.zeros(8, dtype=bool)
    terminated[2] = True
    ends = terminated.copy()
    ends[5] = True  # a truncation
    next_values = np.append(values[1:], rng.normal())
    next_values[5] = rng.normal()  # the value of the last next_obs of the truncated episode
    return rewards, values, next_values, terminated, ends


def test_gae_with_lambda_one_is_the_n_step_advantage() -> None:
    rewards, values, next_values, terminated, ends = consistent_rollout()
    gae = gae_advantages(rewards, values, next_values, terminated, 0.9, 1.0, ends)
    n_step = n_step_returns(rewards, next_values, terminated, 0.9, ends) - values
    assert gae == pytest.approx(n_step)


def test_gae_with_lambda_zero_is_the_td_error() -> None:
    rewards, values, next_values, terminated, ends = consistent_rollout()
    gae = gae_advantages(rewards, values, next_values, terminated, 0.9, 0.0, ends)
    td_errors = rewards + 0.9 * (1.0 - terminated) * next_values - values
    assert gae == pytest.approx(td_errors)


def test_ends_of_the_wrong_length_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"ends has shape \(2,\), expected \(3,\)"):
        discounted_returns([1.0, 2.0, 3.0], 0.9, [False, True])
