"""Hostile sweep grids (issue 14, class 4 and the sweep item of 12): every
distinct grid point is checked as a run checks it before its first bar, so a
point that would fail (alone or only in combination) is refused once, up
front, naming the point, with nothing written; a key both fixed and swept is
refused naming both; and a run that fails while running is told on stderr,
one line per run, never on stdout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

# Tiny runs: sma-cross on the last 18 months of a bundled dataset (280 train bars).
QUICK = ("--start", "2013-06-01", "--workers", "1")

PLUGINS = '''
from rlbt.engine.errors import ConfigError
from rlbt.strategies.baselines import SmaCross


class Halves(SmaCross):
    """sma-cross that declares a check of its params together: fast <= slow / 2."""

    @classmethod
    def check_params(cls, params):
        merged = cls.with_defaults(params)
        if 2 * merged["fast"] > merged["slow"]:
            raise ConfigError(
                f"--param fast={merged['fast']}, --param slow={merged['slow']}: "
                "fast may be at most half of slow."
            )


class Breaks(SmaCross):
    """sma-cross that fails while running when fast == 8, with a two-line message."""

    def decide(self):
        if self.p.fast == 8:
            raise ConfigError("fast=8 broke\\non its first decision")
        return super().decide()


class Bug(SmaCross):
    """sma-cross with a bug when fast == 8: a 100,000-character ValueError."""

    def decide(self):
        if self.p.fast == 8:
            raise ValueError("x" * 100000)
        return super().decide()
'''


@pytest.fixture
def plugins(tmp_path: Path) -> str:
    path = tmp_path / "plugins.py"
    path.write_text(PLUGINS)
    return str(path)


def _refused_before_anything(tmp_path: Path, args: list[str], culprits: list[str]) -> None:
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    started = time.monotonic()
    outcome = cli("sweep", *args, "--out", str(out))
    assert_refused(outcome, *culprits)
    assert "would fail before the first bar" in outcome.stderr, outcome.output
    assert not out.exists(), "a refused sweep writes no folder"
    assert_unchanged(before, tmp_path)
    assert time.monotonic() - started < 60, "refused only after running"


# --- grid points that would fail: refused up front, each named ------------------------------

POINT_CASES = {
    # the lookback longer than the train slice, alone and beside a good value
    "lookback-longer-than-data": (
        ["--grid", "slow=100000"], ["--grid slow=100000", "280 bars", "100003", "1 of 1"]),
    "one-bad-value-of-two": (
        ["--grid", "slow=20,100000"], ["--grid slow=100000", "1 of 2"]),
    # in combination: slow=300 fails with every fast, so both points are named
    "bad-in-every-combination": (
        ["--grid", "fast=5,10", "--grid", "slow=20,300"],
        ["--grid fast=5, slow=300", "--grid fast=10, slow=300", "2 of 4"]),
    # a run setting that leaves no bars, or a test slice of one bar
    "start-with-no-bars": (
        ["--grid", "start=2013-06-01,2030-01-01"], ["--grid start=2030-01-01", "no bars"]),
    "split-leaving-one-test-bar": (
        ["--grid", "split=0.5,0.999"], ["--grid split=0.999", "1 test bars"]),
    # the same check, per dataset
    "per-dataset": (
        ["--data", "orcl,nvda", "--grid", "slow=20,300"],
        ["--data orcl, --grid slow=300", "--data nvda, --grid slow=300"]),
    # walk-forward: every window's train slice checked
    "walk-forward-window-too-short": (
        ["--walk-forward", "3", "--window-mode", "rolling", "--split", "0.2",
         "--grid", "slow=20,100"], ["--grid slow=100", "window 1"]),
}


@pytest.mark.parametrize(("args", "culprits"), POINT_CASES.values(), ids=POINT_CASES.keys())
def test_failing_grid_point_is_refused_up_front(
    tmp_path: Path, args: list[str], culprits: list[str]
) -> None:
    start = [] if any(a.startswith("start=") for a in args) else list(QUICK[:2])
    _refused_before_anything(tmp_path, ["sma-cross", *start, *QUICK[2:], *args], culprits)


def test_learning_strategy_validation_split_is_checked_per_point(tmp_path: Path) -> None:
    # window=200 leaves too few fit bars after its purge gap: the run would
    # fail in training, after building the agent
    args = ["qtable", *QUICK, "--episodes", "1", "--grid", "window=2,200"]
    _refused_before_anything(tmp_path, args, ["--grid window=200", "--val 0.2", "purge gap"])


def test_strategy_check_of_params_together_is_asked_per_point(
    tmp_path: Path, plugins: str
) -> None:
    args = [f"{plugins}:Halves", *QUICK, "--grid", "fast=5,20", "--grid", "slow=30,60"]
    _refused_before_anything(
        tmp_path, args, ["--grid fast=20, slow=30", "at most half", "1 of 4"]
    )


def test_many_failing_points_are_counted_after_ten(tmp_path: Path) -> None:
    slows = ",".join(str(v) for v in range(300, 320))
    args = ["sma-cross", *QUICK, "--grid", f"slow={slows}"]
    _refused_before_anything(tmp_path, args, ["20 of 20", "--grid slow=309", "and 10 more"])


def test_sma_cross_fast_above_default_slow_is_refused_up_front(tmp_path: Path) -> None:
    args = ["sma-cross", *QUICK, "--grid", "fast=40"]
    _refused_before_anything(tmp_path, args, ["--grid fast=40", "slow=30", "fast < slow"])


def test_sweep_file_grid_failing_in_combination_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text('strategy = "sma-cross"\n[grid]\nfast = [5]\nslow = [3]\n')
    args = ["--config", str(config), *QUICK]
    _refused_before_anything(tmp_path, args, [str(config), "'grid' fast=5, slow=3", "fast < slow"])


# --- a key both fixed and swept: refused naming both ----------------------------------------

OVERLAP_CASES = {
    "file-param-and-grid": (
        "[param]\nfast = 5\n[grid]\nfast = [5, 8]\n", [],
        ["'fast'", "key 'param' (fast=5)", "key 'grid' (fast=5,8)"]),
    "file-param-flag-grid": (
        "[param]\nfast = 5\n", ["--grid", "fast=5,8"], ["'fast'", "key 'param'", "--grid"]),
    "flag-param-and-grid": (
        "", ["--param", "fast=5", "--grid", "fast=5,8"], ["'fast'", "--param", "--grid"]),
    "flag-setting-and-grid": (
        "", ["--commission", "0.001", "--grid", "commission=0,0.01"],
        ["'commission'", "--commission (commission=0.001)", "--grid (commission=0,0.01)"]),
    "file-setting-and-grid": (
        "episodes = 2\n[grid]\nepisodes = [1, 3]\n", [],
        ["'episodes'", "key 'episodes'", "key 'grid'"]),
}


@pytest.mark.parametrize(("text", "args", "culprits"), OVERLAP_CASES.values(),
                         ids=OVERLAP_CASES.keys())
def test_key_both_fixed_and_swept_is_refused(
    tmp_path: Path, text: str, args: list[str], culprits: list[str]
) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text('strategy = "sma-cross"\n' + text)
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    outcome = cli("sweep", "--config", str(config), *QUICK, *args, "--out", str(out))
    assert_refused(outcome, *culprits, "keep it in one of them")
    assert not out.exists()
    assert_unchanged(before, tmp_path)


# --- a run that fails while running: one line on stderr, not on stdout ----------------------


def _failure_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("run ") and "failed" in line]


def _sweep_with_one_failure(tmp_path: Path, target: str) -> tuple[object, Path]:
    out = tmp_path / "sweep"
    outcome = cli("sweep", target, *QUICK, "--grid", "fast=5,8", "--out", str(out))
    # stdout is test_failed_run_is_not_on_stdout's
    assert outcome.exception is None and "Traceback" not in outcome.stderr, outcome.output
    assert outcome.exit_code == 1, outcome.output
    assert len(list((out / "runs").glob("*.json"))) == 2, "both runs recorded"
    return outcome, out


def test_failed_run_is_one_line_on_stderr(tmp_path: Path, plugins: str) -> None:
    outcome, _ = _sweep_with_one_failure(tmp_path, f"{plugins}:Breaks")
    (line,) = _failure_lines(outcome.stderr)  # type: ignore[attr-defined]
    assert "(orcl, seed 0, fast=8) failed: ConfigError: fast=8 broke on its first decision" in line


def test_failed_run_with_a_bug_is_one_clipped_line(tmp_path: Path, plugins: str) -> None:
    outcome, out = _sweep_with_one_failure(tmp_path, f"{plugins}:Bug")
    (line,) = _failure_lines(outcome.stderr)  # type: ignore[attr-defined]
    assert "fast=8) failed: ValueError: xxx" in line and len(line) < 800, line[:200]
    assert "the traceback is in the run's record" in line
    failures = (out / "failures.json").read_text()
    assert "x" * 100000 in failures, "the record keeps the whole error"


@pytest.mark.parametrize(("plugin", "said"), [("Breaks", "broke"), ("Bug", "Traceback")])
def test_failed_run_is_not_on_stdout(tmp_path: Path, plugins: str, plugin: str,
                                     said: str) -> None:
    outcome, _ = _sweep_with_one_failure(tmp_path, f"{plugins}:{plugin}")
    assert said not in outcome.stdout, outcome.stdout  # type: ignore[attr-defined]
