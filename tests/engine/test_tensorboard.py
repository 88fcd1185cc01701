"""``--tensorboard DIR``: live learning curves read back with TensorBoard's own
reader; turning them on changes no result; bad folders are refused first."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from rlbt.engine.errors import ConfigError
from rlbt.engine.output.run_folder import write_run
from rlbt.engine.output.tensorboard_log import TrainingLog, make_run_dir
from rlbt.engine.runner import backtest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

RUN = {"start": "2012-01-01", "episodes": 2}
PER_EPISODE = ("rollout/ep_rew_mean", "eval/val_sharpe", "eval/val_return", "equity/value")


def _scalars(root: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of the one run directory under ``root`` (or of ``root``
    itself when it holds event files)."""
    if any(p.name.startswith("events.") for p in root.iterdir()):
        run_dir = root
    else:
        (run_dir,) = root.iterdir()
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def dqn_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One small DQN run with --tensorboard and the same run without it."""
    logs = tmp_path_factory.mktemp("tb")
    with_log = backtest("dqn", "orcl", tensorboard=str(logs), **RUN)
    without = backtest("dqn", "orcl", **RUN)
    return {"logs": logs, "with": with_log, "without": without}


def test_dqn_writes_per_update_and_per_episode_curves(dqn_runs: dict[str, Any]) -> None:
    series = _scalars(dqn_runs["logs"])
    log = dqn_runs["with"].training_log
    for tag in PER_EPISODE:
        assert [step for step, _ in series[tag]] == [1, 2], tag  # step = episode number
    # the episode figures are the training log's own (float32 in the event file)
    assert [v for _, v in series["rollout/ep_rew_mean"]] == pytest.approx(
        list(log["return"]), rel=1e-6)
    assert [v for _, v in series["eval/val_sharpe"]] == pytest.approx(
        list(log["val_sharpe"]), rel=1e-6)
    bars = int(log["bars"].sum())
    for tag in ("train/loss", "rlbt/q_mean", "rollout/exploration_rate", "train/n_updates",
                "rlbt/skipped_nonfinite", "rlbt/grad_norm"):
        steps = [step for step, _ in series[tag]]
        assert len(steps) >= 4 and steps == sorted(set(steps)), tag  # strictly increasing
        assert steps[0] > 0 and steps[-1] <= bars, tag  # env steps over both episodes
        assert steps[-1] > log["bars"].iloc[0], tag  # episode 2 continues after episode 1
    updates = [v for _, v in series["train/n_updates"]]
    assert updates == sorted(updates) and updates[-1] == log["updates"].iloc[-1]
    assert all(0 <= v <= 1 for _, v in series["rollout/exploration_rate"])
    assert all(v > 0 for _, v in series["rlbt/grad_norm"])  # the norm before clipping


def test_tensorboard_changes_no_result(dqn_runs: dict[str, Any], tmp_path: Path) -> None:
    with_log, without = dqn_runs["with"], dqn_runs["without"]
    write_run(with_log, tmp_path / "a")
    write_run(without, tmp_path / "b")
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (
        tmp_path / "b" / "metrics.json").read_bytes()
    assert with_log.training_log.equals(without.training_log)
    assert with_log.trained_checkpoint == without.trained_checkpoint


def test_a2c_logs_sb3_named_policy_terms(tmp_path: Path) -> None:
    result = backtest("a2c", "orcl", tensorboard=str(tmp_path), **RUN)
    series = _scalars(tmp_path)
    for tag in ("train/policy_gradient_loss", "train/value_loss", "train/entropy_loss",
                "train/loss", "train/n_updates", "rlbt/grad_norm"):
        steps = [step for step, _ in series[tag]]
        assert len(steps) >= 4 and steps == sorted(set(steps)), tag
    # SB3's entropy_loss is minus the entropy (two actions: entropy in (0, ln 2])
    assert all(-math.log(2) - 1e-6 <= v < 0 for _, v in series["train/entropy_loss"])
    assert all(v >= 0 for _, v in series["train/value_loss"])
    assert [step for step, _ in series["episode/entropy"]] == [1, 2]
    assert [v for _, v in series["episode/entropy"]] == pytest.approx(
        list(result.training_log["entropy"]), rel=1e-6)


def _steps_over_both_episodes(series: dict[str, list[tuple[int, float]]], tag: str,
                              bars: list[int]) -> None:
    steps = [step for step, _ in series[tag]]
    assert len(steps) >= 4 and steps == sorted(set(steps)), tag  # strictly increasing
    assert steps[0] > 0 and bars[0] < steps[-1] <= sum(bars), tag


LSTM = {"compare_forest": False, "hidden_size": 8}
SAME_RESULT = [("dqn", {"fast": False}, RUN), ("a2c", {}, RUN),
               ("lstm", LSTM, {"start": "2013-01-01", "episodes": 2})]


@pytest.mark.parametrize(("name", "params", "run"), SAME_RESULT,
                         ids=["dqn-fast=false", "a2c", "lstm"])
def test_grad_norm_logged_and_no_result_changed(tmp_path: Path, name: str,
                                                params: dict[str, Any],
                                                run: dict[str, Any]) -> None:
    logs = tmp_path / "tb"
    with_log = backtest(name, "orcl", tensorboard=str(logs), params=params, **run)
    without = backtest(name, "orcl", params=params, **run)
    write_run(with_log, tmp_path / "a")
    write_run(without, tmp_path / "b")
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (
        tmp_path / "b" / "metrics.json").read_bytes()
    assert with_log.training_log.equals(without.training_log)
    series = _scalars(logs)
    bars = [int(b) for b in with_log.training_log["bars"]]
    for tag in ("rlbt/grad_norm", "train/loss", "train/n_updates"):
        _steps_over_both_episodes(series, tag, bars)
    assert all(v > 0 for _, v in series["rlbt/grad_norm"])


def test_lstm_logs_per_update_and_per_episode(tmp_path: Path) -> None:
    result = backtest("lstm", "orcl", tensorboard=str(tmp_path), params=LSTM,
                      start="2013-01-01", episodes=2)
    series = _scalars(tmp_path)
    bars = [int(b) for b in result.training_log["bars"]]
    for tag in ("rlbt/skipped_nonfinite", "rlbt/skipped_examples"):
        _steps_over_both_episodes(series, tag, bars)
    updates = [v for _, v in series["train/n_updates"]]  # a counter: its last value
    assert updates == sorted(updates) and updates[-1] > updates[0] > 0
    for tag in ("episode/loss", "eval/val_sharpe", "equity/value"):
        assert [step for step, _ in series[tag]] == [1, 2], tag
    assert [v for _, v in series["episode/loss"]] == pytest.approx(
        list(result.training_log["loss"]), rel=1e-6)


def test_sb3_writes_its_own_tags_under_the_run_folder(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    run = {"start": "2001-01-01", "end": "2002-12-31", "timesteps": 512, "episodes": 2,
           "params": {"n_steps": 64, "batch_size": 32, "window": 8}}
    with_log = backtest("sb3:PPO", "orcl", tensorboard=str(tmp_path / "tb"), **run)
    without = backtest("sb3:PPO", "orcl", **run)
    write_run(with_log, tmp_path / "a")
    write_run(without, tmp_path / "b")
    assert (tmp_path / "a" / "metrics.json").read_bytes() == (
        tmp_path / "b" / "metrics.json").read_bytes()
    assert [s for s, _ in _scalars(tmp_path / "tb")["rollout/ep_rew_mean"]] == [1, 2]  # rlbt's
    (run_dir,) = (tmp_path / "tb").iterdir()
    sb3 = _scalars(run_dir / "sb3")  # SB3's own logger, one event file per episode
    assert {"train/loss", "train/value_loss", "train/entropy_loss", "time/fps"} <= set(sb3)
    steps = [step for step, _ in sb3["train/loss"]]
    # PPO's n_steps=64 iterations over both episodes: SB3's own cadence, no step twice
    assert steps == sorted(set(steps)) and steps[0] == 128 and steps[-1] == 512


def test_cli_flag_and_environment_variable(tmp_path: Path) -> None:
    runner = CliRunner()
    logs = tmp_path / "logs"
    args = ["run", "qtable", "--data", "orcl", "--start", "2012-01-01", "--episodes", "1",
            "--no-report"]
    result = runner.invoke(main, [*args, "--tensorboard", str(logs), "--out",
                                  str(tmp_path / "run1")])
    assert result.exit_code == 0, result.output
    assert [step for step, _ in _scalars(logs)["rollout/ep_rew_mean"]] == [1]
    config = json.loads((tmp_path / "run1" / "config.json").read_text())
    assert config["tensorboard"] == str(logs)
    env_logs = tmp_path / "env-logs"
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "run2")],
                           env={"RLBT_TENSORBOARD": str(env_logs)})
    assert result.exit_code == 0, result.output
    assert "train/loss" in _scalars(env_logs)


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("x")
    return path


@pytest.mark.parametrize("where", ["file", "under-file", "unwritable"])
def test_bad_folder_refused_before_the_run(tmp_path: Path, where: str) -> None:
    if where == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere")
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o500)
        target = folder / "logs"
    else:
        target = _file(tmp_path) if where == "file" else _file(tmp_path) / "logs"
    runner = CliRunner()
    out = tmp_path / "out"
    for env, extra in (({}, ["--tensorboard", str(target)]),
                       ({"RLBT_TENSORBOARD": str(target)}, [])):
        result = runner.invoke(main, ["run", "dqn", "--out", str(out), *extra], env=env)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: --tensorboard"), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not out.exists()


def test_python_api_refuses_a_file_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--tensorboard"):
        backtest("dqn", "orcl", tensorboard=str(_file(tmp_path)), **RUN)
    with pytest.raises(ConfigError, match="--tensorboard"):
        backtest("dqn", "orcl", tensorboard="", **RUN)


def test_missing_package_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real(name, *a))
    result = CliRunner().invoke(main, ["run", "dqn", "--tensorboard", str(tmp_path / "tb"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.strip() == ("Error: --tensorboard needs the tensorboard package, "
                                     'which is not installed: pip install "rlbt[tensorboard]".')


def test_param_cannot_set_the_log(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", "dqn", "--param", "tensorboard=x",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    # a runner param, as seed is: not listed, and refused as a strategy param
    assert result.output.startswith("Error: Unknown param of strategy 'dqn' 'tensorboard'")


def test_log_maps_names_and_drops_non_finite(tmp_path: Path) -> None:
    log = TrainingLog(tmp_path)
    log.update(64, {"loss": 0.5, "entropy": 0.25, "q_mean": math.nan, "custom": 2.0})
    log.episode(1, {"episode": 1, "return": 3.0, "bars": 100.0, "loss": math.nan}, 100)
    log.update(10, {"loss": 0.75})  # episode 2: steps continue after episode 1's 100 bars
    log.close()
    acc = EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert tags == {"train/loss", "train/entropy_loss", "rlbt/custom", "rollout/ep_rew_mean"}
    assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [(64, 0.5), (110, 0.75)]
    assert [e.value for e in acc.Scalars("train/entropy_loss")] == [-0.25]


def test_run_directories_never_shared(tmp_path: Path) -> None:
    names = [make_run_dir(tmp_path, "r").name for _ in range(3)]
    assert names == ["r", "r-2", "r-3"]


def test_off_imports_no_tensorboard() -> None:
    code = ("import sys; from rlbt.engine.runner import backtest; "
            "backtest('qtable', 'orcl', start='2012-01-01', episodes=1); "
            "print('tensorboard' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip() == "False"
