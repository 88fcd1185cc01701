"""Hostile inputs and faults of ``rlbt sweep`` (issue 14, classes 1 and 11, and
the sweep items of 10 and 12): every bad flag or sweep-file key is refused
before anything runs or is written, naming the flag or the file and key; a
hand-edited record is ignored with a notice and run again; a worker killed by
a signal costs only its own run; and no worker outlives ``rlbt sweep``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

# Tiny runs: sma-cross on the last 18 months of a bundled dataset.
QUICK = ("--start", "2013-06-01", "--workers", "1")

PLUGIN = '''
import os, signal, time
from pathlib import Path

from rlbt.strategies.baselines import SmaCross


class Fragile(SmaCross):
    """sma-cross that kills its own process (SIGKILL, as the OOM killer would)
    when ``fast == kill_fast`` while the file ``marker`` exists, and that can
    note its pid in the folder ``started`` and then sleep ``nap`` seconds."""

    params = (("kill_fast", 0), ("marker", ""), ("started", ""), ("nap", 0.0))

    def __init__(self):
        super().__init__()
        if self.p.started:
            Path(self.p.started, str(os.getpid())).touch()
        if self.p.fast == self.p.kill_fast and self.p.marker and Path(self.p.marker).exists():
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.p.nap)
'''


def _plugin(tmp_path: Path) -> str:
    path = tmp_path / "fragile.py"
    path.write_text(PLUGIN)
    return f"{path}:Fragile"


# --- bad flags: refused before any run, nothing written ------------------------------------

HUGE_GRID = ",".join(str(v) for v in range(2, 402))

CLI_CASES = {
    "huge-seed-range": (["--seeds", "0-1000000000"], ["--seeds", "100,000"], 1),
    "seed-above-limit": (["--seeds", "4294967296"], ["--seeds", "4294967295"], 1),
    "huge-grid": (
        ["--grid", f"fast={HUGE_GRID}", "--grid", f"slow={HUGE_GRID}"],
        ["160,000", "100,000", "--grid fast"],
        1,
    ),
    "unknown-rank": (["--rank", "sharpee"], ["--rank", "'sharpe'", "sortino"], 1),
    "unknown-grid-key": (["--grid", "fasst=5,8"], ["--grid", "fasst", "'fast'"], 1),
    "empty-grid-item": (["--grid", "fast=5,,8"], ["--grid fast", "empty"], 1),
    "duplicate-grid-value": (["--grid", "fast=5,5"], ["--grid fast", "'5'", "twice"], 1),
    "duplicate-grid-key": (["--grid", "fast=5", "--grid", "fast=8"], ["--grid fast", "twice"], 1),
    "bad-grid-param-value": (["--grid", "fast=5,oops"], ["--grid fast", "oops"], 1),
    "bad-grid-setting-value": (["--grid", "commission=0,-1"], ["--grid commission", "-1"], 1),
    "bad-grid-boolean": (["--grid", "freeze=true,ture"], ["--grid freeze", "ture"], 1),
    "unknown-param": (["--param", "fsat=5"], ["--param", "fsat", "'fast'"], 1),
    "unknown-dataset": (["--data", "orcl,nosuch"], ["nosuch"], 1),
    "empty-dataset-item": (["--data", "orcl,,nvda"], ["--data"], 1),
    "duplicate-dataset": (["--data", "orcl,orcl"], ["--data", "twice"], 1),
}


@pytest.mark.parametrize(("args", "culprits", "code"), CLI_CASES.values(), ids=CLI_CASES.keys())
def test_bad_flag_is_refused_before_anything_runs(
    tmp_path: Path, args: list[str], culprits: list[str], code: int
) -> None:
    out = tmp_path / "out"
    started = time.monotonic()
    outcome = cli("sweep", "sma-cross", *QUICK, "--out", str(out), *args)
    assert_refused(outcome, *culprits, code=code)
    assert not out.exists(), "nothing may be written for a refused sweep"
    assert time.monotonic() - started < 30, "refused only after running or expanding"


def test_unknown_strategy_is_refused_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert_refused(cli("sweep", "sma-cros", *QUICK, "--out", str(out)), "sma-cros", "sma-cross")
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("keep me")
    config = tmp_path / "sweep.toml"
    config.write_text(f'strategy = "sma-cross"\nout = "{target}"\n')
    before = snapshot(tmp_path)
    assert_refused(cli("sweep", "--config", str(config)), str(config), "out", "is a file")
    assert_unchanged(before, tmp_path)


# --- bad sweep files: every key and value checked, naming the file and key -----------------

FILE_CASES = {
    "negative-workers": ("sweep.toml", "workers = -1", ["workers", "x>=1"]),
    "text-seeds": ("sweep.toml", 'seeds = ["a"]', ["seeds", "'a'"]),
    "number-data": ("sweep.toml", "data = 5", ["data", "5"]),
    "misspelt-seed": ("sweep.toml", "seed = 3", ["'seed'", "'seeds'"]),
    "misspelt-episode": ("sweep.toml", "episode = 2", ["'episode'", "'episodes'"]),
    "misspelt-workers": ("sweep.toml", "workrs = 2", ["'workrs'", "'workers'"]),
    "boolean-workers": ("sweep.toml", "workers = true", ["workers", "whole number"]),
    "text-episodes": ("sweep.toml", 'episodes = "two"', ["episodes", "two"]),
    "negative-seed": ("sweep.toml", "seeds = -1", ["seeds", "-1"]),
    "huge-seed-range": ("sweep.toml", 'seeds = "0-1000000000"', ["seeds", "100,000"]),
    "empty-grid-list": ("sweep.toml", "[grid]\nfast = []", ["grid", "fast"]),
    "nested-grid-list": ("sweep.toml", "[grid]\nfast = [[5, 8]]", ["grid", "fast"]),
    "duplicate-grid-value": ("sweep.toml", "[grid]\nfast = [5, 5]", ["grid", "twice"]),
    "grid-not-a-table": ("sweep.toml", 'grid = "fast=5"', ["grid", "table"]),
    "negative-cash": ("sweep.toml", "cash = -5", ["'cash'", "-5"]),
    "text-freeze": ("sweep.toml", 'freeze = "yes"', ["freeze", "true or false"]),
    "unknown-rank": ("sweep.toml", 'rank = "sharpee"', ["'rank'", "'sharpe'"]),
    "unknown-executor": ("sweep.toml", 'executor = "slurm"', ["executor", "slurm"]),
    "zero-walk-forward": ("sweep.toml", "walk_forward = 0", ["walk_forward", "x>=1"]),
    "bad-date": ("sweep.toml", 'start = "someday"', ["'start'", "someday"]),
    "number-strategy": ("sweep.toml", "strategy = 5", ["strategy", "string"]),
    "list-param-value": ("sweep.toml", "[param]\nfast = [1, 2]", ["param", "fast"]),
    "same-option-twice": ("sweep.toml", 'data = "orcl"\ndatasets = "nvda"', ["datasets", "data"]),
    "not-utf8": ("sweep.toml", b"workers = \xff\xfe", ["UTF-8"]),
    "yaml-list": ("sweep.yaml", "- workers: 2", ["mapping", "list"]),
    "yaml-syntax": ("sweep.yaml", "workers: [2", ["YAML"]),
    "yaml-python-tag": ("sweep.yaml", "workers: !!python/object:os.system {}", ["YAML"]),
    "yaml-misspelt-key": ("sweep.yml", "episode: 2", ["'episode'", "'episodes'"]),
}


@pytest.mark.parametrize(("name", "text", "culprits"), FILE_CASES.values(), ids=FILE_CASES.keys())
def test_bad_sweep_file_is_refused_naming_file_and_key(
    tmp_path: Path, name: str, text: str | bytes, culprits: list[str]
) -> None:
    config = tmp_path / name
    head = "" if "strategy" in str(text) else 'strategy = "sma-cross"\n'
    if name.endswith((".yaml", ".yml")):
        head = ""
    body = text if isinstance(text, bytes) else (head + text).encode()
    config.write_bytes(body)
    out = tmp_path / "out"
    before = snapshot(tmp_path)
    outcome = cli("sweep", "sma-cross", "--config", str(config), *QUICK, "--out", str(out))
    assert_refused(outcome, str(config), *culprits)
    assert_unchanged(before, tmp_path)
    assert not out.exists()


# --- hand-edited records: ignored with a notice, run again ---------------------------------


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "sweep"
    outcome = cli("sweep", "sma-cross", *QUICK, "--grid", "fast=5", "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    return out


def _edit_rows(record: dict) -> object:  # type: ignore[type-arg]
    record["rows"] = [1, 2]
    return record


def _edit_sharpe(record: dict) -> object:  # type: ignore[type-arg]
    record["rows"][0]["test_sharpe"] = "high"
    return record


RECORD_EDITS = {
    "not-an-object": (lambda r: [r], "not an object"),
    "missing-rows": (lambda r: {"run_id": r["run_id"], "status": "ok"}, "'error'"),
    "rows-not-objects": (_edit_rows, "row 1"),
    "metric-not-a-number": (_edit_sharpe, "'test_sharpe'"),
    "wrong-status": (lambda r: {**r, "status": 1}, "'status'"),
    "other-run-id": (lambda r: {**r, "run_id": "abc"}, "'run_id'"),
    "not-json": (None, "not valid JSON"),
}


@pytest.mark.parametrize(("edit", "why"), RECORD_EDITS.values(), ids=RECORD_EDITS.keys())
def test_hand_edited_record_is_ignored_and_run_again(
    finished_sweep: Path, tmp_path: Path, edit: object, why: str
) -> None:
    import shutil

    out = tmp_path / "sweep"
    shutil.copytree(finished_sweep, out)
    (path,) = (out / "runs").glob("*.json")
    good = json.loads(path.read_text())
    edited = edit(json.loads(path.read_text())) if callable(edit) else None
    path.write_text(json.dumps(edited) if callable(edit) else '{"run_id": ')
    outcome = cli("sweep", "sma-cross", *QUICK, "--grid", "fast=5", "--out", str(out))
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    notice = " ".join(outcome.stderr.split())
    assert str(path) in notice.replace(" ", "") or path.name in notice, outcome.output
    assert why in notice and "done again" in notice, outcome.output
    assert json.loads(path.read_text())["rows"][0]["test_sharpe"] == good["rows"][0]["test_sharpe"]


# --- faults: a worker killed by a signal, and the parent stopped ---------------------------


def test_killed_worker_costs_only_its_own_run_and_rerun_retries_it(tmp_path: Path) -> None:
    marker = tmp_path / "kill-me"
    marker.touch()
    out = tmp_path / "sweep"
    args = (
        "sweep",
        _plugin(tmp_path),
        *QUICK[:2],
        "--workers",
        "2",
        "--out",
        str(out),
        "--grid",
        "fast=5,8,10",
        "--param",
        "kill_fast=8",
        "--param",
        f"marker={marker}",
    )
    first = cli(*args)
    assert first.exception is None and "Traceback" not in first.output, first.output
    assert first.exit_code == 1, first.output
    records = {p: json.loads(p.read_text()) for p in (out / "runs").glob("*.json")}
    failed = [r for r in records.values() if r["status"] != "ok"]
    assert len(records) == 3 and len(failed) == 1, records
    assert failed[0]["rows"] == [] and "signal 9" in failed[0]["error"]
    assert "SIGKILL" in failed[0]["error"] and "SIGKILL" in first.output
    stamps = {p: p.stat().st_mtime_ns for p, r in records.items() if r["status"] == "ok"}
    marker.unlink()
    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert "2 finished runs" in " ".join(again.output.split())
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items()), "finished runs re-run"
    assert all(json.loads(p.read_text())["status"] == "ok" for p in records)


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not us counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_worker_outlives_a_stopped_sweep(tmp_path: Path, stop: signal.Signals) -> None:
    started = tmp_path / "started"
    started.mkdir()
    out = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "rlbt.engine.cli",
        "sweep",
        _plugin(tmp_path),
        *QUICK[:2],
        "--workers",
        "2",
        "--grid",
        "fast=5,8,10",
        "--param",
        f"started={started}",
        "--param",
        "nap=60",
        "--out",
        str(out),
    ]
    # Output to a file, not a pipe: a surviving worker holding the pipe would block the reading.
    log = tmp_path / "log.txt"
    with log.open("w") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        family = _children(proc.pid)  # the workers and multiprocessing's resource tracker
        workers = {int(p.name) for p in started.iterdir()}
        assert len(workers) == 2 and workers <= family, (workers, family)
        os.kill(proc.pid, stop)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in family if _alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived the sweep: {left}"
    if stop == signal.SIGTERM:
        assert proc.returncode == 130, output
        assert "Traceback" not in output and "Interrupted" in output
