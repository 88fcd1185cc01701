"""Sum tree: totals, leaves and prefix search against a brute-force cumulative sum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.replay.sum_tree import SumTree


@settings(max_examples=150, deadline=None)
@given(data=st.data(), capacity=st.integers(1, 300), scan_depth=st.sampled_from([0, 1, 3, 10]))
def test_matches_brute_force_on_integer_leaves(
    data: st.DataObject, capacity: int, scan_depth: int
) -> None:
    """Integer leaves make every sum exact, so the answers must match exactly."""
    tree = SumTree(capacity, scan_depth=scan_depth)
    leaves = np.zeros(capacity)
    for _ in range(data.draw(st.integers(1, 4))):
        indices = data.draw(st.lists(st.integers(0, capacity - 1), min_size=1, max_size=25))
        values = data.draw(st.lists(st.integers(0, 20), min_size=len(indices),
                                    max_size=len(indices)))
        tree.update(np.array(indices), np.array(values, dtype=np.float64))
        for i, v in zip(indices, values, strict=True):
            leaves[i] = v  # one by one: a repeated index keeps its last value
        assert tree.total == leaves.sum()
        np.testing.assert_array_equal(tree.get(np.arange(capacity)), leaves)
        total = int(leaves.sum())
        if total:
            # every boundary, every midpoint, and just below the total
            targets = np.concatenate([np.arange(total), np.arange(total) + 0.5, [total - 1e-9]])
            found, values_found = tree.find_prefix(targets)
            expected = np.searchsorted(np.cumsum(leaves), targets, side="right")
            np.testing.assert_array_equal(found, expected)
            np.testing.assert_array_equal(values_found, leaves[expected])
            assert (values_found > 0).all()


@settings(max_examples=60, deadline=None)
@given(
    leaves=st.lists(st.floats(0.0, 1e3, allow_subnormal=False), min_size=1, max_size=2_000),
    fractions=st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=1, max_size=50),
)
def test_prefix_search_on_float_leaves(leaves: list[float], fractions: list[float]) -> None:
    values = np.array(leaves)
    tree = SumTree(values.size, scan_depth=4)
    tree.update(np.arange(values.size), values)
    total = values.sum()
    np.testing.assert_allclose(tree.total, total, rtol=1e-12)
    if total == 0:
        return
    targets = np.array(fractions) * tree.total
    found, _ = tree.find_prefix(targets)
    ends = np.cumsum(values)
    starts = ends - values
    tolerance = 1e-9 * total
    assert (starts[found] <= targets + tolerance).all()
    assert (targets < ends[found] + tolerance).all()


@pytest.mark.parametrize("size", [1, 5_000])
def test_tree_shape_does_not_change_answers(size: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(1, 5, size=size).astype(np.float64)
    targets = rng.uniform(0, values.sum(), size=1_000)
    answers = []
    for scan_depth in (0, 4, 10, 20):
        tree = SumTree(values.size, scan_depth=scan_depth)
        tree.update(np.arange(values.size), values)
        answers.append(tree.find_prefix(targets)[0])
    for other in answers[1:]:
        np.testing.assert_array_equal(answers[0], other)


def test_overshoot_is_clamped_to_limit() -> None:
    tree = SumTree(8, scan_depth=0)
    tree.update(np.arange(3), np.array([1.0, 1.0, 1.0]))
    found, values = tree.find_prefix(np.array([3.0, 100.0]), limit=3)
    np.testing.assert_array_equal(found, [2, 2])
    np.testing.assert_array_equal(values, [1.0, 1.0])
    assert tree.find_prefix(np.array([5.0]))[0][0] == 7  # without a limit: the last leaf


def test_state_round_trip() -> None:
    tree = SumTree(37, scan_depth=2)
    tree.update(np.arange(37), np.arange(37, dtype=np.float64))
    other = SumTree(37, scan_depth=2)
    other.load_state_dict(tree.state_dict())
    assert other.total == tree.total == 666
    np.testing.assert_array_equal(other.find_prefix(np.arange(666.0))[0],
                                  tree.find_prefix(np.arange(666.0))[0])
    with pytest.raises(CheckpointError, match="capacity"):
        SumTree(100).load_state_dict(tree.state_dict())


@pytest.mark.parametrize(
    ("indices", "values", "match"),
    [([0], [-1.0], "finite and >= 0"), ([0], [np.nan], "finite"), ([0], [np.inf], "finite"),
     ([4], [1.0], r"\[0, 4\)"), ([-1], [1.0], r"\[0, 4\)"), ([[0]], [[1.0]], "1-D"),
     ([0, 1], [1.0], "values of shape"), ([0.5], [1.0], "integer")],
)
def test_update_rejects_bad_input(indices: list[float], values: list[float], match: str) -> None:
    tree = SumTree(4)
    with pytest.raises(AgentError, match=match):
        tree.update(np.array(indices), np.array(values))
    assert tree.total == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"capacity": 0}, "capacity"), ({"capacity": -2}, "capacity"), ({"capacity": 2.5}, "capacity"),
     ({"capacity": True}, "capacity"), ({"scan_depth": -1}, "scan_depth")],
)
def test_rejects_bad_settings(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(AgentError, match=match):
        SumTree(**{"capacity": 4, **kwargs})  # type: ignore[arg-type]
