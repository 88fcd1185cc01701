"""What a portfolio run adds to its period's results: ``weights.csv`` (each
asset's share of the value at every traded bar's close, and cash),
``targets.csv`` (each decision's target weights) and the metrics
``turnover`` (traded value over the mean portfolio value), ``commission_paid``,
``slippage_paid``, ``costs_paid`` (in cash) and ``untradable_skips`` (trades
not sent because the asset had no bar)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def portfolio_extras(strat: Any) -> dict[str, Any]:
    """``{"metrics": {...}, "tables": {"weights": ..., "targets": ...}}`` of a finished run."""
    assets = list(strat.assets)
    held = pd.DataFrame(strat.held, columns=["datetime", *assets]).set_index("datetime")
    held["cash"] = 1.0 - held[assets].sum(axis=1)
    targets = pd.DataFrame(strat.targets, columns=["datetime", *assets]).set_index("datetime")
    targets["cash"] = 1.0 - targets[assets].sum(axis=1)
    traded = commission = slippage = 0.0
    for order, price in strat.sent:
        executed = getattr(order, "executed", None)
        if executed is None or not executed.size:
            continue
        shares = abs(float(executed.size))
        traded += shares * price
        commission += float(executed.comm)
        slippage += shares * abs(float(executed.price) - price)
    mean_value = float(np.mean(strat.values)) if strat.values else float("nan")
    metrics = {
        "turnover": traded / mean_value if mean_value > 0 else float("nan"),
        "commission_paid": commission,
        "slippage_paid": slippage,
        "costs_paid": commission + slippage,
        "untradable_skips": int(strat.untradable_skips),
    }
    return {"metrics": {"portfolio": metrics}, "tables": {"weights": held, "targets": targets}}
