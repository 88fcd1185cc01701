"""Writing a run folder: config.json, metrics.json, equity.csv, trades.csv,
actions.csv, orders.csv, training.csv and report.png, each written atomically."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from rlbt.engine.contracts import SavesItself
from rlbt.engine.errors import ConfigError
from rlbt.engine.output.atomic import atomic_path, write_bytes, write_text
from rlbt.engine.output.staging import rlbt_names
from rlbt.engine.results import RunResult
from rlbt.file_target import FileTargetError, check_name_lengths, write_target


def default_run_dir(strategy: str, root: str | Path = "runs") -> Path:
    """``runs/<timestamp>-<strategy>``, made unique if it already exists."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in strategy)
    base = Path(root) / f"{stamp}-{safe}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def check_run_dir(path: str | Path, *, overwrite: bool = False, option: str = "--out") -> Path:
    """Before the run starts: refuse a file, a path under a file, a folder that
    cannot be written, or a non-empty folder unless ``overwrite``. Creates
    nothing (the folder is published whole once the run has succeeded)."""
    out = Path(path)
    try:
        check_name_lengths(out)
    except FileTargetError as exc:
        raise ConfigError(f"{option} {exc}.") from None
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{option} {out}: exists and is not a folder.")
    existing = next(p for p in (out, *out.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise ConfigError(f"{option} {out}: {existing} is a file; no folder can be made in it.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {out}: {existing} is not writable.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(
            f"{option} {out}: folder is not empty; choose a new folder or pass --overwrite."
        )
    if out.is_dir():
        for name in sorted(rlbt_names(out)):  # --overwrite replaces these: regular ones only
            if (out / name).exists() and not ((out / name).is_file() or (out / name).is_dir()):
                raise ConfigError(f"{option} {out}: {name} is not a regular file; "
                                  "refusing to replace it.")
    return out


def check_save_path(path: str | Path | None, out_dir: Path | None = None) -> None:
    """Before the run starts: ``--save`` must name a regular file (or a new one)
    in a folder that exists and is writable, outside the run folder ``out_dir``
    (which is published whole after the run and already holds ``model.pt``)."""
    if path is None:
        return
    try:
        target = write_target(path)  # refuses devices, FIFOs, folders, symlink loops
    except FileTargetError as exc:
        raise ConfigError(f"--save {exc}") from exc
    folder = target.parent
    if out_dir is not None and _within(folder, out_dir):
        raise ConfigError(
            f"--save {path}: is inside the run folder --out {out_dir}, which the run "
            "publishes whole when it ends and which already holds the trained agent as "
            "model.pt; drop --save or save outside the run folder.")
    if not folder.is_dir():
        raise ConfigError(f"--save {path}: folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--save {path}: folder {folder} is not writable.")


def _within(path: Path, folder: Path) -> bool:
    resolved, home = path.resolve(), folder.resolve()
    return resolved == home or home in resolved.parents


def check_load_path(path: str | Path | None) -> None:
    """Before the run starts: ``--load`` must be a regular file (reading a FIFO or
    a device would block or never end)."""
    if path is None:
        return
    source = Path(path)
    try:
        mode = os.stat(source).st_mode
    except FileNotFoundError:
        kind = "a dangling symlink" if source.is_symlink() else "no such file"
        raise ConfigError(f"--load {path}: {kind}.") from None
    except OSError as exc:  # ELOOP, EACCES, ...
        raise ConfigError(f"--load {path}: cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"--load {path}: not a regular file (a folder, FIFO or device).")
    if not os.access(source, os.R_OK):
        raise ConfigError(f"--load {path}: not readable (permission denied).")


ONLINE_MODEL = "model-online.pt"


def write_run(result: RunResult, out: Path) -> list[Path]:
    """Write every file of the run folder (created if needed); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = [
        write_json(out / "config.json", result.config),
        write_json(out / "metrics.json", result.metrics_dict()),
        write_csv(out / "equity.csv", _stack((p.name, p.equity) for p in result.periods)),
        write_csv(out / "trades.csv",
                  _stack(((p.name, p.trades) for p in result.periods), index=False)),
        write_csv(out / "actions.csv", _stack((p.name, p.actions) for p in result.periods)),
        write_csv(out / "orders.csv",
                  _stack(((p.name, p.orders) for p in result.periods), index=False)),
    ]
    for name in sorted({n for period in result.periods for n in period.tables}):
        tables = ((p.name, p.tables[name]) for p in result.periods if name in p.tables)
        written.append(write_csv(out / f"{name}.csv", _stack(tables)))
    if not result.training_log.empty:
        written.append(write_csv(out / "training.csv", result.training_log))
    if result.trained_checkpoint is not None:  # as trained: the test slice never reached it
        write_bytes(out / "model.pt", result.trained_checkpoint)
        written.append(out / "model.pt")
    if result.learning.get("test_learning") == "online" and isinstance(result.agent, SavesItself):
        result.agent.save(out / ONLINE_MODEL)  # after learning on the test slice too
        written.append(out / ONLINE_MODEL)
    return written


def _stack(
    frames: Iterable[tuple[str, pd.DataFrame]], index: bool = True
) -> pd.DataFrame:
    """One table of (period name, frame) pairs, with a ``period`` column first."""
    parts = []
    for name, frame in frames:
        frame = frame.reset_index() if index else frame.copy()
        frame.insert(0, "period", name)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_json(path: Path, payload: Any) -> Path:
    write_text(path, json.dumps(_jsonable(payload), indent=2, allow_nan=False) + "\n")
    return path


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def _jsonable(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, tuples lists, timestamps strings."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)
