"""Checkpoints: round trips, exact resume, atomic writes, and every bad file."""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pytest
import torch
from envs import IdentityEnv, one_hot, run

from rlbt.agents.base import config_from_json, config_to_json
from rlbt.agents.checkpoint import FORMAT
from rlbt.agents.dqn import DQNAgent, DQNConfig
from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.qtable import QTableAgent, QTableConfig

MakeDQN = Callable[..., DQNAgent]
PROBES = [one_hot(i, 4) for i in range(4)] + list(
    np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
)


def trained_dqn(make_dqn: MakeDQN, steps: int = 200, **overrides: Any) -> DQNAgent:
    agent = make_dqn(**overrides)
    run(agent, IdentityEnv(4, seed=3), steps, explore=True)
    return agent


def greedy(agent: DQNAgent | QTableAgent) -> list[int]:
    return [agent.act(obs, explore=False) for obs in PROBES]


def same_weights(a: DQNAgent, b: DQNAgent) -> bool:
    pairs = [*zip(a.q_network.state_dict().values(), b.q_network.state_dict().values(),
                  strict=True),
             *zip(a.target_network.state_dict().values(),
                  b.target_network.state_dict().values(), strict=True)]
    return all(torch.equal(x, y) for x, y in pairs)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("config", [
    DQNConfig(obs_dim=3, n_actions=2, hidden=(8, 4), max_grad_norm=None, tau=0.01),
    QTableConfig(obs_dim=3, n_actions=2, bins=(-1.0, 0.0, 1.0)),
])
def test_config_json_round_trip(config: DQNConfig | QTableConfig) -> None:
    assert config_from_json(type(config), config_to_json(config)) == config


def test_config_json_rejects_unknown_fields() -> None:
    text = json.dumps({"obs_dim": 2, "n_actions": 2, "hiden": [3]})
    with pytest.raises(AgentError, match="unknown fields \\['hiden'\\]"):
        config_from_json(DQNConfig, text)


@pytest.mark.parametrize("dueling", [False, True])
def test_dqn_round_trip_keeps_greedy_actions(
    make_dqn: MakeDQN, tmp_path: Path, dueling: bool
) -> None:
    agent = trained_dqn(make_dqn, dueling=dueling)
    agent.save(tmp_path / "agent.pt")
    loaded = DQNAgent.from_checkpoint(tmp_path / "agent.pt")
    assert loaded.config == agent.config
    assert greedy(loaded) == greedy(agent)
    assert same_weights(loaded, agent)
    assert (loaded.env_steps, loaded.updates) == (agent.env_steps, agent.updates)
    assert len(loaded.buffer) == 0  # replay memory only on request


def test_qtable_round_trip(tmp_path: Path) -> None:
    agent = QTableAgent(QTableConfig(obs_dim=4, n_actions=4))
    run(agent, IdentityEnv(4), 300, explore=True)
    agent.save(tmp_path / "q.pt")
    loaded = QTableAgent.from_checkpoint(tmp_path / "q.pt", device="cpu")
    with pytest.raises(AgentError, match="CPU only"):
        QTableAgent.from_checkpoint(tmp_path / "q.pt", device="cuda")
    assert np.array_equal(loaded.q_table, agent.q_table)
    assert greedy(loaded) == greedy(agent)
    fresh = QTableAgent(QTableConfig(obs_dim=4, n_actions=4, lr=0.5))
    fresh.load(tmp_path / "q.pt")  # other hyperparameters may differ; the table fits
    assert np.array_equal(fresh.q_table, agent.q_table) and fresh.config.lr == 0.5


def test_one_more_step_after_loading_gives_the_same_weights(
    make_dqn: MakeDQN, tmp_path: Path
) -> None:
    agent = trained_dqn(make_dqn)
    agent.save(tmp_path / "agent.pt", include_replay=True)
    fresh = make_dqn()
    fresh.load(tmp_path / "agent.pt")
    obs, next_obs = one_hot(1, 4), one_hot(2, 4)
    assert agent.observe(obs, 1, 1.0, next_obs, False, False) is not None
    assert fresh.observe(obs, 1, 1.0, next_obs, False, False) is not None
    assert same_weights(fresh, agent)


