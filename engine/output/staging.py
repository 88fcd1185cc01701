"""Publishing a run folder whole, or not at all.

A run (or walk-forward) folder is written into a hidden staging folder beside
its target, ``.<name>.partial-XXXX``, and published only once every file is
in it: renamed onto the target when the target is new or empty, or, with
``--overwrite``, moved in after the previous run's rlbt files are removed
(other files of the user's are kept). ``manifest.json``, the list of the
files rlbt wrote, is published last: a folder with a manifest is complete.

A run that fails or is interrupted removes its staging folder; one killed
with SIGKILL leaves only the hidden ``.partial`` folder, never a folder that
looks finished, and the previous run in the target is untouched either way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rlbt.engine.errors import OutputError
from rlbt.engine.output.atomic import write_text
from rlbt.file_target import give_umask_mode

MANIFEST = "manifest.json"
# What rlbt wrote into run folders before manifests existed: cleared by --overwrite too.
_LEGACY_NAMES = ("config.json", "metrics.json", "equity.csv", "trades.csv", "actions.csv",
                 "orders.csv", "training.csv", "forecasts.csv", "model.pt", "model-online.pt",
                 "report.png", "walk_forward.csv", "stitched_equity.csv", "walk_forward.png")


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success publish it as ``out``.

    The staging folder sits inside ``out`` when that exists (so publishing only
    moves files within it), else beside it (so publishing is one rename).

    :param out: the run folder (checked beforehand by ``check_run_dir``).
    :raises OutputError: when the folder cannot be made or published.
    """
    home = out if out.is_dir() else out.parent
    try:
        home.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=home))
        give_umask_mode(staging, 0o777)
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the run folder: {exc.strerror}") from exc
    try:
        yield staging
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path) -> None:
    """Make ``staging``'s files the run folder ``out``, ``manifest.json`` last."""
    files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    write_text(staging / MANIFEST, json.dumps({"complete": True, "files": files}, indent=2))
    try:
        if staging.parent != out:
            os.replace(staging, out)  # one rename: the folder appears whole
            return
        clear_rlbt_files(out)
        for entry in sorted(staging.iterdir()):
            if entry.name != MANIFEST:
                os.replace(entry, out / entry.name)
        os.replace(staging / MANIFEST, out / MANIFEST)
    except OSError as exc:
        raise OutputError(f"--out {out}: publishing the run folder failed: {exc.strerror}") from exc


def rlbt_names(out: Path) -> set[str]:
    """The entries of ``out`` an earlier rlbt run wrote: its manifest's files, or
    the names rlbt has always written."""
    names = set(_LEGACY_NAMES) | {p.name for p in out.glob("window-[0-9]*") if p.is_dir()}
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError):
        listed = {str(f).split("/")[0] for f in json.loads((out / MANIFEST).read_text())["files"]}
        # a hand-edited manifest never reaches outside the folder ("..", "/", "")
        names |= {n for n in listed if n == Path(n).name and n not in ("", ".", "..")}
    return names | {MANIFEST}


def clear_rlbt_files(out: Path) -> None:
    """Remove what an earlier rlbt run wrote into ``out``; nothing else of the folder."""
    for name in sorted(rlbt_names(out)):
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_file() or path.is_symlink():
            path.unlink()
