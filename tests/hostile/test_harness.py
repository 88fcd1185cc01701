"""The harness itself can fail: a traceback, a wrong exit or an unnamed culprit is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import Outcome, assert_refused, assert_unchanged, cli, snapshot


def test_a_named_user_mistake_passes() -> None:
    assert_refused(cli("run", "sma-cros"), "sma-cros")


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(1, "", "Traceback (most recent call last):\n", None),
        Outcome(0, "", "Error: bad", None),
        Outcome(1, "", "Error: something", None),
        Outcome(1, "", "Error: culprit", RuntimeError("escaped")),
    ],
)
def test_the_harness_catches_what_a_user_must_not_see(outcome: Outcome) -> None:
    with pytest.raises(AssertionError):
        assert_refused(outcome, "culprit")


def test_a_lost_or_stray_file_is_caught(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    before = snapshot(tmp_path)
    (tmp_path / ".a.txt.x.tmp").write_text("half")
    with pytest.raises(AssertionError, match="temporary"):
        assert_unchanged(before, tmp_path)
    (tmp_path / ".a.txt.x.tmp").unlink()
    (tmp_path / "a.txt").write_text("b")
    with pytest.raises(AssertionError, match="changed"):
        assert_unchanged(before, tmp_path)
