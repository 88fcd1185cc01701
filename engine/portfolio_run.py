"""The runner's portfolio side: loading several assets as one panel, checking
that the strategy and the data agree (one asset or several), and the two
benchmarks a portfolio run is shown beside: equal-weight buy-and-hold (as
``buy_and_hold``: the ``benchmark`` column) and equal-weight rebalanced at
the strategy's own cadence (``equal_weight_rebalanced``: the ``rebalanced``
column)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.panel import (
    FIELDS,
    PanelInfo,
    is_panel,
    load_panel,
    panel_assets,
    split_sources,
)
from rlbt.engine.data.prices import load_prices
from rlbt.engine.errors import ConfigError

EQUAL_WEIGHT_HOLD = "equal-weight-hold"
EQUAL_WEIGHT_REBALANCED = "equal-weight"


def load_data(data: Any, config: BacktestConfig) -> tuple[pd.DataFrame, PanelInfo | None]:
    """One asset's bars, or a panel when ``data`` names several assets."""
    if isinstance(data, pd.DataFrame) and is_panel(data):  # a panel built by load_panel
        return _known_panel(data, config)
    sources = split_sources(data)
    if sources is None:
        frame = load_prices(data, date_format=config.date_format, start=config.start,
                            end=config.end)
        return frame, None
    return load_panel(sources, date_format=config.date_format, start=config.start,
                      end=config.end)


def _known_panel(panel: pd.DataFrame, config: BacktestConfig
                 ) -> tuple[pd.DataFrame, PanelInfo]:
    """A panel passed as a DataFrame (the look-ahead harness's cut and
    mirrored copies): used as built, within --start/--end."""
    if list(panel.columns.get_level_values(0).unique()) != list(FIELDS):
        raise ConfigError(f"a portfolio DataFrame needs columns (field, asset) with fields "
                          f"{', '.join(FIELDS)} (rlbt.engine.data.panel.load_panel builds it).")
    frame = panel.loc[config.start:config.end] if (config.start or config.end) else panel
    assets = panel_assets(frame)
    filled = {a: int((frame["tradable"][a] == 0).sum()) for a in assets}
    return frame.copy(), PanelInfo(assets, tuple(assets), dict.fromkeys(assets, 0), filled)


def is_portfolio_strategy(cls: type) -> bool:
    return bool(getattr(cls, "portfolio", False))


def check_match(name: str, cls: type, frame: pd.DataFrame) -> None:
    """Refuse a single-asset strategy on several assets, and the reverse."""
    portfolio = is_portfolio_strategy(cls)
    if is_panel(frame) and not portfolio:
        assets = ",".join(panel_assets(frame))
        raise ConfigError(f"strategy {name!r} trades one asset; --data {assets} is a portfolio. "
                          "Use a portfolio strategy (equal-weight, inverse-vol, momentum-topk, "
                          "dqn-portfolio, a2c-portfolio, pg-portfolio) or one --data file.")
    if portfolio and not is_panel(frame):
        raise ConfigError(f"strategy {name!r} is a portfolio strategy: give it several assets "
                          "(rlbt run --data orcl,nvda,yhoo; in a sweep, where commas separate "
                          "datasets, orcl+nvda+yhoo is one portfolio).")


def with_assets(cls: type, params: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    """A portfolio strategy that takes an ``assets`` param learns their number
    before any bar (its agent's sizes depend on it)."""
    if is_panel(frame) and "assets" in cls.params._getkeys():  # type: ignore[attr-defined]
        return {**params, "assets": panel_assets(frame)}
    return params


def cadence(cls: type, params: dict[str, Any]) -> int:
    """The strategy's ``every`` (its rebalance cadence), 1 when it has none."""
    merged = {**dict(cls.params._getpairs()), **params}  # type: ignore[attr-defined]
    return int(merged.get("every", 1) or 1)


def describe_data(data: Any) -> str:
    """``--data`` as config.json states it (several assets joined by commas)."""
    if isinstance(data, (list, tuple)):
        return ",".join(describe_data(item) for item in data)
    return "<DataFrame>" if isinstance(data, pd.DataFrame) else str(data)
