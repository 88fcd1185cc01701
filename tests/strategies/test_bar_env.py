"""``rlbt.gym.BarEnv``: Gymnasium's and SB3's checkers, determinism, equality
with a native ``rlbt run`` bar for bar, no look-ahead, errors, threads,
pickling and vector envs, and an SB3 smoke run."""

from __future__ import annotations

import gc
import math
import pickle
import threading
import traceback
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

gymnasium = pytest.importorskip("gymnasium")

from gymnasium.error import InvalidAction, ResetNeeded  # noqa: E402

from rlbt.engine.cerebro import run_strategy  # noqa: E402
from rlbt.engine.config import BacktestConfig  # noqa: E402
from rlbt.engine.errors import ConfigError, RlbtError, UnknownNameError  # noqa: E402
from rlbt.engine.lookahead import mirror_future  # noqa: E402
from rlbt.engine.runner import backtest  # noqa: E402
from rlbt.gym import BadAction, BarEnv  # noqa: E402
from rlbt.strategies.agent_strategy import AgentStrategy  # noqa: E402
from rlbt.strategies.exposure import ExposureStrategy  # noqa: E402

PARAMS = {"positions": (0, 1, -1), "window": 4}
COSTS = {"commission": 0.001, "slippage": 0.002}
# BarEnv's observations are unbounded by design (log returns, x obs_scale): both
# checkers warn that infinite Box bounds are "probably too low/high"; nothing else
# is filtered.
UNBOUNDED = [
    "ignore:.*Box observation space (minimum|maximum) value is -?infinity:UserWarning",
    "ignore:.*(minimum|maximum) observation space value is -?infinity:UserWarning",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return make_prices(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, 90))))


def _env(frame: pd.DataFrame, period: str = "all", **settings: Any) -> BarEnv:
    return BarEnv(frame, period=period, params=dict(PARAMS), **{**COSTS, **settings})


def _policy(obs: np.ndarray) -> int:
    """A fixed function of the observation that uses every action."""
    return int(math.floor(abs(float(obs[:-1].sum())) * 3.0)) % 3


def _play(
    env: BarEnv, actions: Any = _policy, seed: int | None = 0, steps: int | None = None
) -> list[tuple[bytes, float, bool, dict[str, Any]]]:
    """(obs bytes, reward, truncated, info) per bar; ``actions``: obs -> action."""
    obs, info = env.reset(seed=seed)
    trace = [(obs.tobytes(), 0.0, False, info)]
    while steps is None or len(trace) <= steps:
        obs, reward, terminated, truncated, info = env.step(actions(obs))
        assert terminated is False
        trace.append((obs.tobytes(), float(reward), truncated, info))
        if truncated:
            break
    return trace


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("rlbt-barenv")]


# -- 1. the checkers ----------------------------------------------------------


@pytest.mark.filterwarnings(*UNBOUNDED)
def test_gymnasium_and_sb3_env_checkers_pass(frame: pd.DataFrame) -> None:
    from gymnasium.utils.env_checker import check_env

    env = _env(frame)
    check_env(env, skip_render_check=True)  # the env renders nothing (no render modes)
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    sb3_checker.check_env(env)
    env.close()
    assert env.observation_space.shape == (AgentStrategy.observation_size(PARAMS),)
    assert env.observation_space.dtype == np.float32 and env.action_space.n == 3


# -- 2. determinism -----------------------------------------------------------


def test_same_seed_same_actions_same_trajectory_also_after_a_mid_episode_reset(
    frame: pd.DataFrame,
) -> None:
    env = _env(frame)
    first = _play(env)
    assert first == _play(env)
    _play(env, steps=20)  # abandoned halfway
    assert first == _play(env, seed=0)
    assert first == _play(_env(frame))  # a fresh env too
    assert first[-1][2] is True and not any(bar[2] for bar in first[:-1])


# -- 3. equality with the native bridge ---------------------------------------


class Scripted(ExposureStrategy):
    """A fixed cycle of actions with flips (long -> short -> long), from ``warmup`` bars on."""

    params: Any = (("warmup", 1),)
    CYCLE: ClassVar[tuple[int, ...]] = (1, 1, 2, 2, 0, 1, 2, 1, 0, 0, 2)

    def __init__(self) -> None:
        super().__init__()
        self.min_history = self.p.warmup
        self._n = 0

    def decide(self) -> int:
        self._n += 1
        return self.CYCLE[(self._n - 1) % len(self.CYCLE)]


