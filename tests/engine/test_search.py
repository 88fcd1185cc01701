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
    pruning = json.loads((tmp_path / "sweep.json").read_text())["spec"]["pruning"]
    assert "a rule" in pruning and "no trial is pruned" in pruning and result.pruned == 0


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


# --- pruning (--pruner median|none) -----------------------------------------------------

QTABLE = SweepSpec("qtable", ("orcl",), {}, (0,), dataclasses.replace(BASE, episodes=4))
LR_SPACE = parse_space(["lr=0.01:0.5:log"])
GOOD_LR = 0.05


def _known_scores(cls: type, params: dict, frame: pd.DataFrame, start: pd.Timestamp,
                  config: BacktestConfig, annual: object) -> dict[str, float]:
    """Validation with a known answer: +episode for lr >= GOOD_LR, -episode below
    (qtable still trains for real; only its validation score is replaced)."""
    agent = params["agent"]
    agent.validations = getattr(agent, "validations", 0) + 1  # = the episode validated
    sign = 1.0 if float(params["lr"]) >= GOOD_LR else -1.0
    return {"sharpe": sign * agent.validations, "total_return": sign * agent.validations / 10,
            "volatility": 0.1}


@pytest.fixture
def known(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trials run in this process (one worker) with ``_known_scores`` as validation."""
    from rlbt.engine.sweep import search as search_module
    from rlbt.engine.sweep.runs import execute_run

    def one_by_one(runs: object, workers: int, on_done: object) -> None:
        for run in runs:  # type: ignore[attr-defined]
            on_done(execute_run(run))  # type: ignore[operator]

    monkeypatch.setattr(search_module, "run_local", one_by_one)
    monkeypatch.setattr("rlbt.engine.training.evaluate", _known_scores)


def _expected_states(lrs: list[float]) -> list[tuple[str, int]]:
    """The median rule worked by hand: a trial stops at the first episode e in
    2..3 (n_warmup_steps=2; the last episode is never pruned) where its best score
    so far is below the median of the >= 5 completed trials' scores at e."""
    import statistics

    done: list[list[float]] = []
    states = []
    for lr in lrs:
        curve = [(1.0 if lr >= GOOD_LR else -1.0) * e for e in range(1, 5)]
        stop = next((e for e in (2, 3) if len(done) >= 5
                     and max(curve[:e]) < statistics.median(c[e - 1] for c in done)), None)
        states.append(("PRUNED", stop) if stop else ("COMPLETE", 4))
        if not stop:
            done.append(curve)
    return states


def test_pruning_stops_the_bad_region_early(tmp_path: Path, known: None) -> None:
    result = search(QTABLE, LR_SPACE, tmp_path, trials=12, workers=1)
    table = _trials(tmp_path)
    states = list(zip(table["state"], table["episodes"].astype(int), strict=True))
    assert states == _expected_states([float(v) for v in table["lr"]])
    pruned = table[table["state"] == "PRUNED"]
    assert len(pruned) >= 2 and (pruned["lr"].astype(float) < GOOD_LR).all()
    assert (pruned["episodes"].astype(int) < 4).all()
    assert (table.loc[table["state"] == "COMPLETE", "episodes"] == "4").all()
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["pruned"] == result.pruned == len(pruned)
    assert best["complete"] + best["pruned"] == 12
    assert "MedianPruner" in json.loads((tmp_path / "sweep.json").read_text())["spec"]["pruning"]


def test_pruned_trials_keep_their_curves_in_the_study(tmp_path: Path, known: None) -> None:
    search(QTABLE, LR_SPACE, tmp_path, trials=10, workers=1)
    for trial in _study(tmp_path).trials:
        sign = 1.0 if trial.params["lr"] >= GOOD_LR else -1.0
        steps = trial.user_attrs["episodes"]
        assert trial.intermediate_values == {e: sign * e for e in range(1, steps + 1)}


def test_pruning_repeats_and_resumes(tmp_path: Path, known: None) -> None:
    search(QTABLE, LR_SPACE, tmp_path / "a", trials=12, workers=1)
    search(QTABLE, LR_SPACE, tmp_path / "b", trials=12, workers=1)
    whole = _trials(tmp_path / "a")
    assert "PRUNED" in set(whole["state"])
    pd.testing.assert_frame_equal(whole, _trials(tmp_path / "b"))
    search(QTABLE, LR_SPACE, tmp_path / "c", trials=8, workers=1)
    first = _trials(tmp_path / "c")
    resumed = search(QTABLE, LR_SPACE, tmp_path / "c", trials=12, workers=1)
    assert resumed.skipped == 8
    pd.testing.assert_frame_equal(_trials(tmp_path / "c").head(8), first)  # pruned stay pruned
    pd.testing.assert_frame_equal(_trials(tmp_path / "c"), whole)


def test_pruner_none_prunes_nothing(tmp_path: Path, known: None) -> None:
    result = search(QTABLE, LR_SPACE, tmp_path, trials=10, pruner="none", workers=1)
    table = _trials(tmp_path)
    assert set(table["state"]) == {"COMPLETE"} and set(table["episodes"]) == {"4"}
    assert result.pruned == 0 and (table["val_sharpe"].astype(float) < 0).any()
    assert json.loads((tmp_path / "sweep.json").read_text())["spec"]["pruning"].startswith("none")
    from rlbt.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="other settings"):  # pruning is part of the search
        search(QTABLE, LR_SPACE, tmp_path, trials=11, workers=1)


def test_the_pool_brings_back_each_episodes_validation(tmp_path: Path) -> None:
    """Through a real worker process: the journal holds each trial's per-episode
    validation Sharpe, as the same trial scores them in this process."""
    search(QTABLE, LR_SPACE, tmp_path, trials=2, workers=1)
    for trial in _study(tmp_path).trials:
        run = {"strategy": "qtable", "dataset": "orcl", "seed": 0,
               "grid": {"lr": repr(trial.params["lr"])}, "base": QTABLE.base.to_dict(),
               "objective": "sharpe"}
        row = trial_rows(run)[0]
        assert sorted(trial.intermediate_values.items()) == row["curve"]
        assert trial.value == row["value"] and row["episodes"] == 4 and not row["pruned"]


def _study(out: Path) -> object:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(out / "optuna.journal")))
    return optuna.load_study(study_name="rlbt-search", storage=storage)


def test_the_median_rule_on_known_curves() -> None:
    from rlbt.engine.sweep.search_prune import EpisodePruner

    done = [{"state": "COMPLETE", "value": v, "curve": [(1, v), (2, v), (3, v)]}
            for v in (1.0, 2.0, 3.0, 4.0, 5.0)]  # the median at every episode: 3
    settings = {"pruner": "median", "direction": "maximize", "n_startup_trials": 5,
                "n_warmup_steps": 2, "trials": done}
    low = EpisodePruner(settings, "val_sharpe", episodes=4)
    assert not low(1, {"val_sharpe": 0.0})  # episode 1: warm-up
    assert low(2, {"val_sharpe": 2.5}) and low.pruned  # best so far 2.5 < 3
    high = EpisodePruner(settings, "val_sharpe", episodes=4)
    assert not high(1, {"val_sharpe": 3.5}) and not high(2, {"val_sharpe": 0.0})  # best 3.5
    last = EpisodePruner(settings, "val_sharpe", episodes=2)
    assert not last(1, {"val_sharpe": 0.0}) and not last(2, {"val_sharpe": 0.0})
    few = EpisodePruner({**settings, "trials": done[:4]}, "val_sharpe", episodes=4)
    assert not few(1, {"val_sharpe": 0.0}) and not few(2, {"val_sharpe": -9.0})
