"""Strategy and agent plugins: discovery by entry point, file and module,
errors that name what was tried, scaffolding, and the look-ahead command."""

from __future__ import annotations

import filecmp
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.cli import main
from rlbt.engine.compat import bt
from rlbt.engine.data.prices import load_prices
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.plugins.loader import PluginImportError
from rlbt.engine.plugins.registry import resolve_strategy
from rlbt.engine.plugins.scaffold import scaffold_strategy
from rlbt.engine.runner import backtest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rlbt-sign-bandit"
ONE_FILE = ROOT / "examples" / "one_file_strategy.py"


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output, result.stderr


def test_example_package_is_what_the_scaffold_writes(tmp_path: Path) -> None:
    made = scaffold_strategy("sign-bandit", tmp_path, agent=True)
    # Ignore what running and installing it leaves behind (all git-ignored).
    ignore = ["__pycache__", ".pytest_cache", ".benchmarks", "build", "rlbt_sign_bandit.egg-info"]
    compare = filecmp.dircmp(made, EXAMPLE, ignore=ignore)
    assert not compare.diff_files and not compare.left_only and not compare.right_only
    for sub in compare.subdirs.values():
        assert not sub.diff_files and not sub.left_only and not sub.right_only


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """pip install the example package for real, into a folder of its own
    (never into the environment running the tests); ``_rlbt`` puts it on the path."""
    target = tmp_path_factory.mktemp("example-site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "--target", str(target),
                    str(EXAMPLE)], check=True, capture_output=True)
    yield target


