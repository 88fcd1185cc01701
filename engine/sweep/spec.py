"""What a sweep runs: the grid (strategy params and run settings alike), the
seeds and the datasets, from command-line values or a TOML/YAML file."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError

# Run settings that may be swept like strategy params (--grid commission=0,0.001).
CONFIG_KEYS = frozenset(
    {"cash", "commission", "slippage", "split", "train_end", "episodes", "freeze", "start", "end"}
)


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: every combination of ``grid`` values x ``seeds`` x ``datasets``."""

    strategy: str
    datasets: tuple[str, ...]
    grid: dict[str, tuple[str, ...]] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    base: BacktestConfig = field(default_factory=BacktestConfig)
    walk_forward: int | None = None
    window_mode: str = "expanding"

    def runs(self) -> list[dict[str, Any]]:
        """One picklable description per run, each with a stable ``run_id``."""
        keys = sorted(self.grid)
        runs = []
        for dataset in self.datasets:
            for values in itertools.product(*(self.grid[k] for k in keys)):
                for seed in self.seeds:
                    run = {
                        "strategy": self.strategy,
                        "dataset": dataset,
                        "seed": seed,
                        "grid": dict(zip(keys, values, strict=True)),
                        "base": self.base.to_dict(),
                        "walk_forward": self.walk_forward,
                        "window_mode": self.window_mode,
                    }
                    run["run_id"] = run_id(run)
                    runs.append(run)
        return runs


def run_id(run: dict[str, Any]) -> str:
    """Stable id of a run's settings (resume finds finished runs by it)."""
    text = json.dumps({k: v for k, v in run.items() if k != "run_id"}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``["lr=1e-3,3e-4", "window=16,32"]`` -> ``{"lr": ("1e-3", "3e-4"), ...}``."""
    grid: dict[str, tuple[str, ...]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        parts = tuple(v.strip() for v in values.split(",") if v.strip())
        if not sep or not key.strip() or not parts:
            raise ConfigError(f"--grid {item!r}: expected key=v1,v2,... e.g. --grid lr=1e-3,3e-4.")
        grid[key.strip()] = parts
    return grid


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-4"`` -> (0, 1, 2, 3, 4); ``"1,5,9"`` -> (1, 5, 9)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, dash, hi = part.strip().partition("-")
            seeds += range(int(lo), int(hi) + 1) if dash else [int(lo)]
    except ValueError as exc:
        raise ConfigError(f"--seeds {text!r}: expected e.g. 0-4 or 0,1,2.") from exc
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds {text!r}: expected non-negative seeds, e.g. 0-4.")
    return tuple(dict.fromkeys(seeds))


def config_for(run: dict[str, Any]) -> BacktestConfig:
    """The ``BacktestConfig`` of one run: base settings, its seed, and its grid
    values (run settings by name, everything else a strategy param)."""
    base = dict(run["base"])
    params = dict(base.pop("params") or {})
    settings: dict[str, Any] = {}
    for key, value in run["grid"].items():
        if key in CONFIG_KEYS:
            settings[key] = _convert(key, value, base[key])
        else:
            params[key] = value
    return dataclasses.replace(BacktestConfig(**base), seed=run["seed"], params=params, **settings)


def _convert(key: str, text: str, default: Any) -> Any:
    if default is None or isinstance(default, str):
        return text
    try:
        if isinstance(default, bool):
            return text.lower() in ("1", "true", "yes", "on")
        return type(default)(text)
    except ValueError as exc:
        raise ConfigError(f"--grid {key}={text!r}: expected {type(default).__name__}.") from exc


def load_sweep_file(path: Path) -> dict[str, Any]:
    """Options from a TOML or YAML file: the same names as the CLI flags
    (strategy, data, grid = {lr = [...]}, seeds, executor, workers, ...)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config {path}: {exc.strerror}.") from exc
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"--config {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise ConfigError("YAML sweep files need PyYAML: pip install pyyaml.") from exc
        data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ConfigError(f"--config {path}: expected a mapping at the top level.")
        return data
    raise ConfigError(f"--config {path}: expected a .toml, .yaml or .yml file.")
