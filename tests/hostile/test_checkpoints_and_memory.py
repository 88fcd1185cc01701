"""Hostile checkpoints and memory bombs (issue 14, classes 2, 3 and the NaN part of 9).

Every crafted file is handed to ``rlbt run ... --load`` as a user would; the run
must refuse it in one line that names the file and what was wrong, never run
code from it, never pass on torch's advice to turn ``weights_only`` off, and
never try to allocate what a stored config or a param asks for.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import assert_refused, cli

from rlbt.agents.memory import memory_budget

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torch's protocol warning


class Exploit:
    """Unpickling this would create the marker file (it must never happen)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


class EvalExploit:
    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, ("__import__('os').getcwd()",))


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real checkpoints of a DQN and a Q-table agent, saved by ``rlbt run --save``."""
    root = tmp_path_factory.mktemp("good")
    paths = {}
    for strategy in ("dqn", "qtable"):
        paths[strategy] = root / f"{strategy}.pt"
        outcome = cli("run", strategy, "--data", "orcl", "--episodes", "1", "--end", "2002-12-31",
                      "--no-report", "--save", str(paths[strategy]), "--out", str(root / strategy))
        assert outcome.exit_code == 0, outcome.output
    return paths


def _payload(path: Path) -> dict[str, Any]:
    return dict(torch.load(path, weights_only=True))


def _with_config(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        config = json.loads(payload["config"])
        config.update(changes)
        return {**payload, "config": json.dumps(config)}

    return change


def _with_weights(value: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def change(payload: dict[str, Any]) -> dict[str, Any]:
        state = dict(payload["state"])
        state["q_network"] = {k: torch.full_like(v, value) for k, v in state["q_network"].items()}
        return {**payload, "state": state}

    return change


# (case, how to make the file from the good DQN checkpoint, what the error must name)
CRAFTED: list[tuple[str, Callable[[Path, Path, Path], None], tuple[str, ...]]] = [
    ("torch-zip os.system", lambda g, p, m: torch.save({"x": Exploit(m)}, p),
     ("refused", "contains code", "system")),
    ("torch legacy os.system",
     lambda g, p, m: torch.save({"x": Exploit(m)}, p, _use_new_zipfile_serialization=False),
     ("refused", "contains code")),
    ("pickle protocol 0", lambda g, p, m: p.write_bytes(pickle.dumps(Exploit(m), protocol=0)),
     ("refused", "contains code")),
    ("pickle protocol 2", lambda g, p, m: p.write_bytes(pickle.dumps(Exploit(m), protocol=2)),
     ("refused", "contains code")),
    ("pickle protocol 4", lambda g, p, m: p.write_bytes(pickle.dumps(Exploit(m), protocol=4)),
     ("refused", "contains code")),
    ("pickle protocol 5", lambda g, p, m: p.write_bytes(pickle.dumps(Exploit(m), protocol=5)),
     ("refused", "contains code")),
    ("builtins.eval", lambda g, p, m: torch.save(EvalExploit(), p), ("refused", "eval")),
    ("exploit inside a real payload",
     lambda g, p, m: torch.save({**_payload(g), "state": {"x": Exploit(m)}}, p),
     ("refused", "contains code")),
    ("empty file", lambda g, p, m: p.write_bytes(b""), ("not a readable checkpoint",)),
    ("garbage", lambda g, p, m: p.write_bytes(b"\x00not a zip" * 50), ("not a readable",)),
    ("text file", lambda g, p, m: p.write_text("hello, world\n" * 20), ("not a readable",)),
    ("truncated", lambda g, p, m: p.write_bytes(g.read_bytes()[: g.stat().st_size // 2]),
     ("not a readable checkpoint",)),
    ("a plain torch dict", lambda g, p, m: torch.save({"w": torch.zeros(3)}, p),
     ("not an rlbt agent checkpoint",)),
    ("a tensor", lambda g, p, m: torch.save(torch.zeros(3), p), ("not an rlbt agent checkpoint",)),
    ("version 99", lambda g, p, m: torch.save({**_payload(g), "version": 99}, p), ("version 99",)),
    ("config not JSON", lambda g, p, m: torch.save({**_payload(g), "config": "{oops"}, p),
     ("config",)),
    ("state not a dict", lambda g, p, m: torch.save({**_payload(g), "state": [1, 2]}, p),
     ("state",)),
    ("config buffer_size=1e11",
     lambda g, p, m: torch.save(_with_config(buffer_size=10**11)(_payload(g)), p),
     ("stored config", "buffer_size=100000000000", "memory")),
    ("config hidden=[1e8]",
     lambda g, p, m: torch.save(_with_config(hidden=[10**8])(_payload(g)), p),
     ("stored config", "hidden", "memory")),
    ("config hidden float",
     lambda g, p, m: torch.save(_with_config(hidden=[1e8])(_payload(g)), p),
     ("stored config", "hidden")),
    ("config obs_dim=1e9",
     lambda g, p, m: torch.save(_with_config(obs_dim=10**9)(_payload(g)), p),
     ("stored config", "obs_dim=1000000000")),
    ("config buffer_size=-5",
     lambda g, p, m: torch.save(_with_config(buffer_size=-5)(_payload(g)), p),
     ("stored config", "buffer_size")),
    ("config unknown field",
     lambda g, p, m: torch.save(_with_config(evil=1)(_payload(g)), p), ("evil",)),
    ("NaN weights", lambda g, p, m: torch.save(_with_weights(float("nan"))(_payload(g)), p),
     ("q_network", "NaN")),
    ("inf weights", lambda g, p, m: torch.save(_with_weights(float("inf"))(_payload(g)), p),
     ("q_network", "infinite")),
]


@pytest.mark.parametrize(("make", "culprits"), [c[1:] for c in CRAFTED],
                         ids=[c[0] for c in CRAFTED])
def test_a_crafted_checkpoint_is_refused_in_one_line(
    good: dict[str, Path], tmp_path: Path, make: Callable[[Path, Path, Path], None],
    culprits: tuple[str, ...],
) -> None:
    path, marker = tmp_path / "crafted.pt", tmp_path / "pwned"
    make(good["dqn"], path, marker)
    outcome = cli("run", "dqn", "--data", "orcl", "--load", str(path), "--episodes", "0",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, str(path), *culprits)
    assert "weights_only" not in outcome.output  # torch's advice to turn safety off
    assert not marker.exists(), "code from the checkpoint ran"
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_of_another_agent_kind_is_named(good: dict[str, Path], tmp_path: Path) -> None:
    outcome = cli("run", "dqn", "--data", "orcl", "--load", str(good["qtable"]),
                  "--episodes", "0", "--out", str(tmp_path / "run"))
    assert_refused(outcome, "qtable", "dqn")


def test_a_zip_that_unpacks_past_the_memory_budget_is_refused_unread(
    good: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "zipbomb.pt"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"format": "rlbt-agent"}))
        archive.writestr("archive/data/0", bytes(64 << 20))  # 64 MiB of zeros, ~64 KiB packed
    path.write_bytes(buffer.getvalue())
    monkeypatch.setenv("RLBT_MEMORY_LIMIT", "32M")
    outcome = cli("run", "dqn", "--data", "orcl", "--load", str(path), "--episodes", "0",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, str(path), "unpacks to 64.0 MiB", "RLBT_MEMORY_LIMIT")


def test_the_same_checkpoint_loads_when_it_is_sound(good: dict[str, Path], tmp_path: Path) -> None:
    """The refusals above are about the damage, not about --load itself."""
    outcome = cli("run", "dqn", "--data", "orcl", "--load", str(good["dqn"]), "--episodes", "0",
                  "--end", "2002-12-31", "--no-report", "--out", str(tmp_path / "run"))
    assert outcome.exit_code == 0, outcome.output


# ------------------------------------------------------------------ memory bombs via params

BOMBS = [
    ("dqn", "hidden=100000000", ("hidden", "memory")),
    ("dqn", "hidden=64,100000000", ("hidden", "memory")),
    ("dqn", "buffer_size=100000000000", ("buffer_size", "memory")),
    ("pg", "hidden=100000000", ("hidden", "memory")),
    ("a2c", "hidden=100000000", ("hidden", "memory")),
    ("a2c", "rollout_bars=100000000000", ("rollout_bars", "memory")),
    ("lstm", "hidden_size=1000000", ("hidden_size", "memory")),
    ("lstm", "memory_size=10000000000", ("memory_size", "memory")),
    ("qtable", "window=40", ("--param window=40", "table rows", "dqn strategy")),  # own cap first
    # the param blamed is the one that drives the estimate, not one left at its default
    ("lstm", "num_layers=100000", ("--param num_layers=100000", "memory")),
    ("lstm", "num_layers=100000 batch_size=1", ("--param num_layers=100000", "memory")),
    ("qtable", f"bins={','.join(str(i / 100) for i in range(100))} window=25",
     ("--param bins=", "--param window=25", "101 bins", "table rows", "dqn strategy")),
    ("qtable", f"bins={','.join(str(i / 100) for i in range(100))} window=2",
     ("--param bins=", "table rows")),
]


@pytest.mark.parametrize(("strategy", "param", "culprits"), BOMBS)
def test_a_param_that_would_exhaust_memory_is_refused_before_allocating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strategy: str, param: str,
    culprits: tuple[str, ...],
) -> None:
    if strategy == "lstm":
        param += " compare_forest=false"  # no forest: only the LSTM's own estimate counts
    # a 100000-layer LSTM with batch_size=1 needs ~17 GiB: a fixed budget keeps it refused
    monkeypatch.setenv("RLBT_MEMORY_LIMIT", "2G")
    params = [arg for item in param.split() for arg in ("--param", item)]
    outcome = cli("run", strategy, "--data", "orcl", *params, "--episodes", "1", "--no-report",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, *culprits)
    for internal in ("Config.", "DQNAgent"):
        assert internal not in outcome.output, outcome.output
    if "num_layers" in param:  # never a param left at its default
        assert "hidden_size" not in outcome.output and "batch_size=" not in outcome.output
    assert not (tmp_path / "run").exists()


def test_a_missing_cuda_device_names_the_option(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    outcome = cli("run", "dqn", "--data", "orcl", "--device", "cuda", "--episodes", "1",
                  "--no-report", "--out", str(tmp_path / "run"))
    assert_refused(outcome, "--device cuda", "use --device cpu")
    assert "device='cpu'" not in outcome.output
    assert not (tmp_path / "run").exists()


def test_rlbt_memory_limit_caps_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLBT_MEMORY_LIMIT", "1M")
    outcome = cli("run", "dqn", "--data", "orcl", "--episodes", "1", "--no-report",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, "buffer_size", "RLBT_MEMORY_LIMIT")


def test_a_malformed_rlbt_memory_limit_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLBT_MEMORY_LIMIT", "lots")
    outcome = cli("run", "dqn", "--data", "orcl", "--episodes", "1", "--no-report",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, "RLBT_MEMORY_LIMIT", "lots")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux")
def test_the_guard_refuses_a_checkpoint_bomb_under_a_low_ulimit(
    good: dict[str, Path], tmp_path: Path
) -> None:
    """A stored config that would fit the machine but not a 3 GiB address-space
    limit is refused by the guard, not by a MemoryError traceback."""
    bomb = tmp_path / "bomb.pt"
    payload = _payload(good["dqn"])
    obs_dim = json.loads(payload["config"])["obs_dim"]
    buffer_size = (4 << 30) // (4 * obs_dim + 28)  # about 4 GiB of replay memory
    torch.save(_with_config(buffer_size=buffer_size)(payload), bomb)
    limit = 3 << 30

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "rlbt.engine.cli", "run", "dqn", "--data", "orcl", "--load",
         str(bomb), "--episodes", "0", "--out", str(tmp_path / "run")],
        preexec_fn=low_limit, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text and "buffer_size" in text and str(bomb) in text, text
    bound = "ulimit" if memory_budget()[0] > 4 << 30 else "memory"
    assert bound in text, text
