"""The wheel installs one import package, ``rlbt``, and nothing generic beside it."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Built from a copy of the sources: a stale build/ in the checkout never leaks in.
    source = tmp_path_factory.mktemp("source") / "rlbt"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "runs", "examples", "*.egg-info", "__pycache__", ".*_cache"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(source)], check=True, capture_output=True)
    (path,) = out.glob("rlbt-*.whl")
    yield path


def test_wheel_holds_only_rlbt(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"rlbt"}
    for expected in ("rlbt/__init__.py", "rlbt/engine/cli.py", "rlbt/engine/data/orcl.csv",
                     "rlbt/strategies/dqn_strategy.py", "rlbt/agents/replay/buffer.py",
                     "rlbt/agents/fast/dqn_step.py", "rlbt/engine/plugins/templates.py"):
        assert expected in names
    assert not any(n.startswith(("rlbt/tests", "rlbt/benchmarks")) for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rlbt = rlbt.engine.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_sits_beside_another_agents_package(wheel: Path, tmp_path: Path) -> None:
    """An ``agents`` package installed first (as openai-agents does) is left alone."""
    target = tmp_path / "site"
    (target / "agents").mkdir(parents=True)
    (target / "agents" / "__init__.py").write_text("OWNER = 'someone else'\n")
    subprocess.run([*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import agents, rlbt\n"
            "assert agents.OWNER == 'someone else'\n"
            f"assert rlbt.__file__.startswith({str(target)!r}), rlbt.__file__\n"
            "print(rlbt.backtest('sma-cross', 'orcl').test.metrics['sharpe'])\n")
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                         env=env)
    assert run.returncode == 0, run.stderr
    assert math.isfinite(float(run.stdout))
