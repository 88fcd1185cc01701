"""The CLI as a user drives it (click's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_run_writes_the_full_run_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(main, ["run", "sma-cross", "--data", "orcl", "--out", str(out),
                                  "--commission", "0.001", "--param", "fast=5"])
    assert result.exit_code == 0, result.output
    assert "buy-and-hold" in result.output and "sharpe" in result.output
    names = {p.name for p in out.iterdir()}
    assert names == {"config.json", "metrics.json", "equity.csv", "trades.csv", "actions.csv",
                     "orders.csv", "report.png", "report.html", "manifest.json"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and set(manifest["files"]) == names - {"manifest.json"}
    assert "bars a year (inferred from the data's calendar)" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for period in ("train", "test"):
        assert set(metrics[period]["buy_and_hold"]) <= set(metrics[period])
    config = json.loads((out / "config.json").read_text())
    assert config["commission"] == 0.001 and config["strategy_params"]["fast"] == 5
    assert len(config["data_sha256"]) == 64 and "backtrader" in config["versions"]
    actions = pd.read_csv(out / "actions.csv")
    assert list(actions.columns) == ["period", "datetime", "action", "exposure"]
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "report.html").read_text().count("<script") >= 2  # plotly.js inline, the page
    assert not list(out.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "sma-cros"], "Did you mean 'sma-cross'"),
        (["run", "sma-cross", "--param", "fsat=3"], "Did you mean 'fast'"),
        (["run", "sma-cross", "--param", "fast"], "expected key=value"),
        (["run", "sma-cross", "--split", "1.5"], "--split=1.5"),
        (["run", "sma-cross", "--data", "nope.csv"], "nope.csv"),
        (["run", "sma-cross", "--train-end", "soon"], "--train-end"),
        (["data", "missing.csv"], "missing.csv"),
    ],
)
def test_user_mistakes_exit_1_with_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    if args[0] == "run":
        args = [*args, "--out", str(tmp_path / "out")]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_bad_data_file_names_file_and_row(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,1.5,10\n"
                   "2020-01-02,1,2,0.5,-3,10\n")
    result = runner.invoke(main, ["data", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv" in result.stderr and "close" in result.stderr.lower()
    assert "2020-01-02" in result.stderr


def test_non_empty_out_folder_is_refused_without_overwrite(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(main, ["run", "buy-and-hold", "--out", str(out)])
    assert result.exit_code == 1 and "--overwrite" in result.stderr
    assert (out / "keep.txt").read_text() == "mine"


def test_data_summary_of_bundled_dataset(runner: CliRunner) -> None:
    result = runner.invoke(main, ["data", "orcl"])
    assert result.exit_code == 0, result.output
    assert "5036" in result.output.replace(",", "")
    assert "1995-01-03" in result.output and "2014-12-31" in result.output


def test_strategies_lists_builtins_with_params(runner: CliRunner) -> None:
    result = runner.invoke(main, ["strategies"])
    assert result.exit_code == 0
    for name in ("buy-and-hold", "sma-cross", "mean-forecast"):
        assert name in result.output
    assert "fast=10" in result.output
    one = runner.invoke(main, ["strategies", "sma-cross"])
    assert one.exit_code == 0 and "slow = 30" in one.output and "built-in" in one.output


def test_usage_error_exits_2(runner: CliRunner) -> None:
    assert runner.invoke(main, ["run"]).exit_code == 2


def test_failed_run_leaves_no_folder(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "never"
    result = runner.invoke(main, ["run", "sma-cross", "--data", "nope.csv", "--out", str(out)])
    assert result.exit_code == 1 and not out.exists()


def test_run_help_shows_every_form_of_strategy_name() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for form in ("`rlbt strategies`", "path/to/file.py:Class", "package.module:Class", "sb3:PPO"):
        assert form in text, form
