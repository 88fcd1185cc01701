"""The hostile-input suite's one harness: drive ``rlbt`` in-process as a user
would and check what a user must get for a mistake or a fault.

Every case asserts the same four things (``assert_refused``):

- the exit code (1 for a user mistake, 2 for click's usage errors, 130 for Ctrl-C);
- no Python traceback anywhere in the output;
- a message that names the culprit (the file, row, column, option or param);
- nothing lost or half-written (``snapshot`` before, ``assert_unchanged`` after,
  and no stray ``.tmp`` file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from rlbt.engine.cli import main


@dataclass
class Outcome:
    """What a user sees: exit code, stdout, stderr; ``exception`` is what escaped."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def cli(*args: str, input: str | None = None) -> Outcome:
    """Run ``rlbt ARGS`` in-process (click's runner), stdout and stderr apart."""
    result = CliRunner().invoke(main, list(args), input=input)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    return Outcome(result.exit_code, result.stdout, result.stderr, escaped)


def assert_refused(outcome: Outcome, *culprits: str, code: int = 1) -> None:
    """Exit ``code``, no traceback, every culprit named (case-insensitive) in the output."""
    text = outcome.output
    assert outcome.exception is None, f"escaped {outcome.exception!r}\n{text}"
    assert "Traceback" not in text, text
    assert outcome.exit_code == code, f"exit {outcome.exit_code}, expected {code}\n{text}"
    for culprit in culprits:
        assert culprit.lower() in text.lower(), f"{culprit!r} not named in:\n{text}"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` with its bytes."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def assert_unchanged(before: dict[str, bytes], root: Path) -> None:
    """Nothing that was there is lost or changed, and no temporary file is left."""
    after = snapshot(root)
    lost = [name for name in before if name not in after]
    changed = [name for name in before if name in after and after[name] != before[name]]
    assert not lost and not changed, f"lost {lost}, changed {changed}"
    stray = [name for name in after if name.endswith(".tmp")]
    assert not stray, f"temporary files left: {stray}"
