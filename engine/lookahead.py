"""The look-ahead harness: proves from results that no decision at bar t used a
bar after t.

It runs a strategy on the full data, on the data cut at several bars, and on
the data whose future (from the cut on) was replaced by its mirror image, all
with the same seed and the same train/test boundary, and requires identical
decisions, and identical agent state for agent strategies, before each cut.

The truncated run's last bar is compared for decisions only up to the bar
before it: at that bar the agent is told the data ended (truncation), which
legitimately changes n-step and rollout bookkeeping. The mirrored run, whose
data goes on, covers that bar.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.panel import asset_frame, is_panel, panel_assets
from rlbt.engine.portfolio_run import load_data
from rlbt.engine.runner import backtest
from rlbt.engine.split import split_frame


@dataclass(frozen=True)
class Leak:
    """A decision (or agent state) before a cut that changed with the future."""

    cut: pd.Timestamp
    variant: str
    bar: pd.Timestamp
    what: str
    full: Any
    other: Any

    def __str__(self) -> str:
        return (
            f"cut {self.cut} ({self.variant}): {self.what} at {self.bar} was {self.full!r} "
            f"with the full data and {self.other!r} without it"
        )


@dataclass
class LookaheadReport:
    """Every cut tried and every leak found."""

    cuts: list[pd.Timestamp]
    leaks: list[Leak] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.leaks


def check_lookahead(
    strategy: str | type,
    data: str | Path | pd.DataFrame = "orcl",
    cuts: int = 3,
    config: BacktestConfig | None = None,
    **settings: Any,
) -> LookaheadReport:
    """Run the three variants and compare what happened before each cut.

    :param strategy: as for ``engine.backtest``.
    :param data: as for ``engine.backtest``.
    :param cuts: number of cut points, spread evenly over the test slice.
    :param config: run settings; the train/test boundary is pinned to the full
        data's so that every variant trains on the same bars.
    """
    config = dataclasses.replace(config or BacktestConfig(), **settings)
    frame, _ = load_data(data, config)  # one asset, or a panel: every feed is cut and mirrored
    split = split_frame(frame, config)
    pinned = dataclasses.replace(  # no live curves: each trace is not a run of its own
        config, train_end=str(frame.index[split.train_bars - 1]), start=None, end=None,
        tensorboard=None
    )
    full = _trace(strategy, frame, pinned)
    positions = np.linspace(split.train_bars, len(frame), cuts + 2)[1:-1].astype(int)
    report = LookaheadReport(cuts=[pd.Timestamp(frame.index[c]) for c in positions])
    for c in positions:
        cut = pd.Timestamp(frame.index[c])
        last_safe = pd.Timestamp(frame.index[c - 2])  # truncation bar excluded, see above
        truncated = _trace(strategy, frame.iloc[:c], pinned)
        report.leaks += _compare(full, truncated, cut, "truncated", last_safe)
        mirrored = _trace(strategy, mirror_future(frame, c), pinned)
        report.leaks += _compare(full, mirrored, cut, "future replaced", frame.index[c - 1])
    return report


def mirror_future(frame: pd.DataFrame, cut: int) -> pd.DataFrame:
    """``frame`` with every bar from ``cut`` on mirrored in log price around the
    close before the cut: rises become falls. Still valid OHLC data. A panel's
    assets are each mirrored around their own close."""
    if is_panel(frame):
        assets = {a: mirror_future(asset_frame(frame, a), cut) for a in panel_assets(frame)}
        mirrored_panel = pd.concat(assets, axis=1).swaplevel(0, 1, axis=1)
        return mirrored_panel.reindex(columns=frame.columns)
    out = frame.copy()
    pivot = np.log(frame["close"].iloc[cut - 1])
    future = frame.iloc[cut:]
    mirrored = {c: np.exp(2 * pivot - np.log(future[c])) for c in ("open", "high", "low", "close")}
    out.iloc[cut:, out.columns.get_loc("open")] = mirrored["open"].to_numpy()
    out.iloc[cut:, out.columns.get_loc("close")] = mirrored["close"].to_numpy()
    out.iloc[cut:, out.columns.get_loc("high")] = mirrored["low"].to_numpy()  # mirror swaps them
    out.iloc[cut:, out.columns.get_loc("low")] = mirrored["high"].to_numpy()
    return out


Trace = dict[tuple[str, pd.Timestamp], tuple[int, float, str]]


def _trace(strategy: str | type, frame: pd.DataFrame, config: BacktestConfig) -> Trace:
    """(period, bar) -> (action, exposure, agent-state digest) of every decision."""
    trace: Trace = {}

    def probe(strat: Any) -> None:
        when, action, exposure = _decision(strat)
        # Agents without state_dict() are compared by their decisions alone.
        state_dict = getattr(getattr(strat, "agent", None), "state_dict", None)
        digest = state_digest(state_dict()) if callable(state_dict) else ""
        period = "train" if strat.p.trade_start is None else "test"
        trace[(period, pd.Timestamp(when))] = (action, exposure, digest)

    backtest(strategy, frame, config, probe=probe)
    return trace


def _decision(strat: Any) -> tuple[Any, Any, Any]:
    """The strategy's latest decision: (bar, action, exposure); for a portfolio
    (bar, decisions so far, the last target weights), asked every bar."""
    if hasattr(strat, "targets"):
        last = tuple(strat.targets[-1][1:]) if strat.targets else ()
        return strat.data.datetime.datetime(0), len(strat.targets), last
    return strat.decisions[-1]


def _compare(full: Trace, other: Trace, cut: pd.Timestamp, variant: str, last: Any) -> list[Leak]:
    leaks = []
    for key, (action, exposure, digest) in full.items():
        if key[1] > last:
            continue
        seen = other.get(key)
        if seen is None:
            leaks.append(Leak(cut, variant, key[1], f"{key[0]} decision", action, "missing"))
        elif seen[:2] != (action, exposure):
            leaks.append(Leak(cut, variant, key[1], f"{key[0]} decision", action, seen[0]))
        elif seen[2] != digest:
            leaks.append(Leak(cut, variant, key[1], f"{key[0]} agent state", digest[:12],
                              seen[2][:12]))
    return leaks


def state_digest(state: Any) -> str:
    """SHA-1 of a nested state dict (tensors, arrays, numbers, strings)."""
    h = hashlib.sha1()
    _feed(h, state)
    return h.hexdigest()


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, dict):
        for key in sorted(value, key=str):
            h.update(str(key).encode())
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            _feed(h, item)
    elif hasattr(value, "detach"):  # a torch tensor; the engine never imports torch
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(repr(value).encode())
