"""Uniform replay: ring order, exact storage across episode boundaries, sampling, state, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from replay_streams import (
    OBS_DIM,
    add_all,
    add_in_batches,
    assert_holds_exactly,
    observation,
    stream,
)

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.replay.buffer import Batch, ReplayBuffer

GAMMA = 0.9


def make(capacity: int, seed: int = 0, **kwargs: object) -> ReplayBuffer:
    return ReplayBuffer(capacity, (OBS_DIM,), seed=seed, gamma=GAMMA, **kwargs)  # type: ignore[arg-type]


def sampled_actions(buffer: ReplayBuffer, draws: int) -> np.ndarray:
    """About ``draws`` sampled actions, in batches of ``len(buffer)``."""
    batch = len(buffer)
    return np.concatenate([buffer.sample(batch).actions for _ in range(draws // batch)])


def test_wraps_around_keeping_the_newest_in_slot_order() -> None:
    buffer = make(5)
    add_all(buffer, stream([8]))  # capacity + 3: transitions 0, 1, 2 are gone
    assert len(buffer) == 5 and buffer.capacity == 5
    assert buffer.gather(np.arange(5)).actions.tolist() == [5, 6, 7, 3, 4]
    assert set(sampled_actions(buffer, 2_000).tolist()) == {3, 4, 5, 6, 7}


def test_samples_only_filled_slots() -> None:
    buffer = make(100)
    add_all(buffer, stream([7]))
    batch = buffer.sample(7)
    assert batch.indices.max() < 7
    assert set(sampled_actions(buffer, 5_000).tolist()) == set(range(7))


@pytest.mark.parametrize(
    ("lengths", "ends"),
    [
        ([25], ["continue"]),  # one long stream
        ([3, 1, 4, 1, 5], []),  # terminals, a one-step episode among them
        ([2, 3, 2, 4, 1, 3], ["truncated", "continue", "terminal", "truncated", "continue"]),
        ([1] * 30, ["truncated"] * 30),  # every next_obs is new: side rows must grow
    ],
)
def test_stores_every_transition_exactly(lengths: list[int], ends: list[str]) -> None:
    steps = stream(lengths, ends)
    for capacity in (1, 2, 7, 24, 100):
        buffer = make(capacity)
        add_all(buffer, steps)
        assert_holds_exactly(buffer, steps, GAMMA)


def test_a_continuous_stream_stores_each_observation_once() -> None:
    buffer, fresh = make(64), make(64)
    add_all(buffer, stream([500], ["continue"]))
    assert buffer.state_dict()["rows"].shape == fresh.state_dict()["rows"].shape
    # 64 slot rows + 1 pending row + 16 side rows (the minimum), never grown
    assert buffer.state_dict()["rows"].shape[0] == 64 + 1 + 16


@pytest.mark.parametrize("long_episodes_first", [False, True])
def test_side_rows_grow_when_every_step_ends_an_episode(long_episodes_first: bool) -> None:
    # long episodes first leave the side rows' ring head mid-way when growth starts
    warmup = [10] * 10 if long_episodes_first else []
    lengths = warmup + [1] * 450
    steps = stream(lengths, ["truncated"] * len(lengths))
    buffer = make(200)
    add_all(buffer, steps)
    assert buffer.state_dict()["rows"].shape[0] > 200 + 1 + 16
    assert_holds_exactly(buffer, steps, GAMMA)
    small = make(40)  # grows while holding the long episodes' side rows
    add_all(small, steps[:130])
    assert_holds_exactly(small, steps[:130], GAMMA)


episodes = st.lists(st.integers(1, 6), min_size=1, max_size=30)
endings = st.lists(st.sampled_from(["terminal", "truncated", "continue"]), max_size=30)


@settings(max_examples=60, deadline=None)
@given(lengths=episodes, ends=endings, capacity=st.integers(1, 40),
       sizes=st.lists(st.integers(1, 50), min_size=1, max_size=5))
def test_add_batch_equals_repeated_add(
    lengths: list[int], ends: list[str], capacity: int, sizes: list[int]
) -> None:
    steps = stream(lengths, ends)
    one_by_one, batched = make(capacity, seed=3), make(capacity, seed=3)
    add_all(one_by_one, steps)
    add_in_batches(batched, steps, sizes)
    assert_holds_exactly(batched, steps, GAMMA)
    for _ in range(3):
        assert_batches_equal(one_by_one.sample(len(batched)), batched.sample(len(batched)))
    # and both keep agreeing when single adds follow
    more = stream([3], ["truncated"])
    add_all(one_by_one, more)
    add_all(batched, more)
    assert_batches_equal(one_by_one.gather(np.arange(len(one_by_one))),
                         batched.gather(np.arange(len(batched))))


def assert_batches_equal(a: Batch, b: Batch) -> None:
    for name, x, y in zip(Batch._fields, a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_batch_arrays_are_contiguous_typed_and_torch_ready() -> None:
    buffer = ReplayBuffer(10, (2, 3), seed=0, obs_dtype=np.uint8)
    for t in range(6):
        buffer.add(np.full((2, 3), t), t, 1.5, np.full((2, 3), t + 1), t == 5)
    batch = buffer.sample(4)
    expected = {"obs": (np.float32, (4, 2, 3)), "actions": (np.int64, (4,)),
                "rewards": (np.float32, (4,)), "next_obs": (np.float32, (4, 2, 3)),
                "terminated": (np.float32, (4,)), "weights": (np.float32, (4,)),
                "indices": (np.int64, (4,)), "discounts": (np.float32, (4,))}
    for name, (dtype, shape) in expected.items():
        array = getattr(batch, name)
        assert (array.dtype, array.shape) == (dtype, shape), name
        assert array.flags.c_contiguous, name
        assert torch.from_numpy(array).shape == shape
    np.testing.assert_array_equal(batch.next_obs, batch.obs + 1)
    np.testing.assert_array_equal(batch.terminated, (batch.actions == 5).astype(np.float32))
    np.testing.assert_array_equal(batch.weights, 1.0)
    np.testing.assert_allclose(batch.discounts, 0.99)


def test_uniform_frequencies() -> None:
    buffer = make(10, seed=11)
    add_all(buffer, stream([14]))  # slots hold transitions 4..13
    counts = np.bincount(sampled_actions(buffer, 200_000) - 4, minlength=10)
    expected = counts.sum() / 10
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    assert chi_square < 27.88  # 9 degrees of freedom, p = 0.001


def test_same_seed_same_samples_other_seed_other_samples() -> None:
    steps = stream([5, 9, 3])
    a, b, c = make(12, seed=7), make(12, seed=7), make(12, seed=8)
    for buffer in (a, b, c):
        add_all(buffer, steps)
    draws = [(a.sample(8).indices, b.sample(8).indices, c.sample(8).indices) for _ in range(5)]
    assert all(np.array_equal(x, y) for x, y, _ in draws)
    assert not all(np.array_equal(x, z) for x, _, z in draws)


def tensor_round_trip(state: dict[str, object]) -> dict[str, object]:
    """What a checkpoint does: arrays become tensors and back."""
    return {key: torch.from_numpy(value).numpy() if isinstance(value, np.ndarray) else value
            for key, value in state.items()}


@pytest.mark.parametrize("n_step", [1, 3])
def test_state_dict_round_trip_resumes_identically(n_step: int) -> None:
    original = make(40, seed=5, n_step=n_step)
    add_all(original, stream([1] * 30, ["truncated"] * 30)[:20])  # 20 side rows: grown
    add_all(original, stream([9], ["continue"]))  # ends inside the n-step window
    original.sample(4)
    state = original.state_dict()
    assert state["rows"].shape[0] > 40 + n_step + 16
    restored = make(40, seed=99, n_step=n_step)
    restored.load_state_dict(tensor_round_trip(state))
    for _ in range(3):
        assert_batches_equal(original.sample(6), restored.sample(6))
    # the pending next_obs is restored too: a stream that continues is stored the same way
    more = stream([10], ["truncated"], start=9.0)
    for buffer in (original, restored):
        add_all(buffer, more)
        buffer.flush()
    np.testing.assert_array_equal(original.state_dict()["ints"], restored.state_dict()["ints"])
    assert len(original) == len(restored) == 39
    assert_batches_equal(original.gather(np.arange(39)), restored.gather(np.arange(39)))
    assert_batches_equal(original.sample(6), restored.sample(6))


def test_state_dict_is_a_snapshot() -> None:
    buffer = make(4)
    add_all(buffer, stream([3]))
    state = buffer.state_dict()
    rows = state["rows"].copy()
    add_all(buffer, stream([6]))
    np.testing.assert_array_equal(state["rows"], rows)


def test_load_state_dict_rejects_other_shapes_and_missing_keys() -> None:
    state = make(8).state_dict()
    with pytest.raises(CheckpointError, match="capacity"):
        make(9).load_state_dict(state)
    with pytest.raises(CheckpointError):
        ReplayBuffer(8, (OBS_DIM + 1,), seed=0).load_state_dict(state)
    with pytest.raises(CheckpointError, match="gamma"):
        ReplayBuffer(8, (OBS_DIM,), seed=0, gamma=0.5).load_state_dict(state)
    with pytest.raises(CheckpointError, match="incomplete"):
        make(8).load_state_dict({k: v for k, v in state.items() if k != "rng"})


def test_errors_on_bad_sampling() -> None:
    buffer = make(8)
    with pytest.raises(AgentError, match="holding 0"):
        buffer.sample(1)
    add_all(buffer, stream([3]))
    for bad in (4, 0, -1):
        with pytest.raises(AgentError, match="batch_size"):
            buffer.sample(bad)
    with pytest.raises(AgentError, match="integer"):
        buffer.sample(2.0)  # type: ignore[arg-type]
    with pytest.raises(AgentError, match="indices"):
        buffer.gather(np.array([3]))


@pytest.mark.parametrize(
    "kwargs",
    [{"capacity": 0}, {"capacity": -3}, {"capacity": 2.5}, {"capacity": True},
     {"obs_shape": (0,)}, {"obs_shape": (2.0,)}, {"n_step": 0}, {"gamma": 1.5},
     {"gamma": float("nan")}, {"obs_dtype": np.str_}],
)
def test_errors_on_bad_settings(kwargs: dict[str, object]) -> None:
    settings_ = {"capacity": 8, "obs_shape": (OBS_DIM,), **kwargs}
    with pytest.raises(AgentError):
        ReplayBuffer(seed=0, **settings_)  # type: ignore[arg-type]


def test_errors_on_bad_shapes() -> None:
    buffer = make(8)
    good = observation(1.0)
    with pytest.raises(AgentError, match="shape"):
        buffer.add(np.zeros(OBS_DIM + 1), 0, 0.0, good, False)
    with pytest.raises(AgentError, match="shape"):
        buffer.add(good, 0, 0.0, good[None], False)
    with pytest.raises(AgentError, match="add_batch"):
        buffer.add_batch(np.zeros((3, OBS_DIM)), [0, 1], [0.0] * 3, np.zeros((3, OBS_DIM)),
                         [False] * 3)
    with pytest.raises(AgentError, match="integers"):
        buffer.add_batch(np.zeros((2, OBS_DIM)), [0.5, 1.5], [0.0] * 2,
                         np.zeros((2, OBS_DIM)), [False] * 2)
    assert len(buffer) == 0


def nstep_episode(buffer: ReplayBuffer, start: float, rewards: list[float], end: str) -> None:
    """Steps with obs ``[start + t]``-style observations; ``end`` as in ``stream``."""
    for t, reward in enumerate(rewards):
        last = t == len(rewards) - 1
        buffer.add(observation(start + t), int(start) + t, reward, observation(start + t + 1),
                   last and end == "terminal")
    if end == "flush":
        buffer.flush()


def stored(buffer: ReplayBuffer) -> dict[int, tuple[float, float, bool, float]]:
    """action -> (reward, next_obs[0], terminated, discount) of every stored transition."""
    b = buffer.gather(np.arange(len(buffer)))
    return {int(a): (float(r), float(n[0]), bool(d), float(g))
            for a, r, n, d, g in zip(b.actions, b.rewards, b.next_obs, b.terminated,
                                     b.discounts, strict=True)}


def test_nstep_returns_with_a_terminal_inside_the_window() -> None:
    buffer = ReplayBuffer(50, (OBS_DIM,), seed=0, n_step=3, gamma=0.5)
    nstep_episode(buffer, 0.0, [1.0, 2.0, 4.0, 8.0, 16.0], end="terminal")
    assert stored(buffer) == {
        0: (1 + 0.5 * 2 + 0.25 * 4, 3.0, False, 0.125),
        1: (2 + 0.5 * 4 + 0.25 * 8, 4.0, False, 0.125),
        2: (4 + 0.5 * 8 + 0.25 * 16, 5.0, True, 0.125),  # the terminal step is in its window
        3: (8 + 0.5 * 16, 5.0, True, 0.25),
        4: (16.0, 5.0, True, 0.5),
    }
    b = buffer.gather(np.arange(5))
    np.testing.assert_array_equal(b.obs[:, 0], b.actions)


def test_nstep_flush_at_truncation_keeps_partial_returns_and_bootstraps() -> None:
    buffer = ReplayBuffer(50, (OBS_DIM,), seed=0, n_step=3, gamma=0.5)
    nstep_episode(buffer, 10.0, [1.0, 1.0, 1.0, 1.0], end="open")
    assert len(buffer) == 2  # the last two steps wait for more rewards
    buffer.flush()
    assert stored(buffer) == {
        10: (1.75, 13.0, False, 0.125),
        11: (1.75, 14.0, False, 0.125),
        12: (1.5, 14.0, False, 0.25),
        13: (1.0, 14.0, False, 0.5),
    }
    buffer.flush()  # nothing pending: a no-op
    assert len(buffer) == 4


def test_nstep_window_is_flushed_when_the_stream_breaks() -> None:
    buffer = ReplayBuffer(50, (OBS_DIM,), seed=0, n_step=3, gamma=0.5)
    nstep_episode(buffer, 0.0, [1.0, 1.0], end="open")  # no flush, no terminal
    nstep_episode(buffer, 20.0, [2.0, 2.0, 2.0], end="open")  # obs 20 != last next_obs 2
    assert stored(buffer) == {0: (1.5, 2.0, False, 0.25), 1: (1.0, 2.0, False, 0.5),
                              20: (3.5, 23.0, False, 0.125)}


def test_nstep_add_batch_equals_repeated_add() -> None:
    steps = stream([4, 2, 6], ["truncated", "continue"])
    one_by_one, batched = make(7, seed=2, n_step=3), make(7, seed=2, n_step=3)
    add_all(one_by_one, steps)
    add_in_batches(batched, steps, [5, 1, 3])
    assert len(batched) == len(one_by_one) == 7
    assert_batches_equal(one_by_one.gather(np.arange(7)), batched.gather(np.arange(7)))
    assert_batches_equal(one_by_one.sample(7), batched.sample(7))


def test_scalar_observations() -> None:
    buffer = ReplayBuffer(3, (), seed=0)
    for t in range(4):
        buffer.add(float(t), t, 0.0, float(t + 1), False)
    batch = buffer.gather(np.arange(3))
    assert batch.obs.shape == (3,)
    np.testing.assert_array_equal(batch.next_obs, batch.obs + 1)


@pytest.mark.parametrize("capacity", [1, 2, 5, 40])
def test_nstep_storage_is_exact_across_wraps_and_episodes(capacity: int) -> None:
    """Compared with n-step transitions built by hand and added one-step to a plain buffer."""
    n, gamma = 3, 0.5
    nstep = ReplayBuffer(capacity, (OBS_DIM,), seed=1, n_step=n, gamma=gamma)
    steps = stream([2, 5, 1, 7, 4], ["terminal", "truncated", "continue", "terminal"])
    expected = []
    episode_start = 0
    for i, s in enumerate(steps):
        nstep.add(*s)
        last = s.terminated or i == len(steps) - 1 or not np.array_equal(
            s.next_obs, steps[i + 1].obs)
        if last:
            for t in range(episode_start, i + 1):
                window = steps[t:min(t + n, i + 1)]
                ret = sum(gamma**k * w.reward for k, w in enumerate(window))
                reaches_end = t + n > i  # the window holds the episode's last step
                expected.append((t, ret, window[-1].next_obs[0], s.terminated and reaches_end,
                                 gamma ** len(window)))
            episode_start = i + 1
    nstep.flush()
    kept = {t: (np.float32(r), float(nx), d, np.float32(g)) for t, r, nx, d, g in expected}
    got = stored(nstep)
    assert sorted(got) == sorted(kept)[-capacity:]
    for t, (r, nx, d, g) in got.items():
        assert (np.float32(r), nx, d, np.float32(g)) == kept[t]
