"""``rlbt run dqn`` / ``qtable`` as a user drives them: run folder, save, load."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main

SMALL = ["--data", "orcl", "--start", "2011-01-01", "--param", "hidden=16",
         "--param", "warmup=64", "--param", "window=4"]


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["run", "dqn", *SMALL, *args])
    return result.exit_code, result.output, result.stderr


def test_dqn_run_writes_model_training_log_and_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output, _ = _run(["--episodes", "2", "--out", str(out)])
    assert code == 0, output
    assert {"model.pt", "training.csv", "report.png", "metrics.json"} <= {
        p.name for p in out.iterdir()
    }
    log = pd.read_csv(out / "training.csv")
    assert list(log["episode"]) == [1, 2]
    assert {"return", "loss", "epsilon", "q_mean"} <= set(log.columns)
    assert json.loads((out / "config.json").read_text())["episodes"] == 2


def test_saved_model_evaluates_with_zero_episodes(tmp_path: Path) -> None:
    model = tmp_path / "agent.pt"
    code, output, _ = _run(["--episodes", "1", "--freeze", "--save", str(model),
                            "--out", str(tmp_path / "a")])
    assert code == 0, output
    assert model.exists()
    code, output, _ = _run(["--episodes", "0", "--freeze", "--load", str(model),
                            "--out", str(tmp_path / "b")])
    assert code == 0, output
    first = pd.read_csv(tmp_path / "a" / "actions.csv")
    again = pd.read_csv(tmp_path / "b" / "actions.csv")
    pd.testing.assert_frame_equal(first, again)
    assert not (tmp_path / "b" / "training.csv").exists()


def test_corrupt_checkpoint_is_one_line_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, stderr = _run(["--episodes", "0", "--load", str(bad), "--out", str(tmp_path / "o")])
    assert code == 1 and "bad.pt" in stderr and "Traceback" not in stderr


def test_checkpoint_for_another_window_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "agent.pt"
    assert _run(["--episodes", "1", "--save", str(model), "--out", str(tmp_path / "a")])[0] == 0
    code, _, stderr = _run(["--episodes", "0", "--load", str(model), "--param", "window=8",
                            "--out", str(tmp_path / "b")])
    assert code == 1 and "window" in stderr


def test_cuda_when_absent_is_a_clear_error(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, stderr = _run(["--device", "cuda", "--out", str(tmp_path / "o")])
    assert code == 1 and "cuda" in stderr.lower()


def test_short_positions_are_a_param(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output, _ = _run(["--episodes", "1", "--param", "positions=0,1,-1", "--out", str(out)])
    assert code == 0, output
    actions = pd.read_csv(out / "actions.csv")
    assert set(actions["exposure"]) == {0.0, 1.0, -1.0}
    equity = pd.read_csv(out / "equity.csv")
    assert (equity["position"] < 0).any()