def _rlbt(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh interpreter, as a user runs it after pip install."""
    env = {**os.environ, "COLUMNS": "200"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-m", "rlbt.engine.cli", *args], capture_output=True,
                          text=True, env=env)


def test_installed_plugin_runs_by_entry_point_name(installed_example: Path, tmp_path: Path) -> None:
    run = _rlbt("run", "sign-bandit", "--episodes", "1", "--start", "2012-01-01",
                "--out", str(tmp_path / "run"), site=installed_example)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run" / "actions.csv").exists()
    listing = _rlbt("strategies", site=installed_example)
    line = next(row for row in listing.stdout.splitlines() if "sign-bandit" in row)
    assert "entry point (rlbt-sign-bandit" in line
    assert "epsilon = 0.1" in _rlbt("strategies", "sign-bandit", site=installed_example).stdout


def test_installed_agent_pairs_with_the_builtin_bridge(
    installed_example: Path, tmp_path: Path
) -> None:
    run = _rlbt("run", "agent", "--param", "agent_class=sign-bandit", "--episodes", "1",
                "--start", "2012-01-01", "--out", str(tmp_path / "run"), site=installed_example)
    assert run.returncode == 0, run.stderr
    assert len((tmp_path / "run" / "training.csv").read_text().splitlines()) == 2


def test_scaffolded_package_passes_its_own_tests(installed_example: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed_example)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=EXAMPLE, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr


def _plain_value(frame, cls, **params):  # type: ignore[no-untyped-def]
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(cls, **params)
    cerebro.run()
    return cerebro.broker.getvalue()


def test_plain_backtrader_file_gives_the_same_value_as_plain_cerebro(tmp_path: Path) -> None:
    spec = f"{ONE_FILE}:RsiReversion"
    code, output, _ = _cli("run", spec, "--commission", "0.001", "--param", "oversold=35",
                           "--out", str(tmp_path / "run"), "--no-report")
    assert code == 0, output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    frame = load_prices("orcl")
    k = int(len(frame) * 0.7)
    cls = resolve_strategy(spec)
    assert metrics["train"]["final_value"] == pytest.approx(
        _plain_value(frame.iloc[:k], cls, oversold=35), rel=1e-12)
    assert metrics["test"]["final_value"] == pytest.approx(
        _plain_value(frame.iloc[k:], cls, oversold=35), rel=1e-12)
    assert metrics["test"]["trades"] > 0
    assert "RsiReversion" not in sys.modules and str(ONE_FILE.parent) not in sys.path


def test_module_class_spec_resolves() -> None:
    assert resolve_strategy("rlbt.strategies.baselines:SmaCross").__name__ == "SmaCross"


def test_unknown_name_lists_known_with_did_you_mean() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'sma-cross'.*Known: .*dqn"):
        resolve_strategy("smacross")


def test_plugin_import_error_shows_its_own_traceback_once(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import backtrader as bt\n\nvalue = 1 / 0\n")
    with pytest.raises(PluginImportError) as info:
        resolve_strategy(f"{broken}:Anything")
    message = str(info.value)
    assert "broken.py" in message and "ZeroDivisionError" in message
    assert message.count("ZeroDivisionError") == 1 and "importlib" not in message
    code, _, stderr = _cli("run", f"{broken}:Anything", "--out", str(tmp_path / "o"))
    assert code == 1 and "failed to import" in stderr and stderr.count("Traceback") == 0


@pytest.mark.parametrize(
    ("source", "spec", "message"),
    [
        ("class NotAStrategy:\n    pass\n", "NotAStrategy", "not a backtrader Strategy"),
        ("x = 1\n", "Missing", "has no attribute 'Missing'"),
    ],
)
def test_wrong_objects_are_explained(tmp_path: Path, source: str, spec: str, message: str) -> None:
    path = tmp_path / "plugin.py"
    path.write_text(source)
    with pytest.raises(ConfigError, match=message):
        resolve_strategy(f"{path}:{spec}")


def test_missing_file_and_module_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere.py not found"):
        resolve_strategy(f"{tmp_path}/nowhere.py:X")
    with pytest.raises(ConfigError, match="no module named 'nopkg'"):
        resolve_strategy("nopkg.mod:X")


def test_agent_plugin_by_file(tmp_path: Path) -> None:
    path = EXAMPLE / "rlbt_sign_bandit" / "agent.py"
    result = backtest("agent", "orcl", start="2012-01-01", episodes=1,
                      params={"agent_class": f"{path}:SignBanditAgent"})
    assert len(result.training_log) == 1
    with pytest.raises(ConfigError, match="agent_class"):
        backtest("agent", "orcl", start="2012-01-01")


def test_lookahead_command_exit_codes(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text(
        "from rlbt.strategies.exposure import ExposureStrategy\n\n"
        "class Leaky(ExposureStrategy):\n"
        "    def decide(self):\n"
        "        if len(self.data) < self.data.buflen():\n"
        "            return int(self.data.close[1] > self.data.close[0])\n"
        "        return 0\n"
    )
    code, output, _ = _cli("lookahead", "sma-cross", "--start", "2012-01-01", "--cuts", "2")
    assert code == 0 and "No look-ahead" in output
    code, _, stderr = _cli("lookahead", f"{leaky}:Leaky", "--start", "2012-01-01", "--cuts", "2")
    assert code == 1 and "Look-ahead in" in stderr and "future replaced" in stderr


def test_new_strategy_refuses_bad_names_and_existing_folders(tmp_path: Path) -> None:
    code, _, stderr = _cli("new", "strategy", "Bad Name", "--dir", str(tmp_path))
    assert code == 1 and "lowercase" in stderr
    assert _cli("new", "strategy", "ok", "--dir", str(tmp_path))[0] == 0
    code, _, stderr = _cli("new", "strategy", "ok", "--dir", str(tmp_path))
    assert code == 1 and "already exists" in stderr


def test_plain_strategy_without_trade_start_runs_in_our_cerebro() -> None:
    frame = load_prices("orcl").iloc[:300]
    cls = resolve_strategy(f"{ONE_FILE}:RsiReversion")
    cerebro = build_cerebro(frame, cls, {}, cash=10_000.0, commission=0.001, slippage=0.0)
    cerebro.run()
    assert cerebro.broker.getvalue() == pytest.approx(_plain_value(frame, cls), rel=1e-12)