@pytest.mark.parametrize(("dueling", "prioritized", "n_step"), [
    (False, False, 1), (True, True, 1), (False, True, 3),
])
def test_resume_with_replay_equals_uninterrupted_training(
    make_dqn: MakeDQN, tmp_path: Path, dueling: bool, prioritized: bool, n_step: int
) -> None:
    settings = {"dueling": dueling, "prioritized": prioritized, "n_step": n_step, "seed": 4}
    env = IdentityEnv(4, episode_length=15, seed=9)
    straight = make_dqn(**settings)
    actions_straight, _ = run(straight, env, 300, explore=True)

    env = IdentityEnv(4, episode_length=15, seed=9)
    first = make_dqn(**settings)
    actions_first, _ = run(first, env, 150, explore=True)  # 150 = 10 whole episodes
    first.save(tmp_path / "mid.pt", include_replay=True)
    resumed = DQNAgent.from_checkpoint(tmp_path / "mid.pt")
    actions_rest, _ = run(resumed, env, 150, explore=True)

    assert actions_first + actions_rest == actions_straight
    assert same_weights(resumed, straight)
    assert resumed.optimizer.state_dict()["state"].keys() == straight.optimizer.state_dict()[
        "state"].keys()


def test_file_holds_only_plain_values(make_dqn: MakeDQN, tmp_path: Path) -> None:
    trained_dqn(make_dqn, prioritized=True).save(tmp_path / "agent.pt", include_replay=True)
    payload = torch.load(tmp_path / "agent.pt", weights_only=True)
    assert (payload["format"], payload["version"], payload["kind"]) == (FORMAT, 1, "dqn")
    assert json.loads(payload["config"])["prioritized"] is True

    def check(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                assert isinstance(key, str | int)
                check(item)
        elif isinstance(value, list | tuple):
            for item in value:
                check(item)
        else:
            assert value is None or isinstance(value, torch.Tensor | bool | int | float | str)

    check(payload["state"])
    assert "replay" in payload["state"]


def test_from_checkpoint_can_change_the_device(make_dqn: MakeDQN, tmp_path: Path) -> None:
    trained_dqn(make_dqn, steps=80).save(tmp_path / "agent.pt")
    loaded = DQNAgent.from_checkpoint(tmp_path / "agent.pt", device="cpu")
    assert loaded.device == torch.device("cpu")


# --------------------------------------------------------------------------- bad files


@pytest.fixture
def saved(make_dqn: MakeDQN, tmp_path: Path) -> Path:
    path = tmp_path / "agent.pt"
    trained_dqn(make_dqn, steps=80).save(path)
    return path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        DQNAgent.from_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_or_truncated_file(saved: Path, damage: str) -> None:
    data = saved.read_bytes()
    saved.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00not a zip" * 50,
                       "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="corrupt, truncated") as info:
        DQNAgent.from_checkpoint(saved)
    assert str(saved) in str(info.value)


@pytest.mark.parametrize(("payload", "message"), [
    ({"weights": torch.zeros(2)}, "not an rlbt agent checkpoint"),
    ({"format": "sb3", "state": {}}, "format='sb3'"),
    ([1, 2, 3], "not an rlbt agent checkpoint"),
    ({"format": FORMAT, "version": 99, "kind": "dqn", "config": "{}", "state": {}}, "version 99"),
    ({"format": FORMAT, "version": 1, "kind": "dqn", "config": 3, "state": {}}, "'config'"),
])
def test_file_not_written_by_rlbt(tmp_path: Path, payload: Any, message: str) -> None:
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=message):
        DQNAgent.from_checkpoint(tmp_path / "other.pt")


