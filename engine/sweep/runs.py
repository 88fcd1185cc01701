"""One sweep run, executed in a worker process (local pool or Ray): an
ordinary ``backtest()`` (or walk-forward) call whose metrics become table rows.
Every exception is caught and recorded, so one bad run never stops a sweep."""

from __future__ import annotations

import traceback
from typing import Any

import pandas as pd

from rlbt.engine.errors import is_user_error
from rlbt.engine.metrics import curve_returns
from rlbt.engine.sweep.worker import init_worker


def execute_run(run: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep cell; returns ``{"run_id", "status", "error", "rows"}``."""
    init_worker()
    try:
        rows = _trial_rows(run) if run.get("objective") else _rows(run)
    except Exception as exc:  # recorded, not raised: the sweep goes on
        detail = str(exc) if is_user_error(exc) else traceback.format_exc(limit=-3)
        return {
            "run_id": run["run_id"],
            "status": "error",
            "error": f"{type(exc).__name__}: {detail}".strip(),
            "rows": [],
        }
    return {"run_id": run["run_id"], "status": "ok", "error": "", "rows": rows}


def _trial_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    from rlbt.engine.sweep.search_runs import trial_rows  # a search trial: validation only

    return trial_rows(run)


def _rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    from rlbt.engine.runner import backtest
    from rlbt.engine.sweep.spec import config_for

    config = config_for(run)
    ident = {"run_id": run["run_id"], "dataset": run["dataset"], "seed": run["seed"], **run["grid"]}
    if run["walk_forward"]:
        from rlbt.engine.walk_forward import walk_forward

        result = walk_forward(
            run["strategy"], run["dataset"], config, run["walk_forward"], run["window_mode"]
        )
        return [{**ident, "wf_window": i + 1, **_flat(r)} for i, r in enumerate(result.runs)]
    return [{**ident, "wf_window": 0, **_flat(backtest(run["strategy"], run["dataset"], config))}]


def _flat(result: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "bars_per_year": result.annualisation.get("bars_per_year"),
        **_shape(result.test.equity["value"], result.config["cash"]),
    }
    for period in result.periods:
        row[f"{period.name}_start"] = str(period.start)
        row[f"{period.name}_end"] = str(period.end)
        row.update({f"{period.name}_{k}": v for k, v in period.metrics.items()})
        row.update({f"{period.name}_bh_{k}": v for k, v in period.benchmark.items()})
        row.update(_flatten(period.extra_metrics, f"{period.name}_"))
    return row


def _shape(values: Any, cash: float) -> dict[str, Any]:
    """Bars, skew and (non-excess) kurtosis of the test returns: the deflated Sharpe's inputs."""
    returns = pd.Series(curve_returns(values, cash))
    return {
        "test_bars": len(returns),
        "test_skew": float(returns.skew()),
        "test_kurtosis": float(returns.kurt()) + 3.0,
    }


def _flatten(metrics: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Nested strategy metrics as columns: ``test_forecast_model_rmse``, ..."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}_"))
        else:
            out[f"{prefix}{key}"] = value
    return out
