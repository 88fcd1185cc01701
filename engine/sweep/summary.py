"""Statistics over a sweep's runs: per parameter set, mean, std and a 95%
confidence interval over seeds, ranked by a test metric; and the commission
at which a strategy's test edge over buy-and-hold disappears."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from rlbt.engine.errors import UnknownNameError

# Two-sided 95% Student-t quantiles by degrees of freedom (1..30); 1.96 beyond.
_T95 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)
LOWER_IS_BETTER = frozenset({"max_drawdown", "volatility"})


def t95(n: int) -> float:
    """Half-width factor of a 95% interval of a mean of ``n`` values."""
    if n < 2:
        return math.nan
    return _T95[n - 2] if n - 1 <= len(_T95) else 1.96


def summarize_runs(rows: pd.DataFrame, group_keys: list[str], rank: str) -> pd.DataFrame:
    """Mean, std and 95% CI over seeds of ``test_<rank>`` (and of buy-and-hold's)
    per group, best first.

    :param rows: one row per run (and window) with ``test_*`` metric columns.
    :param group_keys: columns that identify a parameter set (dataset, grid keys).
    :param rank: metric name, e.g. ``sharpe``.
    """
    column, bench = f"test_{rank}", f"test_bh_{rank}"
    if column not in rows:
        known = sorted(c[5:] for c in rows.columns if c.startswith("test_") and "bh_" not in c)
        raise UnknownNameError("--rank metric", rank, known)
    grouped = rows.groupby(group_keys, dropna=False, sort=False)
    summary = grouped[column].agg(["count", "mean", "std"]).reset_index()
    summary["ci95"] = [
        t95(int(n)) * s / math.sqrt(n) if n > 1 else math.nan
        for n, s in zip(summary["count"], summary["std"], strict=True)
    ]
    summary["bh_mean"] = grouped[bench].mean().to_numpy()
    summary = summary.rename(
        columns={
            "count": "runs",
            "mean": f"{rank}_mean",
            "std": f"{rank}_std",
            "ci95": f"{rank}_ci95",
        }
    )
    ascending = rank in LOWER_IS_BETTER
    return summary.sort_values(f"{rank}_mean", ascending=ascending).reset_index(drop=True)


def break_even_commission(rows: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """Per parameter set (without commission): the commission at which the mean
    test edge (total return minus buy-and-hold's) falls to zero, by linear
    interpolation between swept commissions; NaN when there was no edge at the
    lowest commission, +inf when the edge survives the highest."""
    others = [k for k in group_keys if k != "commission"]
    frame = rows.assign(
        commission=rows["commission"].astype(float),
        edge=rows["test_total_return"] - rows["test_bh_total_return"],
    )
    out = []
    for key, part in frame.groupby(others, dropna=False, sort=False) if others else [((), frame)]:
        curve = part.groupby("commission")["edge"].mean().sort_index()
        out.append(
            {
                **dict(zip(others, np.atleast_1d(key), strict=True)),
                "break_even_commission": _zero_crossing(curve),
            }
        )
    return pd.DataFrame(out)


def _zero_crossing(curve: pd.Series) -> float:
    costs, edges = curve.index.to_numpy(dtype=float), curve.to_numpy(dtype=float)
    if edges[0] <= 0:
        return math.nan
    for i in range(1, len(edges)):
        if edges[i] <= 0:
            c0, c1, e0, e1 = costs[i - 1], costs[i], edges[i - 1], edges[i]
            return float(c0 + (c1 - c0) * e0 / (e0 - e1))
    return math.inf
