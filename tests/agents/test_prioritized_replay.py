"""Prioritized replay: frequencies, importance weights, max priority for new rows, state, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_streams import OBS_DIM, add_all, add_in_batches, assert_holds_exactly, stream

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.replay import Batch, PrioritizedReplayBuffer


def make(capacity: int, seed: int = 0, **kwargs: object) -> PrioritizedReplayBuffer:
    return PrioritizedReplayBuffer(capacity, (OBS_DIM,), seed=seed, gamma=0.9, **kwargs)  # type: ignore[arg-type]


def counts(buffer: PrioritizedReplayBuffer, batches: int, batch_size: int) -> np.ndarray:
    drawn = np.concatenate([buffer.sample(batch_size).indices for _ in range(batches)])
    return np.bincount(drawn, minlength=len(buffer))


def chi_square(observed: np.ndarray, probs: np.ndarray) -> float:
    expected = observed.sum() * probs
    return float(((observed - expected) ** 2 / expected).sum())


def test_frequencies_are_proportional_to_priority() -> None:
    buffer = make(4, seed=2, alpha=1.0, eps=1e-9)
    add_all(buffer, stream([4]))
    priorities = np.array([1.0, 2.0, 3.0, 4.0])
    buffer.update_priorities(np.arange(4), priorities)
    observed = counts(buffer, 4_000, 4)
    assert chi_square(observed, priorities / priorities.sum()) < 16.27  # 3 dof, p = 0.001
    # and the test can fail: uniform expectations are far off
    assert chi_square(observed, np.full(4, 0.25)) > 1_000


def test_alpha_shapes_the_distribution() -> None:
    buffer = make(3, seed=4, alpha=0.5, eps=1e-9)
    add_all(buffer, stream([3]))
    buffer.update_priorities(np.arange(3), np.array([1.0, 4.0, 16.0]))
    observed = counts(buffer, 5_000, 3)
    assert chi_square(observed, np.array([1.0, 2.0, 4.0]) / 7.0) < 13.82  # 2 dof, p = 0.001


def test_importance_weights_by_hand() -> None:
    beta = 0.5
    buffer = make(3, seed=1, alpha=1.0, beta=beta, eps=1e-12)
    add_all(buffer, stream([3]))
    buffer.update_priorities(np.arange(3), np.array([1.0, 2.0, 5.0]))
    # P = [1, 2, 5] / 8; (N * P) ** -beta with N = 3
    raw = (3 * np.array([1.0, 2.0, 5.0]) / 8) ** -beta
    seen = set()
    for _ in range(50):
        batch = buffer.sample(3)
        expected = raw[batch.indices] / raw[batch.indices].max()
        np.testing.assert_allclose(batch.weights, expected, rtol=1e-6)
        seen.update(batch.indices.tolist())
    assert seen == {0, 1, 2}
    buffer.beta = 0.0
    np.testing.assert_array_equal(buffer.sample(3).weights, 1.0)


def test_new_transitions_get_the_largest_priority_so_far() -> None:
    buffer = make(8, seed=3, alpha=1.0, beta=1.0, eps=1e-12)
    add_all(buffer, stream([2], ["continue"]))
    buffer.update_priorities(np.array([0, 1]), np.array([7.0, 0.5]))
    add_all(buffer, stream([1]))  # slot 2 enters with priority 7
    buffer.update_priorities(np.array([0]), np.array([1.0]))  # the max stays 7
    add_all(buffer, stream([1]))  # slot 3: priority 7 as well
    # with beta = 1 the weight is proportional to 1 / priority
    batch = buffer.sample(4)
    inverse = 1.0 / np.array([1.0, 0.5, 7.0, 7.0])[batch.indices]
    np.testing.assert_allclose(batch.weights, inverse / inverse.max(), rtol=1e-6)
    observed = counts(buffer, 4_000, 4)
    assert chi_square(observed, np.array([1.0, 0.5, 7.0, 7.0]) / 15.5) < 16.27


def test_first_transitions_get_priority_one_and_sample_uniformly() -> None:
    buffer = make(6, seed=5)
    add_all(buffer, stream([6]))
    batch = buffer.sample(6)
    np.testing.assert_allclose(batch.weights, 1.0)
    assert chi_square(counts(buffer, 3_000, 6), np.full(6, 1 / 6)) < 20.52  # 5 dof


def test_samples_only_filled_slots() -> None:
    buffer = make(1000, seed=6, alpha=1.0)
    add_all(buffer, stream([5]))
    buffer.update_priorities(np.arange(5), np.array([0.0, 0.0, 0.0, 0.0, 100.0]))
    assert counts(buffer, 200, 5).size == 5  # no index >= 5 was drawn
    assert np.argmax(counts(buffer, 200, 5)) == 4


def test_update_priorities_repeated_index_last_wins() -> None:
    buffer = make(2, seed=7, alpha=1.0, beta=1.0, eps=1e-12)
    add_all(buffer, stream([2]))
    buffer.update_priorities(np.array([0, 1, 0]), np.array([9.0, 1.0, 3.0]))
    batch = buffer.sample(2)
    inverse = 1.0 / np.array([3.0, 1.0])[batch.indices]
    np.testing.assert_allclose(batch.weights, inverse / inverse.max(), rtol=1e-6)


def assert_batches_equal(a: Batch, b: Batch) -> None:
    for name, x, y in zip(Batch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=20),
       capacity=st.integers(1, 30), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_add_batch_equals_repeated_add(lengths: list[int], capacity: int, sizes: list[int]) -> None:
    steps = stream(lengths, ["truncated", "continue", "terminal"] * 10)
    one_by_one, batched = make(capacity, seed=3), make(capacity, seed=3)
    add_all(one_by_one, steps[: len(steps) // 2])
    add_in_batches(batched, steps[: len(steps) // 2], sizes)
    if len(batched):  # raise some priorities in the middle of the stream
        first = one_by_one.sample(len(batched))
        assert_batches_equal(first, batched.sample(len(batched)))
        for buffer in (one_by_one, batched):
            buffer.update_priorities(first.indices, np.arange(first.indices.size) + 0.5)
    add_all(one_by_one, steps[len(steps) // 2:])
    add_in_batches(batched, steps[len(steps) // 2:], sizes)
    assert_holds_exactly(batched, steps, 0.9)
    for _ in range(3):
        assert_batches_equal(one_by_one.sample(len(batched)), batched.sample(len(batched)))


def test_state_dict_round_trip_resumes_identically() -> None:
    original = make(20, seed=8, alpha=0.7, beta=0.3, n_step=2)
    add_all(original, stream([4, 9, 3]))
    batch = original.sample(5)
    original.update_priorities(batch.indices, np.linspace(0.1, 3.0, 5))
    add_all(original, stream([3], ["continue"]))  # deferred new leaves, pending window
    original.beta = 0.65
    restored = make(20, seed=0, alpha=0.7, n_step=2)
    restored.load_state_dict(original.state_dict())
    assert restored.beta == 0.65
    for _ in range(3):
        a, b = original.sample(7), restored.sample(7)
        assert_batches_equal(a, b)
        for buffer in (original, restored):
            buffer.update_priorities(a.indices, a.rewards.astype(np.float64) ** 2)
    add_all(original, stream([2]))
    add_all(restored, stream([2]))
    assert_batches_equal(original.sample(7), restored.sample(7))


def test_load_state_dict_rejects_a_uniform_buffer_state() -> None:
    from rlbt.agents.replay.buffer import ReplayBuffer

    uniform = ReplayBuffer(4, (OBS_DIM,), seed=0).state_dict()
    with pytest.raises(CheckpointError):
        make(4).load_state_dict(uniform)
    with pytest.raises(CheckpointError, match="capacity"):
        make(4).load_state_dict(make(5).state_dict())
    with pytest.raises(CheckpointError, match="alpha"):
        make(4, alpha=0.5).load_state_dict(make(4).state_dict())


@pytest.mark.parametrize(
    ("indices", "priorities", "match"),
    [([0, 1], [1.0, float("nan")], "finite"), ([0, 1], [1.0, float("inf")], "finite"),
     ([0, 1], [1.0, -0.5], ">= 0"), ([0, 1], [1.0], "priorities of shape"),
     ([0, 3], [1.0, 1.0], r"\[0, 3\)"), ([-1], [1.0], r"\[0, 3\)"),
     ([0.0, 1.0], [1.0, 1.0], "integer")],
)
def test_update_priorities_rejects_bad_input(
    indices: list[float], priorities: list[float], match: str
) -> None:
    buffer = make(8)
    add_all(buffer, stream([3]))
    with pytest.raises(AgentError, match=match):
        buffer.update_priorities(np.array(indices), np.array(priorities))


@pytest.mark.parametrize(
    "kwargs", [{"alpha": -0.1}, {"alpha": float("inf")}, {"eps": 0.0}, {"eps": -1e-6},
               {"beta": -0.5}, {"beta": float("nan")}],
)
def test_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(AgentError):
        make(4, **kwargs)


def test_beta_setter_validates_and_sampling_errors() -> None:
    buffer = make(4)
    with pytest.raises(AgentError, match="beta"):
        buffer.beta = -1.0
    with pytest.raises(AgentError, match="holding 0"):
        buffer.sample(1)
    add_all(buffer, stream([2]))
    with pytest.raises(AgentError, match="batch_size"):
        buffer.sample(3)
