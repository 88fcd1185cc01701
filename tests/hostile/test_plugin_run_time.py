"""A plugin whose own code raises while rlbt runs it (issue 14, review class 1).

The fault is the plugin author's: the CLI exits 1 with one ``Error:`` line
naming the plugin's file, method and line, then the plugin's own frames only
(never click's or backtrader's), its message capped. A failure that does not
pass through a plugin's code is rlbt's bug and keeps its whole traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

SMALL = ("--data", "orcl", "--start", "2013-01-01", "--episodes", "1", "--no-report")
HEAD = "from rlbt.strategies.baselines import SmaCross\n\nclass S(SmaCross):\n"

BODIES = [
    # method body, (culprits)
    ("    def next(self):\n        raise ValueError('plain')\n",
     ("ValueError", "next()", "line 5", "plain")),
    ("    def next(self):\n        raise MemoryError()\n", ("MemoryError", "next()")),
    ("    def next(self):\n        def f():\n            return f()\n        f()\n",
     ("RecursionError", "f()", "outer plugin frames left out")),
    ("    def stop(self):\n        raise KeyError('gone')\n", ("KeyError", "stop()", "gone")),
    ("    def __init__(self):\n        super().__init__()\n        1 / 0\n",
     ("ZeroDivisionError", "__init__()")),
    ("    def next(self):\n        self.undefined_helper()\n",
     ("AttributeError", "undefined_helper")),
]


def _plugin(tmp_path: Path, body: str) -> str:
    path = tmp_path / "mine.py"
    path.write_text(HEAD + body)
    return f"{path}:S"


@pytest.mark.parametrize(("body", "culprits"), BODIES)
def test_a_plugin_raising_while_it_runs_is_named_with_its_own_frames(
    tmp_path: Path, body: str, culprits: tuple[str, ...]
) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    outcome = cli("run", _plugin(tmp_path, body), *SMALL, "--out", str(tmp_path / "run"))
    assert_refused(outcome, "mine.py", *culprits)
    assert "backtrader" not in outcome.stderr and "click" not in outcome.stderr
    assert not (tmp_path / "run").exists()  # the run folder is never published
    assert_unchanged(before, tmp_path)


def test_a_huge_plugin_message_is_capped(tmp_path: Path) -> None:
    body = "    def stop(self):\n        raise ValueError('x' * 100_000)\n"
    outcome = cli("run", _plugin(tmp_path, body), *SMALL, "--out", str(tmp_path / "run"))
    assert_refused(outcome, "mine.py", "stop()", "99,000 more characters")
    assert len(outcome.output) < 3_000


def test_lookahead_names_a_failing_plugin_too(tmp_path: Path) -> None:
    body = "    def next(self):\n        raise ValueError('plain')\n"
    outcome = cli("lookahead", _plugin(tmp_path, body), "--data", "orcl",
                  "--start", "2013-01-01", "--cuts", "1")
    assert_refused(outcome, "mine.py", "next()", "plain")


def test_a_plugin_agent_raising_in_act_is_named(tmp_path: Path) -> None:
    path = tmp_path / "flaky.py"
    path.write_text(
        "class Flaky:\n"
        "    def __init__(self, obs_dim, n_actions, seed):\n"
        "        self.calls = 0\n"
        "    def act(self, obs, explore):\n"
        "        raise RuntimeError('lost my weights')\n"
        "    def observe(self, *args):\n"
        "        return None\n"
    )
    outcome = cli("run", "agent", *SMALL, "--param", f"agent_class={path}:Flaky",
                  "--out", str(tmp_path / "run"))
    assert_refused(outcome, "flaky.py", "act()", "lost my weights")


def test_full_traceback_on_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLBT_TRACEBACK", "1")
    body = "    def next(self):\n        raise ValueError('plain')\n"
    outcome = cli("run", _plugin(tmp_path, body), *SMALL, "--out", str(tmp_path / "run"))
    assert isinstance(outcome.exception, ValueError)  # escapes whole, as Python shows it


def test_an_error_in_rlbt_itself_keeps_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plugin was imported earlier in this process; a failure outside its code
    # must still be reported as rlbt's bug, not blamed on the plugin.
    cli("run", _plugin(tmp_path, "    pass\n"), *SMALL, "--out", str(tmp_path / "ok"))
    from rlbt.engine import runner

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in rlbt")

    monkeypatch.setattr(runner, "backtest", broken)
    outcome = cli("run", "sma-cross", *SMALL, "--out", str(tmp_path / "run"))
    assert isinstance(outcome.exception, RuntimeError)
