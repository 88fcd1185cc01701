"""``--param features=...``: today's layout bit for bit, each built-in feature
against a hand computation, warm-up and lookback, feature plugins (file and
entry point), the look-ahead check on them, and bad specs as one-line errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from price_series import make_prices

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.cli import main
from rlbt.engine.errors import ConfigError
from rlbt.engine.runner import backtest
from rlbt.strategies.agent_strategy import AgentStrategy
from rlbt.strategies.dqn_strategy import DQNStrategy


class Recorder:
    """Acts 0, 1, 0, 1, ... and records every observation and reward."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []
        self.rewards: list[float] = []

    def act(self, obs: np.ndarray, explore: bool) -> int:
        self.seen.append(obs.copy())
        return len(self.seen) % 2

    def observe(self, obs, action, reward, next_obs, terminated, truncated):  # type: ignore[no-untyped-def]
        self.rewards.append(reward)


def drive(frame: pd.DataFrame, **params: Any) -> tuple[Recorder, Any]:
    agent = Recorder()
    cerebro = build_cerebro(frame, AgentStrategy, {"agent": agent, **params},
                            cash=1000.0, commission=0.001, slippage=0.0)
    return agent, cerebro.run()[0]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    prices = make_prices(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 80))))
    prices["volume"] = rng.integers(0, 4, len(prices)) * 1000.0  # zeros on purpose
    return prices


# -- 1: the default layout is today's, bit for bit ----------------------------

SMALL_DQN = {"hidden": (16,), "warmup": 32, "window": 4}


@pytest.mark.parametrize("explicit", [
    {"features": "returns:4,range,exposure"},
    {"features": "returns,range,exposure", "reward": "log_return"},
])
def test_explicit_default_spec_gives_the_same_run_bit_for_bit(
    wavy_prices: pd.DataFrame, explicit: dict[str, str]
) -> None:
    runs = [backtest("dqn", wavy_prices, episodes=1, params={**SMALL_DQN, **extra})
            for extra in ({}, explicit)]
    for period in ("train", "test"):
        a, b = (getattr(run, period) for run in runs)
        pd.testing.assert_frame_equal(a.actions, b.actions)
        assert a.metrics == b.metrics
    pd.testing.assert_frame_equal(runs[0].training_log, runs[1].training_log)


def test_the_default_spec_keeps_the_greedy_table_and_other_layouts_do_not(
    wavy_prices: pd.DataFrame,
) -> None:
    agent = DQNStrategy.build_agent(SMALL_DQN, seed=0, device="cpu")
    frozen = {"agent": agent, "learn": False, "explore": False, "window": 4}
    for features, table in (("returns:4,range,exposure", True), ("rsi:5,exposure", False)):
        if features.startswith("rsi"):
            frozen["agent"] = DQNStrategy.build_agent({**SMALL_DQN, "features": features},
                                                      seed=0, device="cpu")
        cerebro = build_cerebro(wavy_prices, AgentStrategy, {**frozen, "features": features},
                                cash=1000.0, commission=0.0, slippage=0.0)
        assert (cerebro.run()[0]._greedy is not None) is table


def test_reordered_features_give_today_s_numbers(frame: pd.DataFrame) -> None:
    """The per-feature path (any other layout) computes the same returns and
    range as today's precomputed path, bar by bar."""
    today, _ = drive(frame, window=5)
    other, _ = drive(frame, features="exposure,range,returns:5")
    assert len(today.seen) == len(other.seen) == len(frame) - 5
    for a, b in zip(today.seen, other.seen, strict=True):
        np.testing.assert_allclose(b, np.concatenate([a[-1:], a[-2:-1], a[:-2]]), rtol=1e-6)


def test_observation_size_follows_the_features() -> None:
    assert DQNStrategy.observation_size({"window": 7}) == 9
    assert DQNStrategy.observation_size({"features": "rsi:14,calendar,exposure"}) == 6
    assert DQNStrategy.observation_size({"features": "bt:Stochastic:period=5"}) == 2
    agent = DQNStrategy.build_agent({**SMALL_DQN, "features": "macd,atr,calendar"},
                                    seed=0, device="cpu")
    assert agent.obs_dim == 6


def test_a_checkpoint_for_other_features_is_refused(tmp_path: Path) -> None:
    agent = DQNStrategy.build_agent(SMALL_DQN, seed=0, device="cpu")
    agent.save(tmp_path / "a.pt")
    with pytest.raises(ConfigError, match="window/features/positions"):
        DQNStrategy.load_agent(tmp_path / "a.pt", {**SMALL_DQN, "features": "rsi:3,exposure"},
                               device="cpu")


# -- 2: each built-in feature by hand -----------------------------------------