@pytest.mark.parametrize("period", ["train", "test"])
def test_driving_the_env_with_a_runs_actions_gives_its_equity_bit_for_bit(
    frame: pd.DataFrame, period: str
) -> None:
    settings = {**COSTS, "split": 0.5}
    # Scripted waits as long as the env's window does, so both decide on the same bars.
    result = backtest(Scripted, frame, params={"positions": (0, 1, -1), "warmup": 5}, **settings)
    run = getattr(result, period)
    actions = run.actions["action"]
    env = BarEnv(frame, period=period, params=dict(PARAMS), **settings)
    obs, info = env.reset(seed=0)
    infos, rewards = [info], []
    while True:
        obs, reward, _, truncated, info = env.step(int(actions.loc[info["datetime"]]))
        infos.append(info)
        rewards.append(reward)
        if truncated:
            break
    values = pd.Series([i["value"] for i in infos], index=[i["datetime"] for i in infos])
    equity = run.equity["value"].loc[values.index[0] :]
    assert list(values.index) == list(equity.index) == list(actions.index)
    assert values.to_numpy().tobytes() == equity.to_numpy().tobytes()
    assert set(actions) == {0, 1, 2} and run.metrics["trades"] > 3  # flips were traded
    # The reward is the log value change known one bar later, x reward_scale.
    expected = 100.0 * np.log(values.to_numpy()[1:] / values.to_numpy()[:-1])
    assert np.array_equal(np.array(rewards), expected)
    assert [i["exposure"] for i in infos[1:]] == [float((0, 1, -1)[a]) for a in actions.iloc[:-1]]