def test_checkpoint_of_another_kind(tmp_path: Path) -> None:
    QTableAgent(QTableConfig(obs_dim=4, n_actions=4)).save(tmp_path / "q.pt")
    with pytest.raises(CheckpointError, match="holds a 'qtable' agent, expected 'dqn'"):
        DQNAgent.from_checkpoint(tmp_path / "q.pt")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"obs_dim": 5}, "obs_dim"), ({"hidden": (16,)}, "hidden"), ({"dueling": True}, "dueling"),
])
def test_incompatible_config(
    make_dqn: MakeDQN, saved: Path, overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(CheckpointError, match=f"{field}: file has"):
        make_dqn(**overrides).load(saved)


def test_replay_of_another_shape_is_refused(make_dqn: MakeDQN, tmp_path: Path) -> None:
    trained_dqn(make_dqn, steps=80).save(tmp_path / "agent.pt", include_replay=True)
    with pytest.raises(CheckpointError, match="prioritized: file has False"):
        make_dqn(prioritized=True).load(tmp_path / "agent.pt")


def test_state_that_does_not_fit(saved: Path) -> None:
    payload = torch.load(saved, weights_only=True)
    del payload["state"]["optimizer"]
    torch.save(payload, saved)
    with pytest.raises(CheckpointError, match="state does not fit"):
        DQNAgent.from_checkpoint(saved)


class Exploit:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize(("writer", "message"), [
    ("pickle-2", "refused: the file contains code .*GLOBAL io.open"),
    ("pickle-5", "refused: the file contains code"),  # torch stops at the protocol's FRAME
    ("torch", "refused: the file contains code .*GLOBAL io.open"),
])
def test_malicious_pickle_is_refused_without_running_it(
    tmp_path: Path, writer: str, message: str
) -> None:
    marker, path = tmp_path / "pwned", tmp_path / "evil.pt"
    if writer.startswith("pickle"):
        path.write_bytes(pickle.dumps(Exploit(marker), protocol=int(writer[-1])))
    else:
        torch.save({"format": FORMAT, "version": 1, "kind": "dqn", "config": "{}",
                    "state": {"x": Exploit(marker)}}, path)
    with pytest.raises(CheckpointError, match=message) as info:
        DQNAgent.from_checkpoint(path)
    assert str(path) in str(info.value)
    assert "weights_only" not in str(info.value)  # torch's advice to turn safety off is not relayed
    assert not marker.exists()


# --------------------------------------------------------------------------- atomic writes


def failing_save(payload: object, handle: BinaryIO) -> None:
    handle.write(b"PK\x03\x04 half a zip")
    raise OSError("disk full")


def failing_replace(src: str, dst: object) -> None:
    raise OSError("rename refused")


def interrupted_save(payload: object, handle: BinaryIO) -> None:
    handle.write(b"PK\x03\x04")
    raise KeyboardInterrupt


@pytest.mark.parametrize(("target", "name", "stub", "error"), [
    (torch, "save", failing_save, CheckpointError),
    (os, "replace", failing_replace, CheckpointError),
    (torch, "save", interrupted_save, KeyboardInterrupt),
])
def test_an_interrupted_write_keeps_the_old_checkpoint(
    make_dqn: MakeDQN, saved: Path, monkeypatch: pytest.MonkeyPatch,
    target: object, name: str, stub: Callable[..., None], error: type[BaseException],
) -> None:
    before = saved.read_bytes()
    agent = trained_dqn(make_dqn, steps=100, seed=9)
    monkeypatch.setattr(target, name, stub)
    with pytest.raises(error):
        agent.save(saved)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["agent.pt"]  # no temp file left
    assert DQNAgent.from_checkpoint(saved).env_steps == 80


def test_saving_into_a_missing_folder(make_dqn: MakeDQN, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot write checkpoint here"):
        make_dqn().save(tmp_path / "no" / "such" / "agent.pt")
