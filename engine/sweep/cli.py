"""From ``rlbt sweep`` flags and an optional TOML/YAML file to a ``SweepSpec``.
Flags override the file; the file uses the flags' names."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import parse_param_pairs
from rlbt.engine.sweep.spec import SweepSpec, load_sweep_file, parse_grid, parse_seeds

# Run settings taken from flags or the file (the shared options of engine/cli_options.py).
_BASE_KEYS = ("episodes", "val", "select", "freeze", "device", "threads", "cash", "commission",
              "slippage", "split", "train_end", "start", "end", "date_format", "bars_per_year",
              "risk_free")


def spec_from_options(
    strategy: str | None, config_file: Path | None, flags: dict[str, Any]
) -> tuple[SweepSpec, dict[str, Any]]:
    """The sweep spec and the executor options (out, executor, workers, address, rank)."""
    file = _normalise(load_sweep_file(config_file)) if config_file else {}
    merged = {**file, **{k: v for k, v in flags.items() if v not in (None, ())}}
    strategy = strategy or merged.get("strategy")
    if not strategy:
        raise ConfigError("rlbt sweep needs a STRATEGY (argument or 'strategy' in --config).")
    grid = merged.get("grid", {})
    grid = parse_grid(grid) if isinstance(grid, (list, tuple)) else _file_grid(grid)
    datasets = merged.get("datasets", "orcl")
    if isinstance(datasets, str):
        datasets = [d.strip() for d in datasets.split(",") if d.strip()]
    seeds = merged.get("seeds", "0")
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else tuple(int(s) for s in seeds)
    params = merged.get("params", ())
    params = parse_param_pairs(params) if isinstance(params, (list, tuple)) else dict(params)
    base = dataclasses.replace(
        BacktestConfig(), params=params, **{k: merged[k] for k in _BASE_KEYS if k in merged}
    )
    spec = SweepSpec(
        strategy,
        tuple(datasets),
        grid,
        seeds,
        base,
        merged.get("walk_forward_k"),
        merged.get("window_mode") or "expanding",
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    options = {
        "out": Path(merged.get("out") or f"runs/sweep-{stamp}-{strategy.replace(':', '_')}"),
        "executor": merged.get("executor") or "local",
        "workers": merged.get("workers"),
        "address": merged.get("address"),
        "rank": merged.get("rank") or "sharpe",
    }
    return spec, options


def _normalise(file: dict[str, Any]) -> dict[str, Any]:
    """File keys may use the flag spellings: data, walk_forward, train-end."""
    out = {k.replace("-", "_"): v for k, v in file.items()}
    if "data" in out:
        out["datasets"] = out.pop("data")
    if "walk_forward" in out:
        out["walk_forward_k"] = out.pop("walk_forward")
    if "param" in out:
        out["params"] = out.pop("param")
    return out


def _file_grid(grid: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(grid, dict):
        raise ConfigError("'grid' in --config must be a table: grid = {lr = [0.001, 0.0003]}.")
    out = {}
    for key, values in grid.items():
        values = values if isinstance(values, list) else [values]
        out[str(key)] = tuple(str(v) for v in values)
    return out
