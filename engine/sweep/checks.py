"""Checks of a whole sweep before its first run: what would otherwise fail
every run (an unknown strategy, grid key or rank metric, a grid value of the
wrong type, unusable data) is refused once, naming the option or file key;
then every grid point is checked as a run checks it (``grid_points.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from rlbt.engine.errors import ConfigError, DataError, RlbtError, UnknownNameError
from rlbt.engine.metrics import METRIC_KEYS
from rlbt.engine.sweep.grid_points import FrameCache, check_grid_points
from rlbt.engine.sweep.spec import CONFIG_KEYS, SweepSpec, check_grid_setting


def check_rank(rank: str, label: str = "--rank") -> None:
    """``rank`` must be a metric that every run has for the test slice and buy-and-hold."""
    if rank not in METRIC_KEYS:
        raise UnknownNameError(f"metric for {label}", rank, METRIC_KEYS)


def check_runnable(spec: SweepSpec, labels: Mapping[str, str], *, points: bool = True) -> None:
    """Resolve the strategy, check ``--param`` and every grid key and value the
    way each run would, load every dataset once, then check every grid point.

    :param labels: how the user gave each option (``--grid`` or a file key), by name.
    :param points: check every grid point; else only the point without grid values
        (a search: its values are drawn later, and a failing draw is a failed trial).
    """
    from rlbt.engine.params import coerce_params
    from rlbt.engine.plugins.registry import resolve_strategy, strategy_params

    if spec.base.tensorboard is not None:  # a flag was checked as read; a file key is not
        from rlbt.engine.output.tensorboard_log import check_tensorboard

        try:
            check_tensorboard(spec.base.tensorboard)
        except ConfigError as exc:
            raise _named(exc, labels.get("tensorboard", "--tensorboard")) from exc
    cls = resolve_strategy(spec.strategy)
    try:
        coerce_params(spec.strategy, cls, spec.base.params, together=False)
    except ConfigError as exc:
        raise _named(exc, labels.get("params", "--param")) from exc
    known = strategy_params(cls)
    grid_label = labels.get("grid", "--grid")
    for key, values in spec.grid.items():
        if key not in CONFIG_KEYS and key not in known:
            raise UnknownNameError(
                f"key of {grid_label} (a param of {spec.strategy!r} or a run setting)",
                key,
                {*known, *CONFIG_KEYS},
            )
        for value in values:
            try:
                if key in CONFIG_KEYS:
                    check_grid_setting(key, value, spec.base)
                else:
                    # one value alone; combinations are checked per grid point
                    coerce_params(spec.strategy, cls, {**spec.base.params, key: value},
                                  together=False)
            except ConfigError as exc:
                reason = str(exc).split(": ", 1)[-1]
                raise ConfigError(f"{grid_label} {key}={value!r}: {reason}") from exc
    frames = FrameCache()
    for dataset in spec.datasets:
        try:
            frames.get(dataset, spec.base)
        except RlbtError as exc:
            raise _named(exc, labels.get("datasets", "--data")) from exc
    check_grid_points(spec if points else dataclasses.replace(spec, grid={}), labels, frames)


def _named(exc: RlbtError, label: str) -> RlbtError:
    """The error with the option or file key in front, unless it names it already."""
    kind = DataError if isinstance(exc, DataError) else ConfigError
    return exc if label in str(exc) else kind(f"{label}: {exc}")
