"""Hostile strategy params, run settings and plugins (issue 14, classes 8-10, 12).

Every case is one bad input through the CLI; each must exit 1 (2 for click's
usage errors) with no traceback and name its culprit: the ``--param`` or
option to change, the plugin, the bar counts. Runs use 504 bars of orcl
(2013-2014: a train slice of 352) and one episode; most are refused before
the first bar.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

SMALL = ("--data", "orcl", "--start", "2013-01-01", "--episodes", "1", "--no-report")
NO_FOREST = ("--param", "compare_forest=false")


def run(tmp_path: Path, strategy: str, *args: str) -> object:
    return cli("run", strategy, *SMALL, "--out", str(tmp_path / "run"), *args)


def params(*pairs: str) -> tuple[str, ...]:
    return tuple(arg for pair in pairs for arg in ("--param", pair))


# -- 2, 3, 6: values at the boundary; agent config errors in the user's words --

BAD_VALUES = [
    # strategy, params, culprits
    ("dqn", ("reward_scale=nan",), ("--param reward_scale",)),
    ("dqn", ("obs_scale=inf",), ("--param obs_scale",)),
    ("dqn", ("reward_scale=0",), ("--param reward_scale", "> 0")),
    ("dqn", ("lr=nan",), ("--param lr",)),
    ("dqn", ("max_grad_norm=inf",), ("--param max_grad_norm",)),
    ("dqn", ("rebalance=0",), ("--param rebalance",)),
    ("dqn", ("positions=1,1",), ("--param positions", "all different")),
    ("dqn", ("positions=a,b",), ("--param positions",)),
    ("dqn", ("positions=",), ("--param positions",)),
    ("dqn", ("positions=1",), ("--param positions", "at least 2")),
    ("dqn", ("positions=0,20",), ("--param positions", "[-10, 10]")),
    ("dqn", ("positions=0,,1",), ("--param positions",)),
    ("dqn", ("positions=0,nan",), ("--param positions",)),
    ("dqn", ("hidden=",), ("--param hidden",)),
    ("dqn", ("hidden=0",), ("--param hidden",)),
    ("dqn", ("hidden=-5",), ("--param hidden",)),
    ("dqn", ("hidden=a",), ("--param hidden",)),
    ("dqn", ("hidden=64,1.5",), ("--param hidden",)),
    ("dqn", ("gamma=2",), ("--param gamma",)),
    ("dqn", ("batch_size=0",), ("--param batch_size",)),
    ("dqn", ("window=0",), ("--param window",)),
    ("pg", ("lr=0",), ("--param lr",)),
    ("a2c", ("gamma=-1",), ("--param gamma",)),
    ("qtable", ("window=30",), ("--param window=30",)),
    ("lstm", ("threshold=nan", "compare_forest=false"), ("--param threshold",)),
    ("lstm", ("threshold=-0.1", "compare_forest=false"), ("--param threshold",)),
    ("lstm", ("hidden_size=0", "compare_forest=false"), ("--param hidden_size",)),
    ("lstm", ("horizon=0", "compare_forest=false"), ("--param horizon",)),
    ("lstm", ("pretrain_val=1", "compare_forest=false"), ("--param pretrain_val",)),
    ("lstm", ("forest_trees=0",), ("--param forest_trees",)),
    ("forest", ("trees=0",), ("--param trees",)),
    ("sma-cross", ("fast=0",), ("--param fast",)),
    ("mean-forecast", ("window=0",), ("--param window",)),
]


@pytest.mark.parametrize(
    ("strategy", "pairs", "culprits"),
    BAD_VALUES,
    ids=[f"{s}-{'-'.join(p)}" for s, p, _ in BAD_VALUES],
)
def test_bad_param_value_names_the_param(
    tmp_path: Path, strategy: str, pairs: tuple[str, ...], culprits: tuple[str, ...]
) -> None:
    outcome = run(tmp_path, strategy, *params(*pairs))
    assert_refused(outcome, *culprits)
    assert "Config." not in outcome.output  # no DQNConfig.hidden: the user's words only


# -- 1: windows and lookbacks longer than the slices --------------------------

TOO_LONG = [
    ("dqn", params("window=100000"), ("--param window=100000", "352 bars")),
    ("lstm", params("window_size=100000") + NO_FOREST, ("--param window_size=100000", "352")),
    ("sma-cross", params("slow=100000"), ("--param slow=100000", "352 bars")),
    ("mean-forecast", params("window=5000"), ("--param window=5000", "352 bars")),
    ("dqn", ("--split", "0.05", *params("window=30")), ("--param window=30", "--split", "25")),
    ("dqn", ("--val", "0.5", *params("window=100")), ("--val 0.5", "--param window=100")),
    (
        "dqn",
        (
            "--walk-forward",
            "5",
            "--window-mode",
            "rolling",
            "--split",
            "0.2",
            *params("window=120"),
        ),
        ("window 1", "--walk-forward", "--param window=120"),
    ),
]


@pytest.mark.parametrize(
    ("strategy", "args", "culprits"), TOO_LONG, ids=[f"{s}-{'-'.join(a)}" for s, a, _ in TOO_LONG]
)
def test_lookback_longer_than_a_slice_is_refused_before_the_run(
    tmp_path: Path, strategy: str, args: tuple[str, ...], culprits: tuple[str, ...]
) -> None:
    assert_refused(run(tmp_path, strategy, *args), *culprits)
    assert not (tmp_path / "run" / "metrics.json").exists()


# -- 2, 4: run settings -------------------------------------------------------

SETTINGS = [
    ("dqn", ("--seed", "4294967296"), 2),
    ("lstm", ("--seed", str(2**64), *NO_FOREST), 2),
    ("forest", ("--seed", str(2**63)), 2),
    ("dqn", ("--threads", "100000"), 2),
]


@pytest.mark.parametrize(
    ("strategy", "args", "code"), SETTINGS, ids=[f"{s}{'-'.join(a)}" for s, a, _ in SETTINGS]
)
def test_run_setting_out_of_range_names_the_option(
    tmp_path: Path, strategy: str, args: tuple[str, ...], code: int
) -> None:
    assert_refused(run(tmp_path, strategy, *args), args[0], code=code)


# -- 5: actions returned by plugin code ---------------------------------------

AGENT = """
import numpy as np

