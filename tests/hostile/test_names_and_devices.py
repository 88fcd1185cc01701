"""Names the file system cannot hold, --save inside the run folder, --device
for strategies without a torch device, and forests too big to fit (issue 14,
review classes 2, 5 and 12).

Each is refused before the run starts, naming the option or param, with
nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

SMALL = ("--data", "orcl", "--start", "2013-01-01", "--episodes", "1", "--no-report")
LONG = "b" * 300


@pytest.mark.parametrize(
    ("where", "culprits"),
    [
        (lambda t: ("--out", str(t / LONG)), ("--out", "300 bytes", "255 per name")),
        (lambda t: ("--out", str(t / LONG / "run")), ("--out", "300 bytes")),
        # the last name leaves room for the temporary sibling rlbt writes first
        (lambda t: ("--out", str(t / ("c" * 240))), ("--out", "240 bytes", "temporary")),
        (lambda t: ("--save", str(t / f"{LONG}.pt"), "--out", str(t / "run")),
         ("--save", "303 bytes")),
    ],
)
def test_a_name_too_long_for_the_file_system_is_refused(
    tmp_path: Path, where, culprits: tuple[str, ...]
) -> None:
    before = snapshot(tmp_path)
    outcome = cli("run", "dqn", *SMALL, *where(tmp_path))
    assert_refused(outcome, *culprits)
    assert "buy-and-hold" not in outcome.output  # refused before the run
    assert_unchanged(before, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_long_name_under_the_limit_still_works(tmp_path: Path) -> None:
    out = tmp_path / ("d" * 200)
    outcome = cli("run", "sma-cross", *SMALL, "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    assert (out / "manifest.json").is_file()


def test_new_strategy_refuses_a_name_too_long(tmp_path: Path) -> None:
    outcome = cli("new", "strategy", "a" * 300, "--dir", str(tmp_path))
    assert_refused(outcome, "300 characters", "at most 64")
    assert list(tmp_path.iterdir()) == []


def test_new_strategy_refuses_a_dir_with_a_name_too_long(tmp_path: Path) -> None:
    outcome = cli("new", "strategy", "fine", "--dir", str(tmp_path / LONG))
    assert_refused(outcome, "--dir", "300 bytes")
    assert list(tmp_path.iterdir()) == []


def test_save_inside_the_run_folder_is_refused_with_the_reason(tmp_path: Path) -> None:
    out = tmp_path / "run"
    outcome = cli("run", "dqn", *SMALL, "--save", str(out / "model.pt"), "--out", str(out))
    assert_refused(outcome, "--save", "inside the run folder", "model.pt")
    assert not out.exists()


@pytest.mark.parametrize("strategy", ["sma-cross", "buy-and-hold", "qtable", "forest"])
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_device_is_refused_where_no_torch_device_is_used(
    tmp_path: Path, strategy: str, device: str
) -> None:
    outcome = cli("run", strategy, *SMALL, "--device", device, "--out", str(tmp_path / "r"))
    assert_refused(outcome, f"--device {device}", strategy, "drop --device")
    assert not (tmp_path / "r").exists()


def test_device_cpu_is_accepted_everywhere(tmp_path: Path) -> None:
    outcome = cli("run", "sma-cross", *SMALL, "--device", "cpu", "--out", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output


@pytest.mark.parametrize(
    ("strategy", "pair"),
    [("forest", "trees=100000000"), ("lstm", "forest_trees=100000000")],
)
def test_forest_size_is_bounded(tmp_path: Path, strategy: str, pair: str) -> None:
    outcome = cli("run", strategy, *SMALL, "--param", pair, "--out", str(tmp_path / "r"))
    assert_refused(outcome, f"--param {pair}", "[1, 10000]")


def test_a_forest_that_cannot_fit_in_memory_is_refused_before_fitting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sklearn")
    monkeypatch.setenv("RLBT_MEMORY_LIMIT", "20M")
    outcome = cli("run", "forest", *SMALL, "--param", "trees=5000", "--out", str(tmp_path / "r"))
    assert_refused(outcome, "--param trees=5000", "training windows", "choose fewer trees")
    assert not (tmp_path / "r").exists()