class Recorder:
    """An rlbt agent that plays a fixed cycle and records what the bridge tells it."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.rewards: list[float] = []

    def act(self, obs: np.ndarray, explore: bool) -> int:
        self.seen.append(obs.tobytes())
        return Scripted.CYCLE[(len(self.seen) - 1) % len(Scripted.CYCLE)]

    def observe(self, obs, action, reward, next_obs, terminated, truncated):  # type: ignore[no-untyped-def]
        self.rewards.append(reward)


def _with_features() -> dict[str, Any]:
    if "features" not in AgentStrategy.params._getkeys():  # engineer F's params, once there
        pytest.skip("AgentStrategy has no features/reward params")
    return {"features": "rsi:5,exposure", "reward": "differential_sharpe"}


@pytest.mark.parametrize("extra", [dict, _with_features], ids=["default", "features"])
def test_the_env_sees_what_an_rlbt_agent_sees_through_the_bridge(
    frame: pd.DataFrame, extra: Any
) -> None:
    params = {**PARAMS, **extra()}
    agent = Recorder()
    run_params = {**params, "agent": agent, "learn": True, "explore": False}
    run_strategy(AgentStrategy, run_params, frame, None, BacktestConfig(**COSTS))
    env = BarEnv(frame, period="all", params=params, **COSTS)
    cycle = iter(Scripted.CYCLE * len(frame))
    trace = _play(env, actions=lambda _: next(cycle))
    assert [bar[0] for bar in trace] == agent.seen
    assert [bar[1] for bar in trace[1:]] == agent.rewards


# -- 4. no look-ahead ---------------------------------------------------------


def _trace(frame: pd.DataFrame) -> dict[Any, tuple[bytes, float, float, float]]:
    return {
        info["datetime"]: (obs, reward, info["value"], info["exposure"])
        for obs, reward, _, info in _play(_env(frame))
    }


def test_observations_actions_and_rewards_before_a_cut_ignore_the_future(
    frame: pd.DataFrame,
) -> None:
    full = _trace(frame)
    for cut in (30, 55, 80):
        before = [when for when in full if when < frame.index[cut]]
        truncated = _trace(frame.iloc[:cut])
        mirrored = _trace(mirror_future(frame, cut))
        assert [full[w] for w in before] == [truncated[w] for w in before]
        assert [full[w] for w in before] == [mirrored[w] for w in before]
        after = [w for w in full if w > frame.index[cut]]
        assert any(full[w][0] != mirrored[w][0] for w in after)  # the check can fail


# -- 5. errors, threads, pickling, vector envs --------------------------------


def test_an_exception_in_the_strategy_is_raised_from_step_with_its_traceback(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = AgentStrategy.observe_bar
    calls = []

    def exploding(self: AgentStrategy) -> np.ndarray:
        calls.append(1)
        if len(calls) == 7:
            raise ZeroDivisionError("feature blew up at the 7th bar")
        return original(self)

    monkeypatch.setattr(AgentStrategy, "observe_bar", exploding)
    env = _env(frame)
    with pytest.raises(ZeroDivisionError, match="7th bar") as caught:
        _play(env)
    frames = [f.name for f in traceback.extract_tb(caught.value.__traceback__)]
    assert "exploding" in frames and "decide" in frames  # the worker's own frames
    assert not _workers()
    with pytest.raises(ResetNeeded):
        env.step(0)
    monkeypatch.undo()
    assert _play(env)[-1][2] is True  # the env works again after reset


def test_reset_close_and_dropping_mid_episode_leave_no_thread(frame: pd.DataFrame) -> None:
    env = _env(frame)
    _play(env, steps=10)
    assert len(_workers()) == 1
    _play(env, steps=5)  # reset stops the first run
    assert len(_workers()) == 1
    env.close()
    assert not _workers()
    other = _env(frame)
    _play(other, steps=3)
    del other
    gc.collect()
    assert not _workers()
    _play(env)  # a full episode ends its thread itself
    assert not _workers()


def test_step_before_reset_after_the_end_and_with_a_bad_action(frame: pd.DataFrame) -> None:
    env = _env(frame)
    with pytest.raises(ResetNeeded, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (3, -1, 1.5, True, "1"):
        with pytest.raises(BadAction, match=r"0\.\.2 \(one per positions=0,1,-1\)"):
            env.step(bad)
    assert issubclass(BadAction, InvalidAction) and issubclass(BadAction, RlbtError)
    env.step(np.int64(1))  # the env still runs after a refused action
    _play(env)
    with pytest.raises(ResetNeeded):
        env.step(0)


def test_a_used_env_pickles_and_vector_envs_run_across_episode_ends(frame: pd.DataFrame) -> None:
    env = _env(frame)
    expected = _play(env)
    env.reset(seed=0)
    env.step(1)
    copy = pickle.loads(pickle.dumps(env))
    with pytest.raises(ResetNeeded):
        copy.step(0)  # the copy has no running episode
    assert _play(copy) == expected
    env.close()
    vector = gymnasium.vector.SyncVectorEnv([lambda: _env(frame), lambda: _env(frame)])
    obs, _ = vector.reset(seed=[0, 1])
    assert obs.shape == (2, env.observation_space.shape[0])
    ends = 0
    for _ in range(len(expected) + 5):  # past the end: autoreset starts episode two
        obs, rewards, _, truncated, _ = vector.step(np.array([1, 2]))
        ends += int(truncated.sum())
    assert ends == 2 and np.isfinite(obs).all()
    vector.close()
    assert not _workers()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"commission": -1}, "--commission"),
        ({"period": "nope"}, "period 'nope'"),
        ({"params": {"positions": (1,)}}, "--param positions"),
        ({"params": {"window": 0}}, "--param window"),
        ({"params": {"windw": 4}}, "'windw'"),
        ({"params": {"agent": object()}}, "'agent'"),
        ({"comission": 0.1}, "setting 'comission'"),
        ({"split": 0.02, "period": "test"}, "--split"),
        ({"params": {"window": 80}, "period": "train"}, "--param window=80"),
    ],
)
def test_bad_settings_are_one_line_rlbt_errors_naming_them(
    frame: pd.DataFrame, kwargs: dict[str, Any], named: str
) -> None:
    kwargs = {"period": "all", "params": dict(PARAMS), **kwargs}
    with pytest.raises(RlbtError) as caught:
        BarEnv(frame, **kwargs)
    assert named in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ConfigError)


def test_periods_slice_as_the_runner_does(frame: pd.DataFrame) -> None:
    def first_last(period: str, **settings: Any) -> tuple[Any, Any, int]:
        trace = _play(_env(frame, period, split=0.6, **settings), actions=lambda _: 0)
        return trace[0][3]["datetime"], trace[-1][3]["datetime"], len(trace)

    window = PARAMS["window"]
    train_bars = int(len(frame) * 0.6)
    assert first_last("train") == (
        frame.index[window],
        frame.index[train_bars - 1],
        train_bars - window,
    )
    assert first_last("test") == (frame.index[train_bars], frame.index[-1], len(frame) - train_bars)
    fit_bars = train_bars - round(train_bars * 0.4) - (window + 1)  # minus validation, purge
    assert first_last("fit", val=0.4)[1:] == (frame.index[fit_bars - 1], fit_bars - window)
    assert first_last("all")[1:] == (frame.index[-1], len(frame) - window)
    start = frame.index[70]
    env = BarEnv.from_frame(frame, start, params=dict(PARAMS))
    assert _play(env)[0][3]["datetime"] == start
    with pytest.raises(ConfigError, match="start="):
        BarEnv.from_frame(frame, frame.index[-1], params=dict(PARAMS))
    with pytest.raises(UnknownNameError):
        BarEnv.from_frame(frame, params={"nope": 1})


# -- 6. SB3 --------------------------------------------------------------------


def test_sb3_ppo_learns_on_the_env_and_repeats_with_the_same_seed(frame: pd.DataFrame) -> None:
    sb3 = pytest.importorskip("stable_baselines3")

    def weights() -> list[np.ndarray]:
        model = sb3.PPO("MlpPolicy", _env(frame), n_steps=64, batch_size=32, seed=0, device="cpu")
        model.learn(256)
        model.get_env().close()  # stops the episode PPO left running
        return [p.detach().numpy().copy() for p in model.policy.parameters()]

    first, second = weights(), weights()
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not _workers()
