"""Live learning curves (``--tensorboard DIR``): TensorBoard event files written
while the agent trains, one run directory ``DIR/<run>`` per run.

Written with the ``tensorboard`` package's own event writer and summary protos,
not ``torch.utils.tensorboard``: the engine never imports torch. The package is
imported only when a log is opened, so a run without ``--tensorboard`` pays
nothing. Tags follow Stable-Baselines3 where the figure is the same
(``train/loss``, ``rollout/exploration_rate``, ...); rlbt's own figures go
under ``rlbt/``, ``eval/``, ``episode/`` and ``equity/``.

Steps: per-update scalars (means over the updates of each chunk of bars) are
at the env step, the training bars seen so far over all episodes; per-episode
scalars are at the episode number (1, 2, ...).

The files are live, so they are not part of the staged run folder: a run that
fails or is interrupted leaves the event files it wrote so far (that is what a
live log is for).
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.run_folder import check_run_dir

OPTION = "--tensorboard"
EXTRA = 'pip install "rlbt[tensorboard]"'
FLUSH_SECS = 5
"""The writer's own flush interval: a live curve lags by at most this (and an
episode's end flushes at once)."""

UPDATE_TAGS = {
    "loss": "train/loss",
    "value_loss": "train/value_loss",
    "policy_loss": "train/policy_gradient_loss",
    "entropy": "train/entropy_loss",
    "epsilon": "rollout/exploration_rate",
    "updates": "train/n_updates",
    "q_mean": "rlbt/q_mean",
    "skipped_nonfinite": "rlbt/skipped_nonfinite",
    "grad_norm": "rlbt/grad_norm",
}
"""Agent learn-stat name -> tag; a name not here is logged as ``rlbt/<name>``."""
NEGATED = frozenset({"entropy"})
"""SB3's ``train/entropy_loss`` is minus the entropy; logged the same way."""
EPISODE_TAGS = {
    "return": "rollout/ep_rew_mean",  # the episode's return (one episode per point)
    "val_sharpe": "eval/val_sharpe",
    "val_return": "eval/val_return",
    "final_value": "equity/value",
}
"""Episode-row name -> tag; another figure is logged as ``episode/<name>``."""
_NOT_LOGGED = frozenset({"episode", "bars", "selected"})


def check_tensorboard(path: str | os.PathLike[str]) -> Path:
    """Before the run: ``path`` must be a folder rlbt can create or write in,
    and the ``tensorboard`` package must be installed. Creates nothing.

    :raises ConfigError: naming ``--tensorboard`` (or the extra to install).
    """
    folder = check_run_dir(os.fspath(path), overwrite=True, option=OPTION)  # holds many runs
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(f"{OPTION} needs the tensorboard package, which is not installed: "
                          f"{EXTRA}.")
    return folder


def run_name(strategy: type, seed: int) -> str:
    """``<timestamp>-<strategy>-seed<N>``, e.g. ``20250102-093000-dqn-seed0``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    short = strategy.__name__.removesuffix("Strategy").lower() or "run"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in short)
    return f"{stamp}-{safe}-seed{seed}"


def make_run_dir(root: Path, name: str) -> Path:
    """A new folder ``root/name`` (``name-2``, ``name-3``, ... when taken): made
    atomically, so parallel sweep cells never share one."""
    root.mkdir(parents=True, exist_ok=True)
    path, n = root / name, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1
            path = root / f"{name}-{n}"


class TrainingLog:
    """The event file of one run; ``update`` and ``episode`` add scalars."""

    def __init__(self, folder: Path) -> None:
        try:
            from tensorboard.compat.proto.event_pb2 import Event
            from tensorboard.compat.proto.summary_pb2 import Summary
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError as exc:
            raise ConfigError(f"{OPTION} needs the tensorboard package ({exc}): {EXTRA}.") from exc
        self.folder = folder
        self._event, self._summary = Event, Summary
        self._writer = EventFileWriter(str(folder), flush_secs=FLUSH_SECS)
        self._offset = 0  # env steps of the finished episodes

    def update(self, bars: int, stats: Mapping[str, float]) -> None:
        """Per-update figures at env step (bars of earlier episodes + ``bars``)."""
        values = {}
        for key, value in stats.items():
            tag = UPDATE_TAGS.get(key, f"rlbt/{key}")
            values[tag] = -value if key in NEGATED else value
        self._write(self._offset + bars, values)

    def episode(self, episode: int, row: Mapping[str, Any], bars: int) -> None:
        """Per-episode figures at step ``episode``; flushed, so they show at once."""
        values = {EPISODE_TAGS.get(key, f"episode/{key}"): value for key, value in row.items()
                  if key not in _NOT_LOGGED}
        self._write(episode, values)
        self._offset += bars
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()

    def _write(self, step: int, values: Mapping[str, Any]) -> None:
        # a NaN (no update yet) would draw as a gap or a spike: such points are left out
        kept = [self._summary.Value(tag=tag, simple_value=float(value))
                for tag, value in values.items() if _finite(value)]
        if kept:
            self._writer.add_event(self._event(wall_time=time.time(), step=int(step),
                                               summary=self._summary(value=kept)))


def _finite(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def open_training_log(root: str | os.PathLike[str], strategy: type, seed: int,
                      name: str | None = None) -> TrainingLog:
    """The log of this run under ``root`` (``name``, else ``run_name``)."""
    folder = check_tensorboard(root)
    try:
        return TrainingLog(make_run_dir(folder, name or run_name(strategy, seed)))
    except OSError as exc:
        raise ConfigError(f"{OPTION} {root}: cannot write there ({exc.strerror or exc}).") from exc
