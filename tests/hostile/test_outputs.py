"""Where rlbt writes, and what a failed or killed run leaves (issue 14, classes 4, 5, 6
and Ctrl-C's exit code).

Every target is checked before the run starts; a device, FIFO, socket or folder
is never replaced; a symlink is written through; a run folder appears whole
(``manifest.json`` last) or not at all; ``--overwrite`` replaces the previous
run's files and only those.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

from rlbt.engine.output import report

QUICK = ("--data", "orcl", "--end", "2002-12-31")
AS_ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


def _loop(path: Path) -> Path:
    os.symlink(path.with_name("loop-b"), path)
    os.symlink(path, path.with_name("loop-b"))
    return path


def _device(path: Path) -> Path:
    """A character device node like /dev/null (major 1, minor 3), inside tmp_path."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError, OSError):
        pytest.skip("cannot create a device node here")
    return path


SAVE_TARGETS = [
    ("fifo", _fifo, ("FIFO",)),
    ("socket", _socket, ("socket",)),
    ("symlink loop", _loop, ("symlink loop",)),
    ("device", _device, ("character device",)),
    ("link to fifo", lambda p: (_fifo(p.with_name("real-fifo")),
                                os.symlink(p.with_name("real-fifo"), p))[0], ("FIFO",)),
    ("missing folder", lambda p: p.with_name("no-such-folder") / "model.pt", ("does not exist",)),
    ("under a file", lambda p: (p.with_name("afile").write_text("x"),
                                p.with_name("afile") / "model.pt")[1], ("afile",)),
]


@pytest.mark.parametrize(("make", "culprits"), [c[1:] for c in SAVE_TARGETS],
                         ids=[c[0] for c in SAVE_TARGETS])
def test_save_never_replaces_what_is_not_a_regular_file(tmp_path: Path, make, culprits) -> None:
    target = make(tmp_path / "model.pt")
    before = snapshot(tmp_path)
    kinds = {p.name: p.lstat().st_mode for p in tmp_path.iterdir()}
    outcome = cli("run", "dqn", *QUICK, "--episodes", "1", "--no-report",
                  "--save", str(target), "--out", str(tmp_path / "run"))
    assert_refused(outcome, "--save", *culprits)
    assert "buy-and-hold" not in outcome.output  # refused before the run, not after it
    assert {p.name: p.lstat().st_mode for p in tmp_path.iterdir()} == kinds
    assert_unchanged(before, tmp_path)


def test_save_is_refused_for_a_folder_by_click(tmp_path: Path) -> None:
    outcome = cli("run", "dqn", *QUICK, "--save", str(tmp_path), "--out", str(tmp_path / "r"))
    assert_refused(outcome, "--save", "directory", code=2)


def test_save_writes_through_a_symlink_to_its_file(tmp_path: Path) -> None:
    real, link = tmp_path / "real.pt", tmp_path / "link.pt"
    real.write_bytes(b"old")
    link.symlink_to(real)
    outcome = cli("run", "dqn", *QUICK, "--episodes", "1", "--no-report",
                  "--save", str(link), "--out", str(tmp_path / "run"))
    assert outcome.exit_code == 0, outcome.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes()[:2] == b"PK"  # the checkpoint went to the link's target


LOAD_SOURCES = [
    ("fifo", _fifo, ("not a regular file",)),  # reading it would block forever
    ("symlink loop", _loop, ("symbolic links",)),
    ("dangling link", lambda p: (os.symlink(p.with_name("gone"), p), p)[1], ("dangling",)),
    ("missing", lambda p: p, ("no such file",)),
]


@pytest.mark.parametrize(("make", "culprits"), [c[1:] for c in LOAD_SOURCES],
                         ids=[c[0] for c in LOAD_SOURCES])
def test_load_names_a_source_it_cannot_read(tmp_path: Path, make, culprits) -> None:
    source = make(tmp_path / "model.pt")
    outcome = cli("run", "dqn", *QUICK, "--load", str(source), "--out", str(tmp_path / "run"))
    assert_refused(outcome, "--load", *culprits)


def test_load_of_a_device_that_never_ends_is_refused(tmp_path: Path) -> None:
    outcome = cli("run", "dqn", *QUICK, "--load", "/dev/zero", "--out", str(tmp_path / "run"))
    assert_refused(outcome, "--load", "/dev/zero", "not a regular file")


OUT_TARGETS = [
    ("under a file", lambda t: ((t / "afile").write_text("x"), t / "afile" / "run")[1],
     ("afile", "is a file"), 1),
    ("deep under a file", lambda t: ((t / "afile").write_text("x"), t / "afile" / "a" / "b")[1],
     ("afile",), 1),
    ("a file", lambda t: ((t / "afile").write_text("x"), t / "afile")[1], ("afile",), 2),
    ("not empty", lambda t: ((t / "run").mkdir(), (t / "run" / "x.txt").write_text("x"),
                             t / "run")[2], ("--overwrite",), 1),
]


