"""What a sweep runs: the grid (strategy params and run settings alike), the
seeds and the datasets, from command-line values or a TOML/YAML file."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError

MAX_RUNS = 100_000
"""The most runs one sweep may have: beyond it, a typo (``--seeds 0-1000000000``)
rather than a plan, and the list of runs alone would not fit in memory."""
SEED_MAX = 2**32 - 1
"""The largest seed every strategy takes (scikit-learn's ``random_state`` limit)."""

# Run settings that may be swept like strategy params (--grid commission=0,0.001).
CONFIG_KEYS = frozenset(
    {"cash", "commission", "slippage", "split", "train_end", "episodes", "timesteps", "freeze",
     "start", "end"}
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


UNHASHED = ("tensorboard", "tensorboard_run")
"""Settings that change no result (where live logs go): left out of ``run_id``,
so turning ``--tensorboard`` on or off still resumes a sweep."""


def run_id(run: dict[str, Any]) -> str:
    """Stable id of a run's settings (resume finds finished runs by it)."""
    kept = {k: v for k, v in run.items() if k != "run_id"}
    if isinstance(kept.get("base"), dict):
        kept["base"] = {k: v for k, v in kept["base"].items() if k not in UNHASHED}
    text = json.dumps(kept, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def parse_grid(items: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``["lr=1e-3,3e-4", "window=16,32"]`` -> ``{"lr": ("1e-3", "3e-4"), ...}``."""
    grid: dict[str, tuple[str, ...]] = {}
    for item in items:
        key, sep, values = (part.strip() for part in item.partition("="))
        if not sep or not key or not values:
            raise ConfigError(f"--grid {item!r}: expected key=v1,v2,... e.g. --grid lr=1e-3,3e-4.")
        if key in grid:
            raise ConfigError(
                f"--grid {key} is given twice; list all its values once: --grid {key}=v1,v2."
            )
        grid[key] = grid_values(f"--grid {key}", [v.strip() for v in values.split(",")])
    return grid


def grid_values(label: str, values: list[str]) -> tuple[str, ...]:
    """The values of one grid key: none empty, none twice (a twice-run cell is a typo)."""
    if not values or any(not v for v in values):
        raise ConfigError(f"{label}: an empty value; expected v1,v2,... with no empty item.")
    twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
    if twice is not None:
        raise ConfigError(f"{label}: the value {twice!r} is given twice.")
    return tuple(values)


_BOOLEANS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
_SEED_PART = re.compile(r"([0-9]{1,20})(?:\s*-\s*([0-9]{1,20}))?")


def parse_seeds(text: str, option: str = "--seeds") -> tuple[int, ...]:
    """``"0-4"`` -> (0, 1, 2, 3, 4); ``"1,5,9"`` -> (1, 5, 9). Ranges are
    counted before they are expanded, so a huge one is refused at once."""
    ranges = []
    for part in (p.strip() for p in text.split(",")):
        match = _SEED_PART.fullmatch(part)
        if not match:
            raise ConfigError(
                f"{option} {text!r}: {part!r} is not a seed or a range; expected "
                "whole numbers >= 0, e.g. 0-4 or 0,3,7."
            )
        lo, hi = int(match[1]), int(match[2] or match[1])
        if hi < lo:
            raise ConfigError(
                f"{option} {text!r}: the range {part!r} runs backwards (write {hi}-{lo})."
            )
        ranges.append(range(lo, hi + 1))
    return check_seeds(option, [s for r in _capped(option, ranges) for s in r])


def _capped(option: str, ranges: list[range]) -> list[range]:
    count = sum(len(r) for r in ranges)
    if count > MAX_RUNS:
        raise ConfigError(
            f"{option} gives {count:,} seeds, more than the {MAX_RUNS:,} runs a sweep may have."
        )
    return ranges


def check_seeds(option: str, seeds: list[int]) -> tuple[int, ...]:
    """Seeds as the runner takes them: whole numbers in [0, SEED_MAX], duplicates dropped."""
    if not seeds:
        raise ConfigError(f"{option}: no seeds given; expected e.g. 0-4 or 0,3,7.")
    for seed in seeds:
        if type(seed) is not int or not 0 <= seed <= SEED_MAX:
            raise ConfigError(f"{option}: seed {seed!r} is not a whole number in [0, {SEED_MAX}].")
    return tuple(dict.fromkeys(seeds))


def parse_datasets(text: str, option: str = "--data") -> tuple[str, ...]:
    """``"orcl, prices.csv"`` -> ("orcl", "prices.csv")."""
    return check_datasets(option, [d.strip() for d in text.split(",")])


def check_datasets(option: str, datasets: list[str]) -> tuple[str, ...]:
    """Dataset names: at least one, none empty, none twice."""
    if not datasets or any(not d for d in datasets):
        raise ConfigError(f"{option}: an empty dataset name; expected e.g. orcl,nvda.")
    twice = next((d for i, d in enumerate(datasets) if d in datasets[:i]), None)
    if twice is not None:
        raise ConfigError(f"{option}: the dataset {twice!r} is given twice.")
    return tuple(datasets)


def check_size(spec: SweepSpec) -> int:
    """The number of runs, from the sizes of the spec's parts (nothing expanded);
    refuses a sweep with none, or with more than ``MAX_RUNS``."""
    factors = {
        "--data": len(spec.datasets),
        "--seeds": len(spec.seeds),
        **{f"--grid {key}": len(values) for key, values in sorted(spec.grid.items())},
    }
    total = math.prod(factors.values())
    if total == 0:
        empty = next(name for name, size in factors.items() if size == 0)
        raise ConfigError(f"{empty} has no values, so the sweep has no runs.")
    if total > MAX_RUNS:
        largest = max(factors, key=lambda name: factors[name])
        sizes = " x ".join(f"{size:,} ({name})" for name, size in factors.items())
        raise ConfigError(
            f"This sweep would have {total:,} runs ({sizes}), more than the limit "
            f"of {MAX_RUNS:,}; the largest part is {largest} with "
            f"{factors[largest]:,} values. Sweep fewer values, or split the sweep."
        )
    return total


def config_for(run: dict[str, Any]) -> BacktestConfig:
    """The ``BacktestConfig`` of one run: base settings, its seed, and its grid
    values (run settings by name, everything else a strategy param). With
    ``--tensorboard DIR`` each run logs to ``DIR/<run_id>``."""
    base = dict(run["base"])
    if base.get("tensorboard") is not None and "run_id" in run:
        base["tensorboard_run"] = run["run_id"]
    params = dict(base.pop("params") or {})
    settings: dict[str, Any] = {}
    for key, value in run["grid"].items():
        if key in CONFIG_KEYS:
            settings[key] = _convert(key, value, base[key])
        else:
            params[key] = value
    return dataclasses.replace(BacktestConfig(**base), seed=run["seed"], params=params, **settings)


def _convert(key: str, text: str, default: Any) -> Any:
    """A grid value of a run setting as the setting's type (strict for booleans:
    ``--grid freeze=ture`` is refused, not read as False)."""
    if default is None or isinstance(default, str):
        return text
    try:
        if isinstance(default, bool):
            if text.lower() not in _BOOLEANS:
                raise ValueError(text)
            return _BOOLEANS[text.lower()]
        return type(default)(text)
    except ValueError as exc:
        raise ConfigError(f"--grid {key}={text!r}: expected {type(default).__name__}.") from exc


def check_grid_setting(key: str, text: str, base: BacktestConfig) -> None:
    """Refuse a run-setting grid value the run would refuse (``--grid commission=-1``)."""
    value = _convert(key, text, getattr(base, key))
    try:
        dataclasses.replace(base, **{key: value})
    except ConfigError as exc:
        raise ConfigError(f"--grid {key}={text!r}: {exc}") from exc