class Bad:
    def __init__(self, obs_dim, n_actions, seed):
        pass

    def act(self, obs, explore):
        return {value}

    def observe(self, *args):
        return None
"""

RETURNED = ["5", "-1", "None", "float('nan')", "1.5", "np.array([0, 1])", "'1'", "True"]


@pytest.mark.parametrize("value", RETURNED)
def test_plugin_agent_action_out_of_range_names_class_bar_and_range(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "bad_agent.py"
    path.write_text(AGENT.format(value=value))
    outcome = run(tmp_path, "agent", *params(f"agent_class={path}:Bad"))
    assert_refused(outcome, "Bad.act()", "returned", "0..1", "2013-")


def test_plugin_strategy_decide_out_of_range_is_named(tmp_path: Path) -> None:
    path = tmp_path / "seven.py"
    path.write_text(
        "from rlbt.strategies.exposure import ExposureStrategy\n\n"
        "class Seven(ExposureStrategy):\n"
        "    def decide(self):\n"
        "        return 7\n"
    )
    assert_refused(run(tmp_path, f"{path}:Seven"), "Seven.decide()", "returned 7", "0..1")


def test_plugin_agent_that_raises_when_built_is_named(tmp_path: Path) -> None:
    path = tmp_path / "fragile.py"
    path.write_text(
        "class Fragile:\n"
        "    def __init__(self, obs_dim, n_actions, seed):\n"
        "        raise RuntimeError('no GPU here')\n"
        "    def act(self, obs, explore):\n"
        "        return 0\n"
        "    def observe(self, *args):\n"
        "        return None\n"
    )
    outcome = run(tmp_path, "agent", *params(f"agent_class={path}:Fragile"))
    assert_refused(outcome, "fragile.py:Fragile", "no GPU here")


# -- 8: plugins that exit or fail at import -----------------------------------


@pytest.mark.parametrize("code", ["3", "0", "'bye'"])
def test_plugin_calling_sys_exit_at_import_is_named(tmp_path: Path, code: str) -> None:
    path = tmp_path / "quitter.py"
    path.write_text(f"import sys\nsys.exit({code})\n")
    assert_refused(run(tmp_path, f"{path}:Quitter"), "quitter.py:Quitter", "sys.exit")


@pytest.fixture
def fake_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution (a .dist-info on sys.path) whose entry points
    name a module that is not there and the built-in-looking name ``taken``."""
    info = tmp_path / "site" / "rlbt_ghost-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rlbt-ghost\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[rlbt.strategies]\nghost = rlbt_ghost_missing.strategy:Ghost\n"
        "taken = rlbt_ghost_missing.strategy:Taken\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return tmp_path


def test_entry_point_to_a_missing_module_is_named(fake_plugins: Path) -> None:
    outcome = run(fake_plugins, "ghost")
    assert_refused(outcome, "ghost", "rlbt_ghost_missing", "not installed")


# -- 7: rlbt new strategy -----------------------------------------------------


@pytest.mark.parametrize("name", ["dqn", "sma-cross", "policy-gradient", "agent"])
def test_new_strategy_refuses_a_builtin_name(tmp_path: Path, name: str) -> None:
    before = snapshot(tmp_path)
    assert_refused(cli("new", "strategy", name, "--dir", str(tmp_path)), repr(name), "built-in")
    assert_unchanged(before, tmp_path)
    assert not (tmp_path / f"rlbt-{name}").exists()


def test_new_strategy_refuses_an_installed_plugin_name(fake_plugins: Path) -> None:
    outcome = cli("new", "strategy", "taken", "--dir", str(fake_plugins / "new"))
    assert_refused(outcome, "'taken'", "rlbt-ghost")


@pytest.mark.parametrize("name", ["my-x_", "a--b", "x-", "a_-b"])
def test_new_strategy_refuses_a_malformed_name(tmp_path: Path, name: str) -> None:
    assert_refused(cli("new", "strategy", name, "--dir", str(tmp_path)), repr(name))
    assert list(tmp_path.iterdir()) == []


def test_new_strategy_under_a_file_fails_up_front(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    before = snapshot(tmp_path)
    outcome = cli("new", "strategy", "fine", "--dir", str(tmp_path / "notes.txt" / "sub"))
    assert_refused(outcome, "--dir", "notes.txt")
    assert_unchanged(before, tmp_path)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may write anywhere")
def test_new_strategy_in_an_unwritable_folder_fails_up_front(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        outcome = cli("new", "strategy", "fine", "--dir", str(locked))
        assert_refused(outcome, "--dir", "not writable")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_new_strategy_still_writes_a_whole_package(tmp_path: Path) -> None:
    """The control: a good name writes every file and no staging folder is left."""
    outcome = cli("new", "strategy", "my-idea", "--dir", str(tmp_path))
    assert outcome.exit_code == 0, outcome.output
    root = tmp_path / "rlbt-my-idea"
    assert (root / "rlbt_my_idea" / "strategy.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["rlbt-my-idea"]
    assert "my-idea" in (root / "pyproject.toml").read_text()
