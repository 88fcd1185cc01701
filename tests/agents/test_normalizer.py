"""Running normalizer: hand-checked statistics of the past only, batches, floor, clip, state."""

from __future__ import annotations

import numpy as np
import pytest

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.normalizer import RunningNormalizer


def test_mean_and_std_by_hand_after_a_few_adds() -> None:
    norm = RunningNormalizer()
    for value in (1.0, 2.0, 3.0, 4.0):
        norm.update(value)
    assert norm.count == 4
    assert norm.mean == pytest.approx(2.5)
    assert norm.var == pytest.approx(1.25)  # ((1.5**2 + 0.5**2) * 2) / 4, population
    assert norm.std == pytest.approx(np.sqrt(1.25))
    assert norm.normalize(4.0) == pytest.approx(1.5 / np.sqrt(1.25))
    assert norm.denormalize(norm.normalize(3.0)) == pytest.approx(3.0)


def test_statistics_are_those_of_the_values_added_so_far_only() -> None:
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 3))
    norm = RunningNormalizer((3,))
    seen = []
    for k, row in enumerate(data, start=1):
        norm.update(row)
        seen.append(norm.normalize(data[k - 1]))
        np.testing.assert_allclose(norm.mean, data[:k].mean(axis=0), rtol=1e-12)
        if k >= 2:
            np.testing.assert_allclose(norm.std, data[:k].std(axis=0), rtol=1e-10)
    # a value scaled at step k used the first k rows' statistics, whatever came later
    k = 10
    mean, std = data[:k].mean(axis=0), data[:k].std(axis=0)
    np.testing.assert_allclose(seen[k - 1], (data[k - 1] - mean) / std, rtol=1e-5)


@pytest.mark.parametrize("split", [1, 7, 33])
def test_batches_give_the_statistics_of_single_adds(split: int) -> None:
    data = np.random.default_rng(1).normal(-1.0, 0.5, size=(40, 2))
    one_by_one, batched = RunningNormalizer((2,)), RunningNormalizer((2,))
    for row in data:
        one_by_one.update(row)
    for start in range(0, 40, split):
        batched.update(data[start:start + split])
    assert batched.count == one_by_one.count == 40
    np.testing.assert_allclose(batched.mean, one_by_one.mean, rtol=1e-12)
    np.testing.assert_allclose(batched.var, one_by_one.var, rtol=1e-10)


def test_before_any_data_it_is_the_identity() -> None:
    norm = RunningNormalizer((2,))
    np.testing.assert_array_equal(norm.normalize([3.0, -4.0]), [3.0, -4.0])


def test_a_feature_that_has_not_varied_is_centred_not_scaled() -> None:
    norm = RunningNormalizer((2,))
    norm.update([[5.0, 1.0], [5.0, 3.0]])
    np.testing.assert_allclose(norm.std, [1.0, 1.0])  # feature 0 constant; feature 1 std 1
    np.testing.assert_allclose(norm.normalize([6.0, 4.0]), [1.0, 2.0])


def test_clips_normalized_values() -> None:
    norm = RunningNormalizer(clip=3.0)
    norm.update([-1.0, 1.0])
    assert norm.normalize(100.0) == 3.0
    assert norm.normalize(-100.0) == -3.0


@pytest.mark.parametrize("values", [[1.0, 2.0, 3.0], [[1.0, 2.0, 3.0]], [np.nan, 1.0], [np.inf, 0]])
def test_rejects_values_of_another_shape_or_not_finite(values: list[float]) -> None:
    norm = RunningNormalizer((2,))
    with pytest.raises(AgentError, match="normalizer values"):
        norm.update(values)
    assert norm.count == 0


def test_state_round_trip_is_exact() -> None:
    norm = RunningNormalizer((3,))
    norm.update(np.random.default_rng(2).normal(size=(20, 3)))
    copy = RunningNormalizer((3,))
    copy.load_state_dict(norm.state_dict())
    assert copy.count == norm.count
    np.testing.assert_array_equal(copy.mean, norm.mean)
    np.testing.assert_array_equal(copy.var, norm.var)


def test_loading_a_state_of_another_shape_fails_clearly() -> None:
    norm = RunningNormalizer((2,))
    with pytest.raises(CheckpointError, match="expected shape"):
        norm.load_state_dict(RunningNormalizer((3,)).state_dict())
    with pytest.raises(CheckpointError, match="incomplete"):
        norm.load_state_dict({"count": 1})
