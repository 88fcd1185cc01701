"""Model selection on a validation slice of the train slice, the test slice
never read to choose anything, model.pt as trained, on-policy agents that
learn online only from sampled actions, and schedules that fit the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from price_series import make_prices

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.run_folder import ONLINE_MODEL, write_run
from rlbt.engine.runner import backtest
from rlbt.engine.training import evaluate, evaluation_params
from rlbt.engine.validation import validation_split

SMALL_DQN = {"hidden": "16", "warmup": 32, "batch_size": 16, "learn_every": 2,
             "target_every": 50}


def _prices(n: int = 700, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return make_prices(100 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n))))


def test_validation_split_is_the_end_of_train_after_a_purge_gap() -> None:
    train = _prices(500)
    split = validation_split(train, 0.2, purge=17)
    assert len(split.fit) == 500 - 100 - 17
    assert split.start == train.index[400]
    assert split.fit.index[-1] < split.start
    assert validation_split(train, 0.0, purge=17).start is None


def test_val_too_large_for_the_data_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"--val 0\.8: the train slice has"):
        backtest("dqn", _prices(120), episodes=1, val=0.8, params=SMALL_DQN)


def test_best_episode_is_restored_and_scores_what_was_recorded(tmp_path: Path) -> None:
    frame = _prices()
    result = backtest("dqn", frame, episodes=4, params=SMALL_DQN)
    log, learning = result.training_log, result.learning
    assert {"val_sharpe", "val_return", "selected"} <= set(log.columns)
    best = int(log.loc[log["val_sharpe"].fillna(-np.inf).idxmax(), "episode"])
    assert learning["selected_episode"] == best and log["selected"].sum() == 1
    # The restored agent, evaluated again on the validation slice, scores the
    # recorded best (before the test slice, so reload model.pt for that).
    agent = result.agent
    agent.load(_checkpoint_file(result, tmp_path))
    from rlbt.engine.plugins.registry import resolve_strategy
    from rlbt.engine.runner import annualisation
    from rlbt.engine.split import split_frame

    config = result.config
    cls = resolve_strategy("dqn")
    train = split_frame(frame, _config(config)).train
    again = evaluate(cls, evaluation_params(_params(config), agent, learn=False), train,
                     pd.Timestamp(learning["val_start"]), _config(config),
                     annualisation(frame, _config(config)))
    assert again["sharpe"] == pytest.approx(learning["val_sharpe"], rel=1e-9)


def test_select_last_keeps_the_last_episode() -> None:
    result = backtest("dqn", _prices(), episodes=3, select="last", params=SMALL_DQN)
    assert result.learning["selected_episode"] == 3


def test_the_test_slice_never_chooses_anything() -> None:
    """Scrambling every test bar changes nothing of training, validation or model.pt."""
    frame = _prices()
    scrambled = frame.copy()
    test_rows = slice(int(len(frame) * 0.7) + 1, None)
    rng = np.random.default_rng(9)
    rows = scrambled.iloc[test_rows]
    scrambled.iloc[test_rows] = rows * rng.uniform(0.5, 1.5, (len(rows), 1))  # OHLC order kept
    runs = [backtest("dqn", f, episodes=3, params=SMALL_DQN) for f in (frame, scrambled)]
    assert runs[0].config["test_start"] == runs[1].config["test_start"]
    pd.testing.assert_frame_equal(runs[0].training_log, runs[1].training_log)
    assert runs[0].trained_checkpoint == runs[1].trained_checkpoint
    assert runs[0].test.metrics != runs[1].test.metrics


def test_model_pt_is_the_agent_as_trained_and_reloads_to_the_same_test(tmp_path: Path) -> None:
    """model.pt is written before the test slice: a frozen and an online run
    save the same model.pt, the online one adds model-online.pt, and reloading
    model.pt with --episodes 0 --freeze repeats the frozen run's test."""
    frame = _prices()
    frozen = backtest("dqn", frame, episodes=2, freeze=True, params=SMALL_DQN)
    online = backtest("dqn", frame, episodes=2, params=SMALL_DQN)
    assert frozen.trained_checkpoint == online.trained_checkpoint
    write_run(frozen, tmp_path / "frozen")
    write_run(online, tmp_path / "online")
    assert not (tmp_path / "frozen" / ONLINE_MODEL).exists()
    trained = torch.load(tmp_path / "online" / "model.pt", weights_only=True)
    after = torch.load(tmp_path / "online" / ONLINE_MODEL, weights_only=True)
    assert trained["state"]["updates"] < after["state"]["updates"]
    reloaded = backtest("dqn", frame, episodes=0, freeze=True, params=SMALL_DQN,
                        load=str(tmp_path / "frozen" / "model.pt"))
    assert reloaded.test.metrics == frozen.test.metrics