@pytest.mark.parametrize(("make", "culprits", "code"), [c[1:] for c in OUT_TARGETS],
                         ids=[c[0] for c in OUT_TARGETS])
def test_out_is_checked_before_the_run(tmp_path: Path, make, culprits, code: int) -> None:
    out = make(tmp_path)
    before = snapshot(tmp_path)
    outcome = cli("run", "sma-cross", *QUICK, "--out", str(out))
    assert_refused(outcome, *culprits, code=code)
    assert "buy-and-hold" not in outcome.output
    assert_unchanged(before, tmp_path)


@pytest.mark.skipif(AS_ROOT, reason="root may write into a read-only folder")
def test_an_unwritable_out_is_refused_before_the_run(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        outcome = cli("run", "sma-cross", *QUICK, "--out", str(locked / "run"))
    finally:
        locked.chmod(0o700)
    assert_refused(outcome, "--out", "not writable")


def test_overwrite_refuses_to_replace_a_fifo_named_like_an_rlbt_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    _fifo(out / "config.json")
    outcome = cli("run", "sma-cross", *QUICK, "--out", str(out), "--overwrite")
    assert_refused(outcome, "config.json", "not a regular file")
    assert stat.S_ISFIFO((out / "config.json").lstat().st_mode)


def test_overwrite_clears_the_previous_runs_files_and_keeps_the_users(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = cli("run", "dqn", *QUICK, "--episodes", "1", "--no-report", "--out", str(out))
    assert first.exit_code == 0, first.output
    assert (out / "model.pt").exists() and (out / "training.csv").exists()
    (out / "notes.txt").write_text("mine")
    second = cli("run", "sma-cross", *QUICK, "--no-report", "--out", str(out), "--overwrite")
    assert second.exit_code == 0, second.output
    names = {p.name for p in out.iterdir()}
    assert "model.pt" not in names and "training.csv" not in names  # not the old strategy's
    assert (out / "notes.txt").read_text() == "mine"
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json", "notes.txt"}
    assert json.loads((out / "config.json").read_text())["strategy"] == "sma-cross"


def _disk_full(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("when", ["report", "csv"])
def test_a_full_disk_mid_write_leaves_the_previous_run_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    out = tmp_path / "run"
    assert cli("run", "sma-cross", *QUICK, "--out", str(out)).exit_code == 0
    before = snapshot(tmp_path)
    if when == "report":
        monkeypatch.setattr(report.Figure, "savefig", _disk_full)
    else:
        monkeypatch.setattr("pandas.DataFrame.to_csv", _disk_full)
    outcome = cli("run", "sma-cross", *QUICK, "--param", "fast=3", "--out", str(out),
                  "--overwrite")
    assert_refused(outcome, "No space left on device")
    assert_unchanged(before, tmp_path)
    assert not [p for p in tmp_path.rglob("*partial*")], "staging folder left behind"


def test_a_full_disk_on_a_new_folder_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report.Figure, "savefig", _disk_full)
    outcome = cli("run", "sma-cross", *QUICK, "--out", str(tmp_path / "run"))
    assert_refused(outcome, "report.png", "No space left on device")
    assert list(tmp_path.iterdir()) == []


def _interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["rlbt.engine.runner.backtest",
                                   "rlbt.engine.output.run_folder.write_csv"])
def test_ctrl_c_exits_130_and_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    out = tmp_path / "run"
    assert cli("run", "sma-cross", *QUICK, "--no-report", "--out", str(out)).exit_code == 0
    before = snapshot(tmp_path)
    monkeypatch.setattr(where, _interrupt)
    outcome = cli("run", "sma-cross", *QUICK, "--no-report", "--out", str(out), "--overwrite")
    assert_refused(outcome, "Interrupted", code=130)
    assert_unchanged(before, tmp_path)
    assert not [p for p in tmp_path.rglob("*partial*")]


def test_a_walk_forward_folder_is_published_whole(tmp_path: Path) -> None:
    out = tmp_path / "wf"
    outcome = cli("run", "sma-cross", "--data", "orcl", "--walk-forward", "2", "--no-report",
                  "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    manifest = json.loads((out / "manifest.json").read_text())
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert "window-01/metrics.json" in files and "walk_forward.csv" in files


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc: Linux")
def test_kill_9_mid_run_leaves_no_folder_that_looks_complete(tmp_path: Path) -> None:
    """SIGKILL while the run folder is being written: the target is absent or
    complete (its manifest lists exactly what is there), never partial."""
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlbt.engine.cli", "run", "dqn", *QUICK, "--episodes", "1",
         "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline, seen = time.monotonic() + 240, False
    while proc.poll() is None and time.monotonic() < deadline:
        if list(tmp_path.glob(".run.partial-*")):
            seen = True
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=60)
    assert seen, "the staging folder never appeared"
    if out.exists():  # the kill came after the last rename: then it must be whole
        manifest = json.loads((out / "manifest.json").read_text())
        present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
        assert set(manifest["files"]) == present - {"manifest.json"}
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible in ([], ["run"])
