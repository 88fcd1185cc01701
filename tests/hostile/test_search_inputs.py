"""Hostile inputs of ``rlbt sweep --search optuna``: every bad search space,
trial count or combination is refused with one line naming it, before
anything is written (no sweep folder, no journal)."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import assert_refused, cli

SEARCH = ("sweep", "sma-cross", "--search", "optuna", "--start", "2013-06-01", "--workers", "1")


def _refused(tmp_path: Path, *args: str, culprits: tuple[str, ...], code: int = 1) -> None:
    out = tmp_path / "out"
    outcome = cli(*SEARCH, "--out", str(out), *args)
    assert_refused(outcome, *culprits, code=code)
    error_lines = [line for line in outcome.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1, outcome.output
    assert not out.exists()  # refused before the folder or the journal is made


@pytest.mark.parametrize(
    ("space", "culprits"),
    [
        ("fast=20:5", ("--space 'fast=20:5'", "below high")),
        ("fast=5:5", ("--space 'fast=5:5'", "below high")),
        ("commission=0:0.01:log", ("--space 'commission=0:0.01:log'", "low > 0")),
        ("fast=2:20:log:2", ("takes no step",)),
        ("fast=2:20:40", ("step 40",)),
        ("fast=two:20", ("low 'two' is not a number",)),
        ("fast=3", ("expected LOW:HIGH",)),
        ("fast=3:nan", ("not a finite number",)),
        ("fast=2.5:9:int", ("whole-number",)),
        ("fastest=2:9", ("fastest", "--space")),
        ("fast=a|b", ("--space fast='a'",)),
        ("fast=2:9.5", ("--space fast='2.0'", "integer")),
        ("fast=5|5", ("given twice",)),
    ],
)
def test_a_bad_space_is_named(tmp_path: Path, space: str, culprits: tuple[str, ...]) -> None:
    _refused(tmp_path, "--trials", "3", "--space", space, "--space", "slow=30:60",
             culprits=culprits)


@pytest.mark.parametrize(
    ("args", "culprits"),
    [
        (("--trials", "0"), ("--trials 0", ">= 1")),
        (("--trials", "-3"), ("--trials -3",)),
        ((), ("--trials N",)),
        (("--trials", "3", "--grid", "slow=30,40"), ("--grid", "--space")),
        (("--trials", "3", "--seeds", "0-1"), ("--seeds", "one seed")),
        (("--trials", "3", "--val", "0"), ("--val 0",)),
        (("--trials", "3", "--rank", "sharpish"), ("sharpish",)),
        (("--trials", "3", "--param", "fast=5"), ("'fast'", "--param")),
        (("--trials", "3", "--walk-forward", "2"), ("--walk-forward",)),
    ],
)
def test_bad_search_options_are_named(tmp_path: Path, args: tuple[str, ...],
                                      culprits: tuple[str, ...]) -> None:
    _refused(tmp_path, "--space", "fast=3:20", *args, culprits=culprits)


def test_no_space_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, "--trials", "3", culprits=("search space", "--space"))


def test_search_flags_without_search_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome = cli("sweep", "sma-cross", "--trials", "3", "--out", str(out))
    assert_refused(outcome, "--trials", "--search optuna")
    assert not out.exists()


def test_a_learning_search_on_a_metric_validation_lacks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outcome = cli("sweep", "qtable", "--search", "optuna", "--trials", "2", "--space",
                  "lr=0.1:0.5", "--rank", "sortino", "--out", str(out))
    assert_refused(outcome, "--rank sortino", "sharpe and total_return")
    assert not out.exists()


@pytest.mark.parametrize(
    ("table", "culprits"),
    [
        ("fast = [[5, 8], [9]]", ("key 'fast'", "plain values")),
        ("fast = {low = 5}", ("key 'fast'", "low and high")),
        ("fast = {low = 5, high = 9, lg = true}", ("key 'fast'", "'lg'")),
        ("fast = {low = 5, high = 9, log = 1}", ("key 'fast'", "log must be true or false")),
        ("fast = {low = true, high = 9}", ("key 'fast'", "low must be a number")),
        ("fast = {low = 0, high = 9, log = true}", ("key 'fast'", "low > 0")),
        ("fast = 5", ("key 'fast'", "list of choices")),
        ('fast = ["5", "x"]', ("fast='x'",)),
    ],
)
def test_a_bad_search_table_is_named(tmp_path: Path, table: str,
                                     culprits: tuple[str, ...]) -> None:
    config, out = tmp_path / "search.toml", tmp_path / "out"
    config.write_text(f'strategy = "sma-cross"\ntrials = 2\nstart = "2013-06-01"\n'
                      f'out = "{out}"\n[search]\n{table}\n')
    outcome = cli("sweep", "--config", str(config))
    assert_refused(outcome, *culprits)
    assert not out.exists()


def test_trials_zero_in_a_file_is_named(tmp_path: Path) -> None:
    config, out = tmp_path / "search.toml", tmp_path / "out"
    config.write_text(f'strategy = "sma-cross"\ntrials = 0\nout = "{out}"\n'
                      '[search]\nfast = {low = 3, high = 9}\n')
    assert_refused(cli("sweep", "--config", str(config)), "'trials'", ">= 1")
    assert not out.exists()
