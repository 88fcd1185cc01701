"""Several assets on one calendar: a *panel*, the data of a portfolio run.

A panel is a DataFrame whose columns are a two-level index ``(field,
asset)``: ``panel["close"]`` is one column of closes per asset. Slicing it by
rows (``.loc``, ``.iloc``) works as for one asset, so the runner's split,
validation and walk-forward code handle it unchanged.

Each file is loaded and validated on its own (``load_prices``: errors name
the file, row and column). The calendar is the union of the assets' bars over
the span they all cover (from the latest first bar to the earliest last bar;
the trimmed bars are reported, never silently dropped from the run's
description). A bar an asset lacks is carried forward (open = high = low =
close = its last close, volume 0) and flagged ``tradable = 0``: a portfolio
strategy does not trade that asset on that bar.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rlbt.engine.data.bundled import is_bundled
from rlbt.engine.data.feed import bar_frequency
from rlbt.engine.data.prices import PriceSource, load_prices
from rlbt.engine.errors import ConfigError, DataError

FIELDS = ("open", "high", "low", "close", "volume", "tradable")
PORTFOLIO_JOIN = "+"
"""Joins the assets of one portfolio in a dataset name: ``orcl+nvda+yhoo``."""


@dataclass(frozen=True)
class PanelInfo:
    """How the calendar was built (config.json ``portfolio``)."""

    assets: tuple[str, ...]
    sources: tuple[str, ...]
    trimmed: dict[str, int]
    """Per asset: its bars outside the common span (not in the run)."""
    filled: dict[str, int]
    """Per asset: calendar bars it lacked, carried forward and untradable."""

    def to_dict(self) -> dict[str, object]:
        return {"assets": list(self.assets), "sources": list(self.sources),
                "bars_outside_common_span": dict(self.trimmed),
                "bars_carried_forward": dict(self.filled)}


def is_panel(frame: pd.DataFrame) -> bool:
    """True for a panel (two-level columns), False for one asset's bars."""
    return isinstance(frame.columns, pd.MultiIndex)


def panel_assets(panel: pd.DataFrame) -> tuple[str, ...]:
    """The assets of ``panel``, in column order."""
    return tuple(str(name) for name in panel["close"].columns)


def asset_frame(panel: pd.DataFrame, asset: str) -> pd.DataFrame:
    """One asset's bars (open, high, low, close, volume, tradable)."""
    return panel.xs(asset, axis=1, level=1)[list(FIELDS)]


def split_sources(data: object) -> list[str | Path | pd.DataFrame] | None:
    """The assets of a portfolio ``--data`` value, or None for one asset.

    A list or tuple is a portfolio; so is a string with ``+`` or ``,`` that is
    not an existing file (``orcl+nvda``, ``orcl,nvda``, ``a.csv,b.csv``).
    """
    if isinstance(data, (list, tuple)):
        return list(data)
    if not isinstance(data, (str, os.PathLike)) or os.path.exists(data):
        return None
    text = os.fspath(data)
    for separator in (PORTFOLIO_JOIN, ","):
        if separator in text:
            parts = [part.strip() for part in text.split(separator)]
            if any(not part for part in parts):
                raise ConfigError(f"--data {text!r}: an empty asset name between "
                                  f"{separator!r}s.")
            return list(parts)
    return None


def asset_name(source: object, position: int) -> str:
    """A short name for an asset: the bundled name, the file's stem, or ``assetN``."""
    if isinstance(source, pd.DataFrame):
        return f"asset{position + 1}"
    text = os.fspath(source)  # type: ignore[call-overload]
    if is_bundled(text) and not os.path.exists(text):
        return text.strip().lower()
    return Path(text).stem


def load_panel(
    sources: Sequence[PriceSource], *, date_format: str | None = None,
    start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, PanelInfo]:
    """Load each source, align them on one calendar; see the module docstring.

    :raises ConfigError: fewer than two assets, or two with the same name.
    :raises DataError: a file that fails validation (named), assets with no
        common span, or assets of different bar frequencies.
    """
    if len(sources) < 2:
        raise ConfigError("A portfolio needs at least two assets (--data a,b).")
    frames: dict[str, pd.DataFrame] = {}
    named: dict[str, str] = {}
    for position, source in enumerate(sources):
        name = asset_name(source, position)
        shown = "<DataFrame>" if isinstance(source, pd.DataFrame) else os.fspath(source)
        if name in frames:
            raise ConfigError(f"--data: {named[name]!r} and {shown!r} are both asset "
                              f"{name!r}; rename one file.")
        frames[name] = load_prices(source, date_format=date_format, start=start, end=end)
        named[name] = shown
    _check_frequencies(frames, named)
    panel, trimmed, filled = align(frames, named)
    info = PanelInfo(tuple(frames), tuple(named.values()), trimmed, filled)
    return panel, info


def _check_frequencies(frames: dict[str, pd.DataFrame], named: dict[str, str]) -> None:
    kinds = {name: bar_frequency(pd.DatetimeIndex(f.index)) for name, f in frames.items()}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{named[n]} (bars a median {_spacing(frames[n])} apart)"
                           for n in kinds)
        raise DataError(f"--data: the assets have different bar frequencies ({listed}); "
                        "a portfolio needs bars of one frequency (resample first).")


def _spacing(frame: pd.DataFrame) -> str:
    gap = pd.Series(pd.DatetimeIndex(frame.index)).diff().median()
    if gap >= pd.Timedelta(days=1):
        return f"{gap.days} day{'s' if gap.days != 1 else ''}"
    minutes = gap / pd.Timedelta(minutes=1)
    return f"{minutes:g} minutes" if minutes >= 1 else f"{gap.total_seconds():g} seconds"


def align(frames: dict[str, pd.DataFrame], named: dict[str, str]
          ) -> tuple[pd.DataFrame, dict[str, int], dict[str, int]]:
    """The panel over the common span, with the per-asset trimmed and filled counts."""
    first = max(f.index[0] for f in frames.values())
    last = min(f.index[-1] for f in frames.values())
    if first > last:
        spans = ", ".join(f"{named[n]} {f.index[0]} to {f.index[-1]}" for n, f in frames.items())
        raise DataError(f"--data: the assets share no bar dates ({spans}).")
    calendar = pd.DatetimeIndex(sorted(set().union(
        *(f.loc[first:last].index for f in frames.values()))), name=None)
    columns, trimmed, filled = {}, {}, {}
    for name, frame in frames.items():
        inside = frame.loc[first:last]
        trimmed[name] = len(frame) - len(inside)
        bars = inside[["open", "high", "low", "close", "volume"]].reindex(calendar)
        present = bars["close"].notna()
        filled[name] = int((~present).sum())
        close = bars["close"].ffill()
        for field in ("open", "high", "low"):
            bars[field] = bars[field].fillna(close)  # a carried bar: flat at the last close
        bars["close"] = close
        bars["volume"] = bars["volume"].fillna(0.0)
        bars["tradable"] = present.astype(float)
        columns[name] = bars
    panel = pd.concat(columns, axis=1).swaplevel(0, 1, axis=1)
    ordered = pd.MultiIndex.from_product([list(FIELDS), list(frames)])
    return panel.reindex(columns=ordered), trimmed, filled
