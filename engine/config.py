"""``BacktestConfig``: every setting of one backtest, validated on creation.

The CLI maps its flags onto this object and nothing else; the Python API and
sweeps build it directly. Frozen so a run's settings cannot drift mid-run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rlbt.engine.errors import ConfigError

SEED_MAX = 2**32 - 1
"""The largest seed: every seeded component takes it (scikit-learn's
``random_state`` stops at 2**32 - 1; NumPy and torch accept more)."""
MAX_THREADS = 4 * (os.cpu_count() or 1)
"""More torch threads than this only oversubscribes the machine (and some
thread counts crash torch's pool outright)."""
MIN_CASH = 1e-2
MAX_CASH = 1e15
"""The range of ``--cash``, chosen like the price bounds (``data/validate.py``) so
that every later computation stays finite and exact enough: cash / the lowest
price (1e-8) is at most 1e23 shares, times the highest price (1e12) and the
largest exposure (10x) about 1e36, far from the float maximum (1e308 overflowed
to ``inf`` in the equity and the orders). At the low end, a cent over the
highest price still buys 1e-14 shares, far above the subnormal floats where
1e-300 rounded every value to 0; no account holds less than a cent or more
than 1e15 (a thousand trillion)."""


@dataclass(frozen=True)
class BacktestConfig:
    """Settings of one backtest; defaults give a sensible daily-bar run."""

    cash: float = 10_000.0
    """Starting cash of each period (train and test start fresh)."""
    commission: float = 0.0
    """Commission as a fraction of traded value, e.g. 0.001 = 10 bp per fill."""
    slippage: float = 0.0
    """Slippage as a fraction of price, applied against the trader at each fill."""
    bars_per_year: float | None = None
    """Bars in a year for annualising; None = inferred from the data's calendar."""
    risk_free: float = 0.0
    """Annual risk-free rate that Sharpe and Sortino are in excess of, e.g. 0.02."""
    start: str | None = None
    """First date to use (inclusive); None = first bar of the data."""
    end: str | None = None
    """Last date to use (inclusive); None = last bar of the data."""
    train_end: str | None = None
    """Last date of the train slice (inclusive); overrides ``split``."""
    split: float = 0.7
    """Fraction of bars in the train slice when ``train_end`` is not given."""
    seed: int = 0
    """Seed for every random choice of the strategy and its agent."""
    params: dict[str, Any] = field(default_factory=dict)
    """Strategy parameters (``--param key=value``)."""
    date_format: str | None = None
    """strptime format of the data's dates when they are not ISO."""
    episodes: int = 3
    """Training passes over the train slice (learning strategies only)."""
    timesteps: int | None = None
    """Environment steps of training for strategies that train through an env
    (``sb3:PPO``), spread over the episodes; None: 10 per bar of the fit part."""
    freeze: bool = False
    """Stop learning in the test slice (by default the agent keeps learning online)."""
    val: float = 0.2
    """Last fraction of the train slice that validates each episode (0: none)."""
    select: str = "best"
    """Agent state tested: ``best`` validation Sharpe of the episodes, or ``last``."""
    device: str = "cpu"
    """Torch device of the agent: ``cpu`` or ``cuda``."""
    threads: int = 1
    """Torch CPU threads (0: torch's default). Small networks are fastest on one."""
    load: str | None = None
    """Checkpoint to start the agent from (``--load``)."""
    save: str | None = None
    """Where to save the agent after the run (``--save``), besides the run folder."""
    tensorboard: str | None = None
    """Folder of live TensorBoard logs (``--tensorboard``): the training writes its
    learning curves to ``<tensorboard>/<run>`` while it runs. Never changes a result."""
    tensorboard_run: str | None = None
    """That run's sub-folder name; None: ``<timestamp>-<strategy>-seed<N>``
    (a sweep gives each cell its run id)."""

    def __post_init__(self) -> None:
        _require(_is_number(self.cash) and MIN_CASH <= self.cash <= MAX_CASH, "--cash",
                 self.cash, f"in [{MIN_CASH:g}, {MAX_CASH:g}] (a cent to 1e15)")
        _require(_is_number(self.commission) and 0 <= self.commission < 0.5, "--commission",
                 self.commission, "in [0, 0.5)")
        _require(_is_number(self.slippage) and 0 <= self.slippage < 0.5, "--slippage",
                 self.slippage, "in [0, 0.5)")
        _require(self.bars_per_year is None or (_is_number(self.bars_per_year)
                                                and self.bars_per_year > 0),
                 "--bars-per-year", self.bars_per_year, "> 0")
        _require(_is_number(self.risk_free) and -0.5 < self.risk_free < 1.0, "--risk-free",
                 self.risk_free, "in (-0.5, 1), an annual rate such as 0.02")
        _require(_is_number(self.split) and 0 < self.split < 1, "--split", self.split,
                 "strictly between 0 and 1")
        _require(_is_int(self.seed) and 0 <= self.seed <= SEED_MAX, "--seed", self.seed,
                 f"in 0..{SEED_MAX} (2**32 - 1)")
        _require(_is_int(self.episodes) and self.episodes >= 0, "--episodes",
                 self.episodes, ">= 0")
        _require(self.timesteps is None or (_is_int(self.timesteps) and self.timesteps >= 1),
                 "--timesteps", self.timesteps, ">= 1")
        _require(_is_number(self.val) and 0 <= self.val < 0.9, "--val", self.val,
                 "in [0, 0.9), e.g. 0.2")
        _require(self.select in ("best", "last"), "--select", self.select, "of best, last")
        _require(_is_int(self.threads) and 0 <= self.threads <= MAX_THREADS, "--threads",
                 self.threads, f"in 0..{MAX_THREADS} (0: torch's default; at most 4 per CPU)")
        _require(isinstance(self.device, str) and (self.device in ("cpu", "cuda")
                                                   or self.device.startswith("cuda:")), "--device",
                 self.device, "of cpu, cuda or cuda:N")
        self._check_tensorboard()
        for name in ("start", "end", "train_end"):
            value = getattr(self, name)
            if value is not None:
                _parse_date(value, "--" + name.replace("_", "-"))

    def _check_tensorboard(self) -> None:
        # The Python API may pass a Path: kept as text so config.json stays plain JSON.
        if isinstance(self.tensorboard, os.PathLike):
            object.__setattr__(self, "tensorboard", os.fspath(self.tensorboard))
        _require(self.tensorboard is None or (isinstance(self.tensorboard, str)
                                              and self.tensorboard.strip() != ""),
                 "--tensorboard", self.tensorboard, "naming a folder")
        name = self.tensorboard_run
        _require(name is None or (isinstance(name, str) and name not in ("", ".", "..")
                                  and not any(c in name for c in "/\\\0")),
                 "tensorboard_run", name, "naming one folder (no '/')")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every setting."""
        return dataclasses.asdict(self)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range (10**400) is no usable setting
        return False


def _require(ok: bool, option: str, value: object, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{option}={value!r}: expected a value {expected}.")


def _parse_date(value: str, option: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{option}={value!r} is not a date; use YYYY-MM-DD.") from exc


def parse_date(value: str | None, option: str) -> pd.Timestamp | None:
    """Parse an optional date option, naming the option on error."""
    return None if value is None else _parse_date(value, option)
