"""``rlbt run sb3:PPO``: Stable-Baselines3 algorithms as rlbt learning strategies."""

from __future__ import annotations

import base64
import io
import json
import math
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

pytest.importorskip("stable_baselines3", reason="the sb3 extra: pip install 'rlbt[sb3]'")

from rlbt.agents.errors import CheckpointError  # noqa: E402
from rlbt.engine.cli import main  # noqa: E402
from rlbt.engine.config import BacktestConfig  # noqa: E402
from rlbt.engine.errors import ConfigError  # noqa: E402
from rlbt.engine.runner import backtest  # noqa: E402
from rlbt.engine.training import episode_steps  # noqa: E402
from rlbt.strategies.sb3_checkpoint import read_policy_state  # noqa: E402

PERIOD = ["--data", "orcl", "--start", "2001-01-01", "--end", "2002-12-31"]
PPO = ["--timesteps", "256", "--episodes", "2", "--param", "n_steps=64",
       "--param", "batch_size=32", "--param", "window=8"]
PPO_PARAMS = {"n_steps": 64, "batch_size": 32, "window": 8}
API = {"start": "2001-01-01", "end": "2002-12-31", "timesteps": 256, "episodes": 2}


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sb3") / "run"
    result = _cli("run", "sb3:PPO", *PERIOD, *PPO, "--commission", "0.001", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_run_writes_a_complete_run_folder(ppo_run: Path) -> None:
    names = {p.name for p in ppo_run.iterdir()}
    assert {"config.json", "metrics.json", "model.pt", "report.png", "training.csv",
            "equity.csv", "actions.csv", "manifest.json"} <= names
    config = json.loads((ppo_run / "config.json").read_text())
    assert config["strategy"] == "sb3:PPO"
    assert config["strategy_params"]["n_steps"] == 64
    assert config["learning"]["test_learning"] == "frozen"  # SB3 never learns online
    assert config["learning"]["timesteps"] == 256
    log = pd.read_csv(ppo_run / "training.csv")
    assert list(log["episode"]) == [1, 2] and log["selected"].sum() == 1
    assert log["timesteps"].iloc[-1] >= 256  # whole rollouts of n_steps
    with zipfile.ZipFile(ppo_run / "model.pt") as archive:
        assert "policy.pth" in archive.namelist()  # SB3's own zip


def test_same_seed_same_metrics_bit_for_bit() -> None:
    first = backtest("sb3:PPO", "orcl", params=PPO_PARAMS, seed=3, **API)
    again = backtest("sb3:PPO", "orcl", params=PPO_PARAMS, seed=3, **API)
    assert first.test.metrics == again.test.metrics
    pd.testing.assert_frame_equal(first.training_log, again.training_log)
    other = backtest("sb3:PPO", "orcl", params=PPO_PARAMS, seed=4, **API)
    assert not other.training_log["return"].equals(first.training_log["return"])


def test_loaded_model_rescores_the_same_test_metrics(ppo_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = _cli("run", "sb3:PPO", *PERIOD, *PPO, "--commission", "0.001", "--episodes", "0",
                  "--load", str(ppo_run / "model.pt"), "--no-report", "--out", str(out))
    assert result.exit_code == 0, result.output
    before = json.loads((ppo_run / "metrics.json").read_text())
    after = json.loads((out / "metrics.json").read_text())
    assert after["test"] == before["test"]
    pd.testing.assert_frame_equal(pd.read_csv(ppo_run / "actions.csv"),
                                  pd.read_csv(out / "actions.csv"))


def test_model_for_another_window_is_refused_in_one_line(ppo_run: Path, tmp_path: Path) -> None:
    result = _cli("run", "sb3:PPO", *PERIOD, "--episodes", "0", "--param", "window=4",
                  "--load", str(ppo_run / "model.pt"), "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "does not fit" in result.stderr and "Traceback" not in result.stderr


class _Evil:
    """Unpickling this creates the marker file: code running on load."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (self.marker, "w")


def _rezip(source: Path, target: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, members.pop(name, old.read(name)))
        for name, data in members.items():
            new.writestr(name, data)
    return target


def test_policy_with_code_in_it_is_refused_and_never_runs(ppo_run: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    buffer = io.BytesIO()
    torch.save({"mlp_extractor.weight": _Evil(marker)}, buffer)
    crafted = _rezip(ppo_run / "model.pt", tmp_path / "evil.zip", **{"policy.pth":
                                                                      buffer.getvalue()})
    with pytest.raises(CheckpointError, match="refused"):
        read_policy_state(crafted)
    result = _cli("run", "sb3:PPO", *PERIOD, *PPO, "--episodes", "0", "--load", str(crafted),
                  "--out", str(tmp_path / "o"))
    assert result.exit_code == 1 and "refused" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_pickled_data_member_is_never_read(ppo_run: Path, tmp_path: Path) -> None:
    """SB3's own load would unpickle ``data``; rlbt's reads only policy.pth."""
    marker = tmp_path / "ran"
    payload = base64.b64encode(pickle.dumps(_Evil(marker))).decode()
    data = json.dumps({"policy_class": {":type:": "x", ":serialized:": payload}}).encode()
    crafted = _rezip(ppo_run / "model.pt", tmp_path / "data.zip", data=data)
    result = _cli("run", "sb3:PPO", *PERIOD, *PPO, "--episodes", "0", "--load", str(crafted),
                  "--no-report", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"not a zip", None])
def test_not_an_sb3_zip_is_refused(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "model.pt"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("data", "{}")
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="SB3 model zip"):
        read_policy_state(path)


def test_lookahead_passes() -> None:
    result = _cli("lookahead", "sb3:PPO", *PERIOD, "--cuts", "2", "--timesteps", "128",
                  "--episodes", "1", "--param", "n_steps=64", "--param", "window=8")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "culprit"), [
    (["sb3:Nope"], "'Nope'"),
    (["sb3:PPO", "--param", "n_step=64"], "Did you mean 'n_steps'"),
    (["sb3:PPO", "--param", "gamma=2"], "--param gamma=2"),
    (["sb3:PPO", "--param", "n_steps=lots"], "--param n_steps='lots'"),
    (["sb3:SAC"], "sb3:SAC"),
    (["sb3:"], "needs an algorithm"),
    (["sb3:nowhere_pkg:Algo"], "nowhere_pkg"),
])
def test_bad_input_is_one_line_naming_the_culprit(
    args: list[str], culprit: str, tmp_path: Path
) -> None:
    name, *rest = args
    result = _cli("run", name, *PERIOD, "--timesteps", "64", *rest, "--out", str(tmp_path / "o"))
    assert result.exit_code == 1, result.output
    assert culprit in result.stderr and "Traceback" not in result.stderr


def test_nope_lists_the_algorithms(tmp_path: Path) -> None:
    result = _cli("run", "sb3:Nope", "--out", str(tmp_path / "o"))
    assert "PPO" in result.stderr and "A2C" in result.stderr and "DQN" in result.stderr


@pytest.mark.parametrize("value", ["0", "-5"])
def test_timesteps_below_one_is_a_usage_error(value: str, tmp_path: Path) -> None:
    result = _cli("run", "sb3:PPO", "--timesteps", value, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "--timesteps" in result.output


def test_timesteps_split_over_the_episodes() -> None:
    assert episode_steps(BacktestConfig(timesteps=10, episodes=3), 100) == [4, 3, 3]
    assert episode_steps(BacktestConfig(episodes=2), 100) == [500, 500]  # 10 per fit bar
    assert episode_steps(BacktestConfig(timesteps=10, episodes=0), 100) == []
    with pytest.raises(ConfigError, match="--timesteps 2 is fewer than --episodes 3"):
        episode_steps(BacktestConfig(timesteps=2, episodes=3), 100)


def test_without_stable_baselines3_the_error_says_how_to_install(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['stable_baselines3'] = None\n"
            "from rlbt.engine.cli import main\n"
            "main(['run', 'sb3:PPO', '--out', sys.argv[1]])\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "pip install 'rlbt[sb3]'" in done.stderr and "Traceback" not in done.stderr


def test_dqn_and_a2c_train_and_say_frozen(tmp_path: Path) -> None:
    for algo, extra in (("DQN", ["--param", "learning_starts=32"]), ("A2C", [])):
        out = tmp_path / algo
        result = _cli("run", f"sb3:{algo}", *PERIOD, "--timesteps", "128", "--episodes", "1",
                      *extra, "--no-report", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert "does not learn online" in result.output
        assert (out / "model.pt").exists()


def test_sweep_over_two_seeds_of_a2c(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = _cli("sweep", "sb3:A2C", "--data", "orcl", "--start", "2002-01-01", "--end",
                  "2002-12-31", "--seeds", "0,1", "--episodes", "1", "--workers", "1",
                  "--timesteps", "64", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "sweep.json").read_text())["spec"]["base"]["timesteps"] == 64
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(runs["seed"]) == [0, 1]
    assert runs["test_sharpe"].notna().all()


def test_ppo_finds_a_planted_edge_out_of_sample() -> None:
    """Known answer: on test_known_answer's planted market (the last return's
    sign persists with p=0.8), PPO trained on the train slice earns far more
    than flat (log return 0) on the held-out test slice, 5 bp costs included."""
    from test_known_answer import COSTS, planted_market

    frame = planted_market(20)
    params = {"window": 4, "n_steps": 256, "batch_size": 64, "ent_coef": 0.01}
    result = backtest("sb3:PPO", frame, seed=20, timesteps=6000, episodes=3, params=params,
                      **COSTS)
    assert math.log1p(result.test.metrics["total_return"]) > 0.5
