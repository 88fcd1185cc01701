"""Every distinct point of a sweep's grid checked before the first run, with
the checks a run makes before its first bar: the run settings together
(``BacktestConfig``), the strategy's params together (``coerce_params`` and
the strategy's own ``check_params``), the data between ``start`` and ``end``,
the split, and the lookback against the train slice (or every walk-forward
window). Seeds change none of these, so each point is checked once, not once
per seed; no strategy or agent is built and no bar is run.

A grid with any failing point is refused whole, naming each failing point:
a sweep with holes in its grid would summarise and rank a different grid
from the one asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError, is_user_error
from rlbt.engine.sweep.failures import one_line
from rlbt.engine.sweep.spec import SweepSpec, config_for

SHOWN = 10  # failing points named one by one; the rest counted
_SLICE_FIX = "a larger --split (or a later --train-end)"  # as the runner says it


class FrameCache:
    """Prices loaded once per (dataset, date format, start, end); a load that
    failed is remembered as its error, raised again for every point that needs it."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, Any, Any, Any], pd.DataFrame | Exception] = {}

    def get(self, dataset: str, config: BacktestConfig) -> pd.DataFrame:
        """The prices of ``dataset`` between the config's ``start`` and ``end``."""
        from rlbt.engine.portfolio_run import load_data

        key = (dataset, config.date_format, config.start, config.end)
        if key not in self._frames:
            try:
                self._frames[key] = load_data(dataset, config)[0]  # orcl+nvda: a portfolio
            except Exception as exc:  # a user's mistake is one point's reason; a bug escapes below
                self._frames[key] = exc
        found = self._frames[key]
        if isinstance(found, Exception):
            raise found
        return found


def check_grid_points(
    spec: SweepSpec, labels: Mapping[str, str], frames: FrameCache | None = None
) -> None:
    """Refuse the sweep, naming each failing grid point and why, when any
    point would fail the checks a run makes before its first bar.

    :param labels: how the user gave each option (``--grid`` or a file key), by name.
    :param frames: prices already loaded (shared with the other checks).
    """
    from rlbt.engine.contracts import check_strategy
    from rlbt.engine.plugins.registry import resolve_strategy

    cls = resolve_strategy(spec.strategy)
    learning = check_strategy(spec.strategy, cls).learning
    frames = frames or FrameCache()
    base = spec.base.to_dict()  # once: asdict deep-copies
    failing, total = [], 0
    for dataset, point in _points(spec):
        total += 1
        run = {"base": base, "seed": spec.seeds[0], "grid": point}
        reason = _problem(spec, cls, learning, dataset, run, frames)
        if reason is not None:
            failing.append(f"{_where(spec, labels, dataset, point)}: {reason}")
    if failing:
        raise ConfigError(_refusal(failing, total))


def _points(spec: SweepSpec) -> Iterator[tuple[str, dict[str, str]]]:
    """(dataset, grid values) of every distinct grid point, in the order of ``spec.runs()``."""
    keys = sorted(spec.grid)
    for dataset in spec.datasets:
        for values in itertools.product(*(spec.grid[k] for k in keys)):
            yield dataset, dict(zip(keys, values, strict=True))


def _problem(
    spec: SweepSpec,
    cls: type,
    learning: bool,
    dataset: str,
    run: dict[str, Any],
    frames: FrameCache,
) -> str | None:
    """Why a run at this grid point would fail before its first bar; None if it would not."""
    try:
        config = config_for(run)
        params = _params(spec.strategy, cls, config.params)
        frame = frames.get(dataset, config)
        from rlbt.engine.portfolio_run import check_match, with_assets

        check_match(spec.strategy, cls, frame)  # one asset vs a portfolio (orcl+nvda)
        params = with_assets(cls, params, frame)
        if spec.walk_forward:
            _check_windows(spec, cls, frame, config)
        else:
            _check_split(cls, learning, params, frame, config)
    except Exception as exc:
        if not is_user_error(exc):
            raise  # a bug (rlbt's or a plugin's) keeps its traceback
        return one_line(str(exc))
    return None


def _params(name: str, cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    """The params as a run coerces them, with the strategy's own checks of
    params together (``check_params``, when it declares one: ``fast < slow``)."""
    from rlbt.engine.params import coerce_params

    return coerce_params(name, cls, raw)


def _check_split(
    cls: type, learning: bool, params: dict[str, Any], frame: pd.DataFrame, config: BacktestConfig
) -> None:
    """The runner's checks of one split (engine/runner.py, engine/training.py)."""
    from rlbt.engine.split import split_frame
    from rlbt.engine.validation import check_history, lookback, lookback_source, validation_split

    split = split_frame(frame, config)
    check_history(cls, params, split.train_bars, "The train slice", _SLICE_FIX)
    if learning:
        validation_split(split.train, config.val if config.episodes else 0.0,
                         lookback(cls, params), lookback_source(cls, params))


def _check_windows(spec: SweepSpec, cls: type, frame: pd.DataFrame, config: BacktestConfig) -> None:
    """walk_forward()'s own checks of every window, before its first window runs."""
    from rlbt.engine.walk_forward import check_windows, make_windows

    assert spec.walk_forward is not None
    windows = make_windows(len(frame), spec.walk_forward, config.split, spec.window_mode)
    check_windows(cls, frame, windows, config)


def _where(
    spec: SweepSpec, labels: Mapping[str, str], dataset: str, point: dict[str, str]
) -> str:
    """The point as the user gave it: ``--grid fast=40, slow=30`` (and the dataset)."""
    parts = []
    if len(spec.datasets) > 1 or not point:
        parts.append(f"{labels.get('datasets', '--data')} {dataset}")
    if point:
        values = ", ".join(f"{key}={value}" for key, value in point.items())
        parts.append(f"{labels.get('grid', '--grid')} {values}")
    return ", ".join(parts)


def _refusal(failing: list[str], total: int) -> str:
    points = "grid point" if total == 1 else "grid points"
    lines = [
        f"{len(failing)} of {total} {points} would fail before the first bar, so the sweep "
        "was not started (a grid with holes would summarise a different sweep); fix or drop:"
    ]
    lines += [f"  {line}" for line in failing[:SHOWN]]
    if len(failing) > SHOWN:
        lines.append(f"  ... and {len(failing) - SHOWN} more.")
    return "\n".join(lines)
