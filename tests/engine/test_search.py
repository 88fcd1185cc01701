"""``rlbt sweep --search optuna``: the study completes on the local pool and on
Ray, one worker and one seed give the same trials, resume continues the
study, and each trial's value is the validation metric (a known answer),
never touched by the test slice."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from rlbt.engine.config import BacktestConfig
from rlbt.engine.runner import backtest
from rlbt.engine.sweep.search import search
from rlbt.engine.sweep.search_runs import trial_rows
from rlbt.engine.sweep.search_space import Dimension, parse_space, space_from_table
from rlbt.engine.sweep.spec import SweepSpec

BASE = BacktestConfig(start="2012-01-01")
SMA = SweepSpec("sma-cross", ("orcl",), {}, (0,), BASE)
SMA_SPACE = parse_space(["fast=3:20", "slow=25:80"])


def _trials(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "trials.csv", dtype=str)


def test_twenty_trials_on_the_local_pool(tmp_path: Path) -> None:
    result = search(SMA, SMA_SPACE, tmp_path, trials=20, workers=2)
    table = _trials(tmp_path)
    assert len(table) == 20 and list(table["trial"]) == [str(i) for i in range(20)]
    assert set(table["state"]) <= {"COMPLETE", "FAIL"} and (table["state"] == "COMPLETE").sum() > 10
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["trials"] == 20 and best["objective"] == "validation sharpe"
    scored = result.trials[result.trials["state"] == "COMPLETE"]
    assert best["validation_value"] == scored["val_sharpe"].max()
    single = backtest("sma-cross", "orcl", BASE, params=best["params"])
    assert best["test"]["sharpe"] == single.test.metrics["sharpe"]  # the one test run
    assert 0.0 <= best["deflated_sharpe"]["deflated_sharpe"] <= 1.0
    assert json.loads((tmp_path / "failures.json").read_text()) == result.failures


def test_one_worker_and_one_seed_give_the_same_trials(tmp_path: Path) -> None:
    first = search(SMA, SMA_SPACE, tmp_path / "a", trials=6, workers=1)
    again = search(SMA, SMA_SPACE, tmp_path / "b", trials=6, workers=1)
    pd.testing.assert_frame_equal(_trials(tmp_path / "a"), _trials(tmp_path / "b"))
    other = search(dataclasses.replace(SMA, seeds=(1,)), SMA_SPACE, tmp_path / "c", trials=6,
                   workers=1)
    assert not first.trials[["fast", "slow"]].equals(other.trials[["fast", "slow"]])
    assert first.best == again.best


def test_resume_continues_the_study_without_redoing_trials(tmp_path: Path) -> None:
    search(SMA, SMA_SPACE, tmp_path, trials=4, workers=1)
    before = _trials(tmp_path)
    result = search(SMA, SMA_SPACE, tmp_path, trials=7, workers=1)
    after = _trials(tmp_path)
    assert result.skipped == 4 and len(after) == 7
    pd.testing.assert_frame_equal(after.head(4), before)
    # the same 7 trials as a search that ran 7 at once (the sampler is seeded per trial)
    search(SMA, SMA_SPACE, tmp_path / "whole", trials=7, workers=1)
    pd.testing.assert_frame_equal(after, _trials(tmp_path / "whole"))


def test_a_search_of_other_settings_is_refused_in_the_same_folder(tmp_path: Path) -> None:
    from rlbt.engine.errors import ConfigError

    search(SMA, SMA_SPACE, tmp_path, trials=1, workers=1)
    with pytest.raises(ConfigError, match="other settings"):
        search(SMA, parse_space(["fast=3:10", "slow=25:80"]), tmp_path, trials=2, workers=1)


def test_six_trials_on_local_ray(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    result = search(SMA, SMA_SPACE, tmp_path, trials=6, executor="ray", workers=2)
    assert len(_trials(tmp_path)) == 6 and result.best["trials"] == 6


def test_a_rule_is_scored_on_the_validation_part_of_the_train_slice() -> None:
    """Known answer: the trial's value is the rule's Sharpe over the last --val
    of the train slice, and bars after the train slice change nothing (with
    --bars-per-year given: inferred, it is read off the whole data, as a run does)."""
    config = dataclasses.replace(BASE, train_end="2013-12-31", bars_per_year=252.0)
    run = {"strategy": "sma-cross", "dataset": "orcl", "seed": 0, "grid": {"fast": "5"},
           "base": config.to_dict(), "objective": "sharpe"}
    value = trial_rows(run)[0]["value"]
    cut = {**run, "base": dataclasses.replace(config, end="2014-03-31").to_dict()}
    assert trial_rows(cut)[0]["value"] == value  # no bar of the test slice is read
    whole = backtest("sma-cross", "orcl", config, params={"fast": "5"})
    inner_config = dataclasses.replace(config, start=None, train_end=None, split=1 - config.val,
                                       bars_per_year=whole.annualisation["bars_per_year"])
    inner = backtest("sma-cross", _prices_until("2013-12-31"), inner_config, params={"fast": "5"})
    assert inner.test.end <= pd.Timestamp("2013-12-31")
    assert value == inner.test.metrics["sharpe"]


def _prices_until(end: str) -> pd.DataFrame:
    from rlbt.engine.data.prices import load_prices

    return load_prices("orcl", start="2012-01-01", end=end)


def test_a_learning_strategy_is_scored_by_its_validation_sharpe() -> None:
    config = dataclasses.replace(BASE, episodes=2)
    run = {"strategy": "qtable", "dataset": "orcl", "seed": 3,
           "grid": {"lr": "0.2", "window": "3"}, "base": config.to_dict(),
           "objective": "sharpe"}
    single = backtest("qtable", "orcl", config, seed=3, params={"lr": "0.2", "window": "3"})
    assert trial_rows(run)[0]["value"] == single.learning["val_sharpe"]


def test_cli_search_from_a_toml_search_table(tmp_path: Path) -> None:
    config = tmp_path / "search.toml"
    config.write_text(
        'strategy = "sma-cross"\nstart = "2012-01-01"\ntrials = 3\nworkers = 1\n'
        f'out = "{tmp_path / "out"}"\n[search]\nfast = {{low = 3, high = 20, step = 1}}\n'
        'slow = [30, 60]\n'
    )
    result = CliRunner().invoke(main, ["sweep", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "Best of 3 trials" in result.output and "Test slice" in result.output
    table = _trials(tmp_path / "out")
    assert set(table["slow"]) <= {"30", "60"} and len(table) == 3


def test_space_forms() -> None:
    lr, window, stepped, hidden = parse_space(
        ["lr=1e-4:1e-2:log", "window=8:64", "w=8:64:8", "hidden=32,32|64,64"])
    assert (lr.kind, lr.log, lr.low, lr.high) == ("float", True, 1e-4, 1e-2)
    assert (window.kind, window.step) == ("int", None)
    assert (stepped.kind, stepped.step) == ("int", 8.0)
    assert hidden == Dimension("hidden", "choice", choices=("32,32", "64,64"))
    assert parse_space(["x=0:1:float"])[0].kind == "float"
    table = space_from_table({"lr": {"low": 1e-4, "high": 1e-2, "log": True},
                              "window": {"low": 8, "high": 64, "step": 8},
                              "hidden": ["32,32", "64,64"]}, "f.toml: key 'search'")
    assert [d.kind for d in table] == ["float", "int", "choice"]
    assert table[0].corners() == ("0.0001", "0.01") and table[1].corners() == ("8", "64")
