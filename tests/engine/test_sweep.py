"""Sweeps: local and Ray give the same table, failures are recorded, resume
skips finished runs, and the statistics are right."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.runner import backtest
from rlbt.engine.sweep.driver import sweep
from rlbt.engine.sweep.spec import SweepSpec, config_for, parse_grid, parse_seeds
from rlbt.engine.sweep.summary import break_even_commission, summarize_runs, t95

BASE = BacktestConfig(start="2012-01-01", episodes=1)
QTABLE_GRID = {"lr": ("0.1", "0.3"), "window": ("2", "3")}


def _table(result) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return result.rows.drop(columns=["run_id"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    spec = SweepSpec("qtable", ("orcl",), QTABLE_GRID, (0, 1, 2), BASE)
    out = tmp_path_factory.mktemp("local")
    return spec, out, sweep(spec, out, executor="local", workers=2)


def test_local_sweep_has_one_row_per_run(local_sweep) -> None:  # type: ignore[no-untyped-def]
    spec, out, result = local_sweep
    assert len(result.rows) == 2 * 2 * 3 and not result.failures
    assert {"runs.csv", "summary.csv", "sweep.png", "sweep.json"} <= {p.name for p in out.iterdir()}
    assert len(result.summary) == 4 and (result.summary["runs"] == 3).all()
    for column in ("test_sharpe", "test_bh_sharpe", "train_total_return", "seed", "lr", "window"):
        assert column in result.rows


def test_a_sweep_run_equals_the_single_run(local_sweep) -> None:  # type: ignore[no-untyped-def]
    spec, _, result = local_sweep
    row = result.rows.query("lr == '0.3' and window == '2' and seed == 1").iloc[0]
    single = backtest("qtable", "orcl", BASE, seed=1, params={"lr": "0.3", "window": "2"})
    assert row["test_final_value"] == single.test.metrics["final_value"]
    assert row["train_sharpe"] == single.train.metrics["sharpe"]


def test_ray_gives_the_identical_table(local_sweep, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("ray")
    spec, _, local = local_sweep
    result = sweep(spec, tmp_path / "ray", executor="ray", workers=2)
    pd.testing.assert_frame_equal(_table(result), _table(local))


def test_failing_run_is_recorded_and_resume_skips_finished(tmp_path: Path) -> None:
    spec = SweepSpec("sma-cross", ("orcl",), {"fast": ("5", "oops")}, (0,), BASE)
    first = sweep(spec, tmp_path, workers=2)
    assert len(first.rows) == 1 and len(first.failures) == 1
    assert "fast" in next(iter(first.failures.values()))
    records = sorted((tmp_path / "runs").glob("*.json"))
    stamps = {p.name: p.stat().st_mtime_ns for p in records}
    again = sweep(spec, tmp_path, workers=2)
    assert again.skipped == 1 and len(again.failures) == 1  # the failed one ran again
    ok_record = next(p for p in records if json.loads(p.read_text())["status"] == "ok")
    assert ok_record.stat().st_mtime_ns == stamps[ok_record.name]
    pd.testing.assert_frame_equal(again.rows, first.rows)


def test_cli_sweep_with_commission_grid_reports_break_even(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            "sma-cross",
            "--data",
            "nvda",
            "--grid",
            "commission=0,0.005,0.02",
            "--start",
            "2010-01-01",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "break-even commission" in result.output
    assert (out / "break_even.csv").exists()


def test_cli_sweep_from_toml(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(
        'strategy = "sma-cross"\ndata = "orcl"\nseeds = "0-1"\nstart = "2012-01-01"\n'
        f'out = "{tmp_path / "out"}"\nworkers = 2\n[grid]\nfast = [5, 8]\n'
    )
    result = CliRunner().invoke(main, ["sweep", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "out" / "runs.csv")) == 4


def test_cli_sweep_with_a_failing_grid_point_exits_1_before_any_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            "sma-cross",
            "--grid",
            "start=2013-01-01,2030-01-01",  # the second has no bars: refused before any run
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1 and "--grid start=2030-01-01" in result.output
    assert not out.exists()


def test_parsers() -> None:
    assert parse_seeds("0-3") == (0, 1, 2, 3) and parse_seeds("5,1,5") == (5, 1)
    assert parse_grid(["lr=1e-3, 3e-4"]) == {"lr": ("1e-3", "3e-4")}
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid(["lr"])
    with pytest.raises(ConfigError, match="--seeds"):
        parse_seeds("a-b")


def test_grid_values_go_to_settings_or_params() -> None:
    run = SweepSpec("sma-cross", ("orcl",), {"commission": ("0.001",), "fast": ("5",)}).runs()[0]
    config = config_for(run)
    assert config.commission == 0.001 and config.params == {"fast": "5"}


def test_summary_statistics_by_hand() -> None:
    rows = pd.DataFrame(
        {
            "dataset": ["a"] * 3 + ["b"] * 2,
            "test_sharpe": [1.0, 2.0, 3.0, 5.0, 7.0],
            "test_bh_sharpe": [0.5] * 5,
        }
    )
    summary = summarize_runs(rows, ["dataset"], "sharpe").set_index("dataset")
    assert list(summary.index) == ["b", "a"]  # ranked best first
    assert summary.loc["a", "sharpe_mean"] == 2.0 and summary.loc["a", "sharpe_std"] == 1.0
    assert summary.loc["a", "sharpe_ci95"] == pytest.approx(4.303 / math.sqrt(3))
    assert summary.loc["b", "sharpe_ci95"] == pytest.approx(12.706 * math.sqrt(2) / math.sqrt(2))
    assert t95(1) != t95(1)  # NaN: no interval from one run
    with pytest.raises(UnknownNameError, match="sharpe"):
        summarize_runs(rows, ["dataset"], "sharpee")


def test_break_even_commission_interpolates() -> None:
    rows = pd.DataFrame(
        {
            "dataset": ["x"] * 3,
            "commission": ["0", "0.01", "0.02"],
            "test_total_return": [0.3, 0.1, 0.0],
            "test_bh_total_return": [0.2, 0.2, 0.2],
        }
    )
    table = break_even_commission(rows, ["dataset", "commission"])
    # Edge 0.1 at 0, -0.1 at 0.01: it crosses zero halfway.
    assert table["break_even_commission"].iloc[0] == pytest.approx(0.005)
    assert np.isnan(
        break_even_commission(rows.assign(test_total_return=0.0), ["dataset", "commission"])[
            "break_even_commission"
        ][0]
    )


# Many runs (52), so that a loaded machine cannot finish them all before the signal.
_MANY_FAST = "fast=" + ",".join(str(v) for v in range(3, 29))


def test_ctrl_c_keeps_finished_runs_and_resume_completes(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sweep"
    args = [
        sys.executable,
        "-m",
        "rlbt.engine.cli",
        "sweep",
        "sma-cross",
        "--grid",
        _MANY_FAST,
        "--seeds",
        "0-1",
        "--start",
        "2013-01-01",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("*.json"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout
    kept = len(pd.read_csv(out / "runs.csv"))
    assert 2 <= kept < 52 and "Interrupted" in stdout
    resumed = CliRunner().invoke(
        main,
        [
            "sweep",
            "sma-cross",
            "--grid",
            _MANY_FAST,
            "--seeds",
            "0-1",
            "--start",
            "2013-01-01",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
    )
    assert resumed.exit_code == 0, resumed.output
    assert f"{kept} finished runs" in resumed.output.replace("\n", " ")
    assert len(pd.read_csv(out / "runs.csv")) == 52


def test_forecast_metrics_become_sweep_columns(tmp_path: Path) -> None:
    spec = SweepSpec(
        "lstm",
        ("orcl",),
        {"window_size": ("8",)},
        (0,),
        BacktestConfig(
            start="2013-06-01", episodes=1, params={"hidden_size": "8", "compare_forest": "false"}
        ),
    )
    result = sweep(spec, tmp_path, workers=1)
    assert not result.failures
    row = result.rows.iloc[0]
    assert row["test_forecast_model_rmse"] > 0 and row["test_forecast_last_value_rmse"] > 0
