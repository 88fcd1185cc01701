"""Sequence memory: ring order and wrap-around, sampling filled slots only, state, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.lstm.sequence_memory import SequenceMemory

WINDOW, FEATURES = 4, 2


def example(i: int) -> tuple[np.ndarray, float]:
    """Example ``i``: a window filled with ``i`` and label ``100 + i`` (never 0)."""
    return np.full((WINDOW, FEATURES), float(i), dtype=np.float32), 100.0 + i


def sampled_labels(memory: SequenceMemory, draws: int) -> set[float]:
    """The labels in about ``draws`` samples, drawn in batches of ``len(memory)``."""
    return {y for _ in range(draws // len(memory)) for y in memory.sample(len(memory))[1].tolist()}


def filled(capacity: int, count: int, seed: int = 0) -> SequenceMemory:
    memory = SequenceMemory(capacity, WINDOW, FEATURES, seed=seed)
    for i in range(count):
        memory.add(*example(i))
    return memory


def test_wraps_around_keeping_the_newest_in_slot_order() -> None:
    memory = filled(5, 8)  # examples 0, 1, 2 were overwritten
    assert len(memory) == 5 and memory.written == 8 and memory.cursor == 3
    windows, labels = memory.gather(np.arange(5))
    assert labels.tolist() == [105, 106, 107, 103, 104]
    assert windows[:, 0, 0].tolist() == [5, 6, 7, 3, 4]
    assert sampled_labels(memory, 1_000) == {103, 104, 105, 106, 107}


def test_samples_only_filled_slots_before_the_ring_is_full() -> None:
    memory = filled(50, 3)
    assert sampled_labels(memory, 600) == {100, 101, 102}  # an empty slot would give 0
    windows, labels = memory.sample(3)
    np.testing.assert_array_equal(windows[:, -1, -1], labels - 100)


def test_samples_are_contiguous_float32_arrays() -> None:
    windows, labels = filled(10, 10).sample(4)
    assert windows.shape == (4, WINDOW, FEATURES) and labels.shape == (4,)
    assert windows.dtype == labels.dtype == np.float32
    assert windows.flags.c_contiguous and labels.flags.c_contiguous


@pytest.mark.parametrize("count", [3, 7, 12, 25])
def test_add_batch_stores_what_single_adds_store(count: int) -> None:
    one_by_one = filled(7, 2 + count)
    batched = filled(7, 2)
    examples = [example(i) for i in range(2, 2 + count)]
    batched.add_batch(np.stack([w for w, _ in examples]), [y for _, y in examples])
    assert (batched.written, batched.cursor) == (one_by_one.written, one_by_one.cursor)
    slots = np.arange(len(one_by_one))
    for got, want in zip(batched.gather(slots), one_by_one.gather(slots), strict=True):
        np.testing.assert_array_equal(got, want)


def test_same_seed_same_samples_and_state_resumes_them() -> None:
    a, b = filled(20, 30, seed=4), filled(20, 30, seed=4)
    np.testing.assert_array_equal(a.sample(8)[1], b.sample(8)[1])
    assert not np.array_equal(filled(20, 30, seed=5).sample(20)[1], filled(20, 30).sample(20)[1])
    restored = SequenceMemory(20, WINDOW, FEATURES, seed=99)
    restored.load_state_dict(a.state_dict())
    for got, want in zip(restored.sample(16), a.sample(16), strict=True):
        np.testing.assert_array_equal(got, want)
    assert (restored.written, restored.cursor) == (a.written, a.cursor)


@pytest.mark.parametrize("batch_size", [0, 4, 2.0])
def test_sampling_more_than_stored_or_a_non_integer_is_an_error(batch_size: object) -> None:
    with pytest.raises(AgentError, match="batch_size"):
        filled(10, 3).sample(batch_size)  # type: ignore[arg-type]


def test_rejects_examples_of_another_shape() -> None:
    memory = SequenceMemory(5, WINDOW, FEATURES, seed=0)
    with pytest.raises(AgentError, match=r"expected windows \(k, \*\(4, 2\)\)"):
        memory.add(np.zeros((WINDOW + 1, FEATURES)), 0.0)
    with pytest.raises(AgentError, match="labels"):
        memory.add_batch(np.zeros((2, WINDOW, FEATURES)), [0.0])
    assert len(memory) == 0


@pytest.mark.parametrize(("field", "value"), [("capacity", 0), ("window_size", 1.5),
                                              ("n_features", True)])
def test_rejects_bad_sizes(field: str, value: object) -> None:
    sizes: dict[str, object] = {"capacity": 5, "window_size": 4, "n_features": 2, field: value}
    with pytest.raises(AgentError, match=field):
        SequenceMemory(**sizes, seed=0)  # type: ignore[arg-type]


def test_loading_a_state_of_another_shape_fails_clearly() -> None:
    state = filled(5, 5).state_dict()
    with pytest.raises(CheckpointError, match="this memory expects"):
        SequenceMemory(5, WINDOW + 1, FEATURES, seed=0).load_state_dict(state)
    with pytest.raises(CheckpointError, match="incomplete"):
        SequenceMemory(5, WINDOW, FEATURES, seed=0).load_state_dict({"written": 1})
