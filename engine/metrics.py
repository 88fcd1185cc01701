"""Performance metrics of one period, computed from backtrader's analyzers
(TimeReturn, DrawDown, TradeAnalyzer) and rlbt's equity curve."""

from __future__ import annotations

import math
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
    "win_rate",
    "exposure",
)


def period_metrics(
    strategy: Any, equity: pd.DataFrame, cash: float, bars_per_year: float
) -> dict[str, float]:
    """Metrics of the bars in ``equity`` (the traded part of the run).

    :param strategy: the finished backtrader strategy with rlbt's analyzers.
    :param equity: the equity curve restricted to the traded bars.
    :param cash: starting cash (value before the first traded bar).
    :param bars_per_year: for annualising Sharpe, Sortino and volatility.
    """
    analyzers = strategy.analyzers
    returns = pd.Series(analyzers.returns.get_analysis(), dtype=float)
    returns = returns[returns.index >= equity.index[0]].to_numpy()
    final = float(equity["value"].iloc[-1])
    trades = analyzers.trades.get_analysis()
    closed = int(_get(trades, "total", "closed"))
    won = int(_get(trades, "won", "total"))
    return {
        "final_value": final,
        "total_return": final / cash - 1.0,
        "cagr": _cagr(final / cash, equity.index[0], equity.index[-1]),
        "sharpe": _sharpe(returns, bars_per_year),
        "sortino": _sortino(returns, bars_per_year),
        "max_drawdown": analyzers.drawdown.get_analysis().max.drawdown / 100.0,
        "volatility": float(np.std(returns, ddof=1) * math.sqrt(bars_per_year))
        if len(returns) > 1
        else 0.0,
        "trades": closed,
        "win_rate": won / closed if closed else 0.0,
        "exposure": float((equity["position"] != 0).mean()),
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


def _sharpe(returns: np.ndarray, bars_per_year: float) -> float:
    if len(returns) < 2:
        return 0.0
    std = np.std(returns, ddof=1)
    if std == 0:
        return 0.0
    return float(np.mean(returns) / std * math.sqrt(bars_per_year))


def _sortino(returns: np.ndarray, bars_per_year: float) -> float:
    if len(returns) < 2:
        return 0.0
    downside = np.minimum(returns, 0.0)
    dd = math.sqrt(float(np.mean(downside**2)))
    if dd == 0:
        return 0.0
    return float(np.mean(returns) / dd * math.sqrt(bars_per_year))


def curve_metrics(values: pd.Series, start_value: float, bars_per_year: float) -> dict[str, float]:
    """Return metrics of an equity curve alone (a stitched walk-forward curve,
    which no single backtrader run produced).

    :param values: portfolio value per bar, DatetimeIndex.
    :param start_value: value before the first bar.
    :param bars_per_year: for annualising.
    """
    series = values.to_numpy(dtype=float)
    returns = np.diff(np.concatenate([[start_value], series])) / np.concatenate(
        [[start_value], series[:-1]]
    )
    peak = np.maximum.accumulate(np.concatenate([[start_value], series]))
    drawdown = 1.0 - np.concatenate([[start_value], series]) / peak
    return {
        "final_value": float(series[-1]),
        "total_return": float(series[-1] / start_value - 1.0),
        "cagr": _cagr(series[-1] / start_value, values.index[0], values.index[-1]),
        "sharpe": _sharpe(returns, bars_per_year),
        "sortino": _sortino(returns, bars_per_year),
        "max_drawdown": float(drawdown.max()),
    }