@pytest.mark.parametrize(("strategy", "freeze", "sampled"),
                         [("pg", False, True), ("a2c", False, True), ("pg", True, False),
                          ("dqn", False, False)])
def test_on_policy_agents_learn_online_only_from_sampled_actions(
    strategy: str, freeze: bool, sampled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlbt.strategies.agent_strategy import AgentStrategy

    modes: dict[Any, set[tuple[bool, bool]]] = {}
    decide = AgentStrategy.decide

    def record(self: Any) -> int:
        if self.p.trade_start is not None:  # validation or test: the test starts last
            modes.setdefault(self.p.trade_start, set()).add((bool(self.p.learn),
                                                             bool(self.p.explore)))
        return decide(self)

    monkeypatch.setattr(AgentStrategy, "decide", record)
    params = SMALL_DQN if strategy == "dqn" else {"hidden": "8"}
    result = backtest(strategy, _prices(400), episodes=1, freeze=freeze, params=params)
    *validation, test = (modes[start] for start in sorted(modes))
    assert test == {(not freeze, sampled)}
    # validation never learns and acts as the test will: sampled or greedy
    assert validation and all(v == {(False, sampled)} for v in validation)
    assert result.learning["test_actions"] == ("sampled from the policy" if sampled else "greedy")


def test_epsilon_decays_over_a_share_of_the_run_on_any_length() -> None:
    """Default epsilon decays over half the planned training steps, whatever the data length."""
    for bars in (400, 1200):
        log = backtest("dqn", _prices(bars), episodes=2, val=0.2, params=SMALL_DQN).training_log
        assert log["epsilon"].iloc[-1] == pytest.approx(0.05)


def test_planned_schedules_in_the_agent() -> None:
    from rlbt.agents.dqn import DQNAgent, DQNConfig

    agent = DQNAgent(DQNConfig(obs_dim=2, n_actions=2, prioritized=True))
    agent.plan_steps(1000)
    assert agent.epsilon == 1.0 and agent.beta == pytest.approx(0.4)
    agent.env_steps = 500
    assert agent.epsilon == pytest.approx(0.05) and agent.beta == pytest.approx(0.7)
    fixed = DQNAgent(DQNConfig(obs_dim=2, n_actions=2, eps_decay_steps=100))
    fixed.plan_steps(1000)
    fixed.env_steps = 100
    assert fixed.epsilon == pytest.approx(0.05)


# -- helpers ------------------------------------------------------------------------


def _checkpoint_file(result: Any, folder: Path) -> Path:
    path = folder / "model.pt"
    path.write_bytes(result.trained_checkpoint)
    return path


def _config(config: dict[str, Any]) -> Any:
    from rlbt.engine.config import BacktestConfig

    keys = set(BacktestConfig.__dataclass_fields__)
    return BacktestConfig(**{k: v for k, v in config.items() if k in keys})


def _params(config: dict[str, Any]) -> dict[str, Any]:
    from rlbt.engine.params import coerce_params
    from rlbt.engine.plugins.registry import resolve_strategy

    return coerce_params("dqn", resolve_strategy("dqn"), config["params"])


def test_score_ranks_a_steady_gain_first_and_a_steady_loss_last() -> None:
    from rlbt.engine.validation import score

    steady_gain = {"sharpe": 0.0, "volatility": 0.0, "total_return": 0.2}
    flat = {"sharpe": 0.0, "volatility": 0.0, "total_return": 0.0}
    steady_loss = {"sharpe": 0.0, "volatility": 0.0, "total_return": -0.1}
    noisy = {"sharpe": 1.5, "volatility": 0.2, "total_return": 0.3}
    ranked = sorted([flat, noisy, steady_loss, steady_gain], key=score, reverse=True)
    assert ranked == [steady_gain, noisy, flat, steady_loss]


def test_save_and_load_refused_for_a_strategy_that_does_not_learn(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--save: strategy 'sma-cross' does not learn"):
        backtest("sma-cross", _prices(300), save=str(tmp_path / "x.pt"))


def test_val_must_be_a_number() -> None:
    with pytest.raises(ConfigError, match="--val='0.2'"):
        backtest("dqn", _prices(300), val="0.2")
