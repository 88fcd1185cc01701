"""Sweep hooks of issue 17: --tensorboard per cell (resume unaffected),
sweep.html and --no-report, grid values in numeric order, help on every flag."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main, sweep_command
from rlbt.engine.config import BacktestConfig
from rlbt.engine.sweep.driver import numeric_order, sweep
from rlbt.engine.sweep.spec import SweepSpec, run_id

QUICK = ["--start", "2013-06-01", "--workers", "1"]


def test_tensorboard_writes_one_folder_per_cell_and_resume_still_skips(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    logs, out = tmp_path / "tb", tmp_path / "sweep"
    args = ["sweep", "qtable", "--grid", "lr=0.1,0.3", "--episodes", "1", "--start",
            "2012-01-01", "--workers", "2", "--out", str(out)]
    first = CliRunner().invoke(main, [*args, "--tensorboard", str(logs)])
    assert first.exit_code == 0, first.output
    ids = set(pd.read_csv(out / "runs.csv")["run_id"])
    assert len(ids) == 2 and {p.name for p in logs.iterdir()} == ids
    for folder in logs.iterdir():
        assert any(f.name.startswith("events.out.tfevents") for f in folder.iterdir())
    again = CliRunner().invoke(main, args)  # no --tensorboard: the same runs, not redone
    assert again.exit_code == 0 and "2 finished runs" in again.output


def test_run_ids_ignore_where_logs_go() -> None:
    spec = SweepSpec("sma-cross", ("orcl",), {"fast": ("5",)})
    logged = SweepSpec("sma-cross", ("orcl",), {"fast": ("5",)},
                       base=BacktestConfig(tensorboard="tb"))
    assert spec.runs()[0]["run_id"] == logged.runs()[0]["run_id"] == run_id(logged.runs()[0])


def test_sweep_html_is_written_and_no_report_skips_the_pictures(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    spec = SweepSpec("sma-cross", ("orcl",), {"fast": ("5", "8")},
                     base=BacktestConfig(start="2013-06-01"))
    sweep(spec, tmp_path / "with", workers=1)
    assert (tmp_path / "with" / "sweep.html").stat().st_size > 0
    assert (tmp_path / "with" / "sweep.png").exists()
    result = CliRunner().invoke(main, ["sweep", "sma-cross", "--grid", "fast=5,8", *QUICK,
                                       "--no-report", "--out", str(tmp_path / "without")])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "without").iterdir()}
    assert "summary.csv" in names and not {"sweep.png", "sweep.html"} & names


def test_grid_values_sort_as_numbers(tmp_path: Path) -> None:
    spec = SweepSpec("sma-cross", ("orcl",), {"fast": ("20", "5", "10")},
                     base=BacktestConfig(start="2013-06-01"))
    result = sweep(spec, tmp_path, workers=1, report=False)
    assert list(result.rows["fast"]) == ["5", "10", "20"]
    assert list(pd.read_csv(tmp_path / "runs.csv")["fast"]) == [5, 10, 20]
    words = pd.Series(["b", "a10", "a5"], dtype=object)
    assert list(numeric_order(words)) == ["b", "a10", "a5"]  # text stays text


def test_every_sweep_flag_has_help() -> None:
    missing = [p.name for p in sweep_command.params
               if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not missing, missing
