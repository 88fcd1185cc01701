"""From ``rlbt sweep`` flags and an optional TOML/YAML file to a ``SweepSpec``.
Flags override the file; the file uses the flags' names. Everything is checked
here, before anything is written or run, naming the flag or the file key."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import parse_param_pairs
from rlbt.engine.sweep.checks import check_rank, check_runnable
from rlbt.engine.sweep.config_file import SweepFile, flag_names, read_sweep_file
from rlbt.engine.sweep.search_space import parse_space
from rlbt.engine.sweep.spec import (
    CONFIG_KEYS,
    SweepSpec,
    check_size,
    parse_datasets,
    parse_grid,
    parse_seeds,
)

# Run settings taken from flags or the file (the shared options of engine/cli_options.py).
_BASE_KEYS = (
    "episodes",
    "timesteps",
    "val",
    "select",
    "freeze",
    "device",
    "threads",
    "cash",
    "commission",
    "slippage",
    "split",
    "train_end",
    "start",
    "end",
    "date_format",
    "bars_per_year",
    "risk_free",
    "tensorboard",
)


def spec_from_options(
    strategy: str | None, config_file: Path | None, flags: dict[str, Any]
) -> tuple[SweepSpec, dict[str, Any]]:
    """The sweep spec and the executor options (out, executor, workers, address, rank,
    report, and ``search``: None for a grid, else the search's settings)."""
    file = read_sweep_file(config_file) if config_file else SweepFile({}, {})
    given = {k: v for k, v in flags.items() if v not in (None, ())}
    merged = {**file.values, **given}
    names = flag_names()
    labels = {**file.labels, **{k: names.get(k, k) for k in given}}
    strategy = strategy or merged.get("strategy")
    if not strategy:
        raise ConfigError("rlbt sweep needs a STRATEGY (argument or 'strategy' in --config).")
    spec = SweepSpec(
        strategy,
        _from_flag(given, "datasets", parse_datasets) or merged.get("datasets", ("orcl",)),
        _from_flag(given, "grid", parse_grid) or merged.get("grid", {}),
        _from_flag(given, "seeds", parse_seeds) or merged.get("seeds", (0,)),
        _base(merged),
        merged.get("walk_forward_k"),
        merged.get("window_mode") or "expanding",
    )
    rank = merged.get("rank") or "sharpe"
    check_size(spec)
    searching = search_options(merged, given, labels)
    if searching is None:
        check_overlap(spec, merged, labels)
        check_rank(rank, labels.get("rank", "--rank"))
        check_runnable(spec, labels)
    else:  # the search's own checks run in search() (engine/sweep/search_checks.py)
        space_grid = {d.name: d.corners() for d in searching["space"]}
        check_overlap(dataclasses.replace(spec, grid=space_grid), merged,
                      {**labels, "grid": labels.get("space", "--space")})
    options = {
        "out": _out(merged.get("out"), strategy, labels.get("out", "--out")),
        "executor": merged.get("executor") or "local",
        "workers": merged.get("workers"),
        "address": merged.get("address"),
        "rank": rank,
        "report": not merged.get("no_report"),
        "search": searching,
        "labels": labels,
    }
    return spec, options


_SEARCH_ONLY = ("trials", "sampler", "pruner", "space")


def search_options(
    merged: dict[str, Any], given: dict[str, Any], labels: dict[str, str]
) -> dict[str, Any] | None:
    """``--search optuna``'s settings (space, trials, sampler, pruner), or ``None`` for a grid.
    A ``[search]`` table in the file is the space and turns the search on."""
    method: Any = merged.get("search")
    file_space: tuple[Any, ...] = ()
    if isinstance(method, tuple):
        method, file_space = "optuna", method
    if not method:
        stray = next((k for k in _SEARCH_ONLY if k in merged), None)
        if stray is not None:
            raise ConfigError(f"{labels.get(stray, '--' + stray)} is for a search: add "
                              "--search optuna (or drop it for a grid sweep).")
        return None
    space = parse_space(given["space"]) if "space" in given else merged.get("space") or file_space
    if merged.get("trials") is None:
        raise ConfigError("--search optuna needs --trials N, the number of trials to run.")
    return {"method": method, "space": space, "trials": merged["trials"],
            "sampler": merged.get("sampler") or "tpe", "pruner": merged.get("pruner") or "median"}


def check_overlap(spec: SweepSpec, merged: dict[str, Any], labels: dict[str, str]) -> None:
    """Refuse a grid key that is also set as a fixed value (``[param] fast = 5``
    beside ``[grid] fast = [5, 8]``, or ``--commission`` beside ``--grid
    commission=...``): which one a run takes would be a guess."""
    grid_label = labels.get("grid", "--grid")
    for key in sorted(spec.grid):
        if key in spec.base.params:
            fixed, value = labels.get("params", "--param"), spec.base.params[key]
        elif key in CONFIG_KEYS and key in merged:
            fixed, value = labels.get(key, key), merged[key]
        else:
            continue
        raise ConfigError(
            f"{key!r} is set both by {fixed} ({key}={value}) and by {grid_label} "
            f"({key}={','.join(spec.grid[key])}); a swept key takes its values from the "
            "grid alone: keep it in one of them."
        )


def _from_flag(given: dict[str, Any], name: str, parse: Any) -> Any:
    """The flag's value parsed, or ``None`` when the flag was not given."""
    return parse(given[name]) if name in given else None


def _base(merged: dict[str, Any]) -> BacktestConfig:
    params = merged.get("params", {})
    params = parse_param_pairs(params) if isinstance(params, (list, tuple)) else dict(params)
    settings = {k: merged[k] for k in _BASE_KEYS if k in merged}
    return dataclasses.replace(BacktestConfig(), params=params, **settings)


def _out(out: Any, strategy: str, label: str) -> Path:
    if not out:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return Path(f"runs/sweep-{stamp}-{strategy.replace(':', '_').replace('/', '_')}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{label} {path}: exists and is not a folder.")
    return path
