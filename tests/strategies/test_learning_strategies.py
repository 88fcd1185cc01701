"""Learning agents through the real strategy, backtrader and the runner, on
price series whose right answer is known; determinism, look-ahead and
checkpoints, parametrized over the agents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from price_series import make_prices

from rlbt.engine.lookahead import check_lookahead
from rlbt.engine.runner import backtest

# Small, fast settings per agent; a real run uses the strategy defaults.
FAST: dict[str, dict[str, Any]] = {
    "dqn": {"hidden": (32, 32), "warmup": 64, "learn_every": 1, "batch_size": 32,
            "eps_decay_steps": 800, "target_every": 100, "window": 4},
    "qtable": {"eps_decay_steps": 800, "lr": 0.2},
    "pg": {"hidden": (32,), "lr": 3e-3, "rollout_bars": 32, "window": 4},
    "a2c": {"hidden": (32,), "lr": 3e-3, "rollout_bars": 16, "window": 4},
    "lstm": {"window_size": 8, "hidden_size": 16, "warmup": 16, "batch_size": 16,
             "compare_forest": False, "lr": 3e-3, "learn_every": 1},
}
AGENTS = sorted(FAST)


def rising(n: int = 500) -> pd.DataFrame:
    return make_prices(100.0 * 1.003 ** np.arange(n))


def alternating(n: int = 500) -> pd.DataFrame:
    """Up 2%, down 2%, ...: long after a down bar and flat after an up bar wins."""
    return make_prices(np.where(np.arange(n) % 2 == 0, 100.0, 102.0))


@pytest.mark.parametrize("agent", AGENTS)
def test_rising_price_ends_long_and_keeps_up_with_buy_and_hold(agent: str) -> None:
    result = backtest(agent, rising(), episodes=4, params=FAST[agent], freeze=True)
    test = result.test
    assert test.actions["exposure"].iloc[-20:].eq(1.0).all()
    assert test.metrics["total_return"] >= 0.9 * test.benchmark["total_return"]


@pytest.mark.parametrize("agent", AGENTS)
def test_alternating_series_learns_to_flip(agent: str) -> None:
    frame = alternating()
    result = backtest(agent, frame, episodes=6, params=FAST[agent], freeze=True)
    actions = result.test.actions
    # Right answer: long (1) on a bar that closed down (at 100), flat after an up bar.
    right = (frame["close"].reindex(actions.index) == 100.0).astype(int)
    assert (actions["action"] == right).mean() >= 0.9
    assert result.test.metrics["total_return"] > 0.5


@pytest.mark.parametrize("agent", AGENTS)
def test_same_seed_same_everything_and_global_rng_does_not_matter(agent: str) -> None:
    def run(seed: int, global_seed: int) -> Any:
        torch.manual_seed(global_seed)
        np.random.seed(global_seed)
        return backtest(agent, alternating(200), episodes=2, params=FAST[agent], seed=seed)

    a, b, c = run(1, 0), run(1, 99), run(2, 0)
    for pa, pb in zip(a.periods, b.periods, strict=True):
        pd.testing.assert_frame_equal(pa.equity, pb.equity)
        pd.testing.assert_frame_equal(pa.trades, pb.trades)
        pd.testing.assert_frame_equal(pa.actions, pb.actions)
    pd.testing.assert_frame_equal(a.training_log, b.training_log)
    _assert_same_state(a.agent.state_dict(), b.agent.state_dict())
    assert not a.train.actions.equals(c.train.actions) or not _same_state(
        a.agent.state_dict(), c.agent.state_dict()
    )


@pytest.mark.parametrize("agent", AGENTS)
def test_no_look_ahead(agent: str) -> None:
    frame = make_prices(100 + 10 * np.sin(np.arange(260) / 9))
    report = check_lookahead(agent, frame, cuts=2, episodes=1, params=FAST[agent])
    assert report.clean, [str(leak) for leak in report.leaks]


@pytest.mark.parametrize("agent", AGENTS)
def test_saved_agent_evaluates_identically(agent: str, tmp_path: Path) -> None:
    path = tmp_path / "agent.pt"
    frame = alternating(240)
    first = backtest(agent, frame, episodes=2, params=FAST[agent], freeze=True, save=str(path))
    again = backtest(agent, frame, episodes=0, params=FAST[agent], freeze=True, load=str(path))
    pd.testing.assert_frame_equal(first.test.actions, again.test.actions)
    pd.testing.assert_frame_equal(first.test.equity, again.test.equity)
    assert again.training_log.empty


def _same_state(a: Any, b: Any) -> bool:
    try:
        _assert_same_state(a, b)
    except AssertionError:
        return False
    return True


def _assert_same_state(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_state(a[key], b[key])
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_state(x, y)
    else:
        assert a == b
