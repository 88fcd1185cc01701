"""Performance metrics of one period, computed from backtrader's analyzers
(TimeReturn, DrawDown, TradeAnalyzer) and rlbt's equity curve, trade log and
order log.

Sharpe and Sortino are of the per-bar excess return over a risk-free rate
(annual, compounded to a per-bar rate), annualised with ``bars_per_year``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

METRIC_KEYS = (
    "final_value",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "volatility",
    "trades",
    "open_trades",
    "win_rate",
    "exposure",
    "rejected_orders",
)


@dataclass(frozen=True)
class Annualisation:
    """How per-bar figures become annual ones: stated in every output."""

    bars_per_year: float
    risk_free: float = 0.0  # annual rate, e.g. 0.02

    @property
    def per_bar_risk_free(self) -> float:
        return float((1.0 + self.risk_free) ** (1.0 / self.bars_per_year) - 1.0)


def period_metrics(
    strategy: Any, equity: pd.DataFrame, cash: float, annual: Annualisation
) -> dict[str, float]:
    """Metrics of the bars in ``equity`` (the traded part of the run).

    :param strategy: the finished backtrader strategy with rlbt's analyzers.
    :param equity: the equity curve restricted to the traded bars.
    :param cash: starting cash (value before the first traded bar).
    :param annual: bars per year and the risk-free rate.
    """
    analyzers = strategy.analyzers
    returns = pd.Series(analyzers.returns.get_analysis(), dtype=float)
    returns = returns[returns.index >= equity.index[0]].to_numpy()
    final = float(equity["value"].iloc[-1])
    trades = analyzers.trades.get_analysis()
    closed = int(_get(trades, "total", "closed"))
    won = int(_get(trades, "won", "total"))
    logged = analyzers.tradelog.get_analysis()
    orders = analyzers.orderlog.get_analysis()
    return {
        "final_value": final,
        "total_return": final / cash - 1.0,
        "cagr": _cagr(final / cash, equity.index[0], equity.index[-1]),
        "sharpe": _sharpe(returns, annual),
        "sortino": _sortino(returns, annual),
        "max_drawdown": analyzers.drawdown.get_analysis().max.drawdown / 100.0,
        "volatility": _volatility(returns, annual),
        "trades": len(logged),
        "open_trades": sum(t["status"] == "open" for t in logged),
        # Of closed trades only; none closed is "not computable", never 0%.
        "win_rate": won / closed if closed else math.nan,
        "exposure": float((equity["position"] != 0).mean()),
        "rejected_orders": sum(o["status"] != "Completed" for o in orders),
    }


def _get(analysis: Any, *keys: str) -> float:
    """Nested lookup in a TradeAnalyzer result, 0 when the key is absent
    (backtrader leaves out sections for which there were no trades)."""
    node = analysis
    for key in keys:
        if key not in node:
            return 0
        node = node[key]
    return float(node)


def _cagr(growth: float, first: pd.Timestamp, last: pd.Timestamp) -> float:
    years = (last - first) / pd.Timedelta(days=365.25)
    if years <= 0 or growth <= 0:
        return 0.0 if growth > 0 else -1.0
    return float(growth ** (1.0 / years) - 1.0)


def _volatility(returns: np.ndarray, annual: Annualisation) -> float:
    if len(returns) < 2:
        return 0.0
    return float(np.std(returns, ddof=1) * math.sqrt(annual.bars_per_year))


def _sharpe(returns: np.ndarray, annual: Annualisation) -> float:
    if len(returns) < 2:
        return 0.0
    excess = returns - annual.per_bar_risk_free
    std = np.std(excess, ddof=1)
    if std == 0:
        return 0.0
    return float(np.mean(excess) / std * math.sqrt(annual.bars_per_year))


def _sortino(returns: np.ndarray, annual: Annualisation) -> float:
    if len(returns) < 2:
        return 0.0
    excess = returns - annual.per_bar_risk_free
    dd = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if dd == 0:
        return 0.0
    return float(np.mean(excess) / dd * math.sqrt(annual.bars_per_year))


def curve_returns(values: pd.Series, start_value: float) -> np.ndarray:
    """Per-bar simple returns of an equity curve that started at ``start_value``."""
    path = np.concatenate([[start_value], np.asarray(values, dtype=float)])
    return np.diff(path) / path[:-1]


def curve_metrics(values: pd.Series, start_value: float, annual: Annualisation,
                  position: pd.Series | None = None) -> dict[str, float]:
    """Metrics of an equity curve alone (a stitched walk-forward curve, which
    no single backtrader run produced); trade counts are the caller's.

    :param values: portfolio value per bar, DatetimeIndex.
    :param start_value: value before the first bar.
    :param annual: bars per year and the risk-free rate.
    :param position: position per bar, for ``exposure`` (NaN without it).
    """
    path = np.concatenate([[start_value], values.to_numpy(dtype=float)])
    returns = curve_returns(values, start_value)
    drawdown = 1.0 - path / np.maximum.accumulate(path)
    return {
        "final_value": float(path[-1]),
        "total_return": float(path[-1] / start_value - 1.0),
        "cagr": _cagr(path[-1] / start_value, values.index[0], values.index[-1]),
        "sharpe": _sharpe(returns, annual),
        "sortino": _sortino(returns, annual),
        "max_drawdown": float(drawdown.max()),
        "volatility": _volatility(returns, annual),
        "exposure": float((position != 0).mean()) if position is not None else math.nan,
    }
