"""The run folder: every file a run promises, readable back to the numbers of
the result, written atomically, and refused where it would clobber a user's files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import atomic_path, write_text
from rlbt.engine.output.run_folder import check_run_dir, default_run_dir, write_json, write_run
from rlbt.engine.results import RunResult
from rlbt.engine.runner import backtest


@pytest.fixture(scope="module")
def result() -> RunResult:
    return backtest("sma-cross", "orcl", params={"fast": 5, "slow": 20}, commission=0.001)


def test_every_file_reads_back_to_the_result(result: RunResult, tmp_path: Path) -> None:
    written = write_run(result, tmp_path)
    assert sorted(p.name for p in written) == sorted(
        ["config.json", "metrics.json", "equity.csv", "trades.csv", "actions.csv",
         "orders.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["sharpe"] == pytest.approx(result.test.metrics["sharpe"])
    held = metrics["train"]["buy_and_hold"]
    assert held["win_rate"] is None  # NaN (nothing closed) is null in JSON, never 0
    assert held["trades"] == 1 and held["open_trades"] == 1
    assert {k: v for k, v in held.items() if v is not None} == pytest.approx(
        {k: v for k, v in result.train.benchmark.items() if k != "win_rate"})
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["strategy_params"] == {"fast": 5, "slow": 20, "positions": [0.0, 1.0],
                                        "rebalance": None}
    assert config["data_sha256"] == result.config["data_sha256"]
    equity = pd.read_csv(tmp_path / "equity.csv", parse_dates=["datetime"])
    for period in result.periods:
        rows = equity[equity["period"] == period.name]
        assert len(rows) == len(period.equity)
        assert rows["value"].to_numpy() == pytest.approx(period.equity["value"].to_numpy())
    orders = pd.read_csv(tmp_path / "orders.csv")
    assert len(orders) == sum(len(p.orders) for p in result.periods) > 0
    assert set(orders["status"]) == {"Completed"} and metrics["test"]["rejected_orders"] == 0
    assert metrics["annualisation"]["bars_per_year"] == pytest.approx(
        config["annualisation"]["bars_per_year"])
    trades = pd.read_csv(tmp_path / "trades.csv")
    assert (trades["period"] == "test").sum() == len(result.test.trades) > 0


def test_non_finite_numbers_become_null_not_invalid_json(tmp_path: Path) -> None:
    path = write_json(tmp_path / "m.json", {"a": float("nan"), "b": (1, float("inf"))})
    assert json.loads(path.read_text()) == {"a": None, "b": [1, None]}


def test_run_dir_checks(tmp_path: Path) -> None:
    assert check_run_dir(tmp_path / "new") == tmp_path / "new"
    assert not (tmp_path / "new").exists()  # nothing is created before the run succeeds
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty.*--overwrite"):
        check_run_dir(tmp_path / "full")
    assert check_run_dir(tmp_path / "full", overwrite=True) == tmp_path / "full"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        check_run_dir(tmp_path / "file", overwrite=True)


def test_default_run_dirs_never_collide(tmp_path: Path) -> None:
    first = default_run_dir("my/strategy:Cls", tmp_path)
    assert "/" not in first.name and ":" not in first.name
    first.mkdir()
    second = default_run_dir("my/strategy:Cls", tmp_path)
    assert second != first and second.name.startswith(first.name)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["metrics.json"]
    write_text(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["metrics.json"]
