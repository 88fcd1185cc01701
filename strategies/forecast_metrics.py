"""Forecast quality, in price terms, of the model beside its baselines on the
same bars: RMSE, MAE, mean absolute log ratio and directional accuracy.

A forecast of the log return over ``horizon`` bars made at bar t is turned
into a price, close_t x exp(forecast), and compared with close_{t+horizon}.
Baselines: ``last_value`` (the price stays at close_t), ``mean_20`` (the mean
of the last 20 closes) and any comparison forecasters (``forest``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def forecast_table(
    records: list[tuple[Any, float, float, float]],
    horizon: int,
    comparisons: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Per forecast bar: close, the actual close ``horizon`` bars later (NaN
    past the end), and each forecaster's predicted price.

    :param records: (datetime, close, model forecast return, mean of 20 closes).
    :param horizon: bars ahead.
    :param comparisons: name -> forecast returns for the same bars.
    """
    table = pd.DataFrame(records, columns=["datetime", "close", "forecast_return", "mean_20"])
    table = table.set_index("datetime")
    table["actual"] = table["close"].shift(-horizon)
    table["model"] = table["close"] * np.exp(table["forecast_return"])
    table["last_value"] = table["close"]
    for name, returns in (comparisons or {}).items():
        table[name] = table["close"] * np.exp(returns)
    return table


def forecast_metrics(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Metrics of every forecaster column over the bars whose outcome is known."""
    known = table.dropna(subset=["actual"])
    names = ["model", "mean_20", "last_value"]
    names += [c for c in table.columns if c not in {*names, "close", "forecast_return", "actual"}]
    return {name: _scores(known[name], known["actual"], known["close"]) for name in names}


def _scores(predicted: pd.Series, actual: pd.Series, close: pd.Series) -> dict[str, float]:
    ok = np.isfinite(predicted) & (predicted > 0)
    p, a, c = predicted[ok].to_numpy(), actual[ok].to_numpy(), close[ok].to_numpy()
    if len(p) == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "mean_abs_log_ratio": float("nan"),
                "directional_accuracy": float("nan"), "bars": 0.0}
    error = p - a
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mean_abs_log_ratio": float(np.mean(np.abs(np.log(p / a)))),
        "directional_accuracy": float(np.mean(np.sign(p - c) == np.sign(a - c))),
        "bars": float(len(p)),
    }