def smoothed(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """backtrader's SMMA/EMA: NaN until n values, seeded by their mean."""
    out = np.full(len(x), np.nan)
    first = int(np.argmax(~np.isnan(x)))
    out[first + n - 1] = x[first:first + n].mean()
    for i in range(first + n, len(x)):
        out[i] = out[i - 1] + alpha * (x[i] - out[i - 1])
    return out


def by_hand(frame: pd.DataFrame, name: str) -> np.ndarray:
    close, high, low = (frame[c].to_numpy() for c in ("close", "high", "low"))
    move = np.concatenate([[np.nan], np.diff(close)])
    if name == "rsi:6":
        up = smoothed(np.where(np.isnan(move), np.nan, np.maximum(move, 0)), 6, 1 / 6)
        down = smoothed(np.where(np.isnan(move), np.nan, np.maximum(-move, 0)), 6, 1 / 6)
        return ((100 - 100 / (1 + up / down)) - 50) / 50
    if name == "sma_ratio:5":
        sma = pd.Series(close).rolling(5).mean().to_numpy()
        return close / sma - 1
    if name == "macd:3:6:4":
        line = smoothed(close, 3, 2 / 4) - smoothed(close, 6, 2 / 7)
        return (line - smoothed(line, 4, 2 / 5)) / close
    previous = np.concatenate([[np.nan], close[:-1]])
    true_range = np.maximum(high, previous) - np.minimum(low, previous)
    return smoothed(true_range, 4, 1 / 4) / close  # "atr:4"


@pytest.mark.parametrize(("spec", "warm"), [
    ("rsi:6", 7), ("sma_ratio:5", 5), ("macd:3:6:4", 9), ("atr:4", 5),
])
def test_indicator_features_by_hand_after_their_warm_up(
    frame: pd.DataFrame, spec: str, warm: int
) -> None:
    assert AgentStrategy.lookback_bars({"features": spec}) == warm
    agent, strat = drive(frame, features=spec)
    assert strat.decisions[0][0] == frame.index[warm - 1]  # warm-up bars never decide
    expected = by_hand(frame, spec)[warm - 1:]
    assert np.isfinite(expected).all()
    np.testing.assert_allclose([obs[0] for obs in agent.seen], expected, rtol=1e-5, atol=1e-7)


def test_bar_features_by_hand(frame: pd.DataFrame) -> None:
    agent, strat = drive(frame, features="returns:2,range,volume_change,calendar,exposure",
                         obs_scale=10.0)
    close, volume = frame["close"].to_numpy(), frame["volume"].to_numpy()
    assert strat.min_history == 3
    for k in (0, 5, 30):
        t, obs = k + 2, agent.seen[k]
        np.testing.assert_allclose(obs[:2], 10 * np.diff(np.log(close[t - 2:t + 1])), rtol=1e-6)
        ratio = math.log(frame["high"].iloc[t] / frame["low"].iloc[t])
        assert obs[2] == pytest.approx(10 * ratio, rel=1e-6)
        moved = volume[t] > 0 and volume[t - 1] > 0
        assert obs[3] == pytest.approx(math.log(volume[t] / volume[t - 1]) if moved else 0.0)
        day, month = frame.index[t].weekday(), frame.index[t].month - 1
        np.testing.assert_allclose(obs[4:8], [math.sin(2 * math.pi * day / 7),
                                              math.cos(2 * math.pi * day / 7),
                                              math.sin(2 * math.pi * month / 12),
                                              math.cos(2 * math.pi * month / 12)], atol=1e-6)
    assert any(obs[3] == 0.0 for obs in agent.seen)  # zero volume seen, guarded
    # action 1 at bar t is the exposure seen at t+1 (acts 1, 0, 1, ...)
    assert [obs[-1] for obs in agent.seen[:4]] == [0.0, 1.0, 0.0, 1.0]


def test_a_slice_shorter_than_an_indicator_warm_up_is_refused(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"--param features=sma_ratio:60.*needs 62"):
        backtest("dqn", frame, episodes=0, params={"features": "sma_ratio:60"})


# -- 3: the done-when, end to end -------------------------------------

DATA = ["--data", "orcl", "--start", "2005-01-01", "--end", "2006-12-31",
        "--episodes", "1", "--param", "hidden=16", "--param", "warmup=64"]
DONE_WHEN = ["--param", "features=rsi:14,sma_ratio:20,exposure",
             "--param", "reward=differential_sharpe"]


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def test_done_when_run_and_lookahead_are_clean(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run = cli("run", "dqn", *DATA, *DONE_WHEN, "--out", str(out))
    assert run.exit_code == 0, run.output
    assert (out / "metrics.json").exists()
    check = cli("lookahead", "dqn", *DATA, "--cuts", "2", *DONE_WHEN)
    assert check.exit_code == 0, check.output
    assert "No look-ahead found" in check.output


LEAKY = '''
import math

class Peek:
    """The log return to the close AHEAD bars later: look-ahead on purpose."""

    size = 1

    def __init__(self, ahead="1"):
        self.ahead = int(ahead)

    def value(self, strategy):
        close = strategy.data.close
        try:
            return [1000.0 * math.log(close[self.ahead] / close[0])]
        except IndexError:  # the last bars of the data: nothing ahead
            return [0.0]
'''


def test_a_leaky_feature_plugin_is_caught_by_lookahead(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY)
    spec = f"features=returns:4,{tmp_path / 'leaky.py'}:Peek:1,exposure"
    check = cli("lookahead", "dqn", *DATA, "--cuts", "2", "--param", spec)
    assert check.exit_code == 1, check.output
    assert "Look-ahead in dqn" in check.output and "future replaced" in check.output


# -- 5: feature plugins, by file and by entry point ---------------------------

MOMENTUM = '''
import backtrader as bt

class Momentum:
    """close / close BARS ago - 1, through backtrader's RateOfChange."""

    def __init__(self, bars="5", lookback=None):
        self.bars, self.size = int(bars), 1
        self.lookback = int(lookback) if lookback else self.bars + 1

    def setup(self, strategy):
        self.roc = bt.indicators.RateOfChange(strategy.data.close, period=self.bars)

    def value(self, strategy):
        return [self.roc[0]]


class TwoForOne:
    size = 1

    def value(self, strategy):
        return [1.0, 2.0]


class NoSize:
    def value(self, strategy):
        return [1.0]
'''


@pytest.fixture
def plugin_file(tmp_path: Path) -> Path:
    path = tmp_path / "momentum.py"
    path.write_text(MOMENTUM)
    return path


def test_a_file_feature_plugin_runs_end_to_end(plugin_file: Path, tmp_path: Path,
                                               frame: pd.DataFrame) -> None:
    agent, strat = drive(frame, features=f"{plugin_file}:Momentum:3,exposure")
    close = frame["close"].to_numpy()
    assert strat.min_history == 4
    np.testing.assert_allclose([obs[0] for obs in agent.seen], close[3:] / close[:-3] - 1,
                               rtol=1e-5)
    run = cli("run", "dqn", *DATA, "--param", f"features={plugin_file}:Momentum:10,exposure",
              "--out", str(tmp_path / "run"))
    assert run.exit_code == 0, run.output


def test_an_entry_point_feature_is_found_and_listed(
    plugin_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame
) -> None:
    site = tmp_path / "site"
    info = site / "rlbt_feat_test-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "rlbt_feat_test_mod.py").write_text(MOMENTUM)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rlbt-feat-test\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[rlbt.features]\nmomentum = rlbt_feat_test_mod:Momentum\n")
    monkeypatch.syspath_prepend(str(site))
    agent, _ = drive(frame, features="momentum:2,range")
    assert agent.seen[0].shape == (2,)
    listing = cli("strategies", "dqn")
    assert listing.exit_code == 0
    for name in ("rsi[:N]", "sma_ratio[:N]", "bt:NAME", "momentum  (installed plugin)",
                 "differential_sharpe[:ETA]", "excess_over_hold"):
        assert name in listing.output


# -- 4: bad specs are one-line errors naming the param -------------------------


@pytest.mark.parametrize(("param", "words"), [
    ("features=rsi:abc", ["--param features", "'abc'", "integer"]),
    ("features=nope", ["--param features", "'nope'", "Known: atr"]),
    ("features=retrns:4", ["--param features", "Did you mean 'returns'"]),
    ("features=", ["--param features", "empty"]),
    ("features=rsi:14,exposure,rsi:14", ["--param features", "'rsi:14' appears twice"]),
    ("features=macd:26:12:9", ["--param features", "shorter"]),
    ("features=bt:Ichimoku", ["--param features", "look-ahead"]),
    ("features=bt:Stochastc", ["--param features", "Did you mean 'Stochastic'"]),
    ("features=bt:RSI:perio=3", ["--param features", "Did you mean 'period'"]),
    ("features=missing.py:X", ["--param features", "missing.py", "not found"]),
    ("reward=drawdown_penalty:-1", ["--param reward", "'-1'", ">= 0"]),
    ("reward=differential_sharpe:0", ["--param reward", "'0'", "> 0"]),
    ("reward=nope", ["--param reward", "'nope'", "Known: differential_sharpe"]),
    ("reward=log_return,excess_over_hold", ["--param reward", "one reward"]),
])
def test_bad_specs_are_one_line_errors(param: str, words: list[str]) -> None:
    result = cli("run", "dqn", "--data", "orcl", "--episodes", "0", "--param", param)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output


@pytest.mark.parametrize(("item", "words"), [
    ("NoSize", ["py:NoSize'", "size must be an integer"]),
    ("TwoForOne", ["py:TwoForOne'", "[1.0, 2.0]", "expected 1 finite"]),
    ("Momentum:5:2", ["Momentum:5:2", "need 6 bars", "lookback = 2"]),
])
def test_a_broken_feature_plugin_is_named(plugin_file: Path, item: str,
                                          words: list[str]) -> None:
    result = cli("run", "dqn", "--data", "orcl", "--start", "2012-01-01", "--episodes", "1",
                 "--param", f"features={plugin_file}:{item}")
    error = result.output.splitlines()[-1]  # after the episode's progress line
    assert result.exit_code == 1
    assert error.startswith("Error: --param features") and "Traceback" not in result.output
    for word in words:
        assert word in error
