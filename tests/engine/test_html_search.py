"""sweep.html of an Optuna search: written at the end (not with --no-report),
the same bytes when drawn again, and it renders without script errors in
headless Chromium where one is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from tests.engine.test_html_report import _BROWSERS, _PROBE_HEAD, _PROBE_TAIL

pytest.importorskip("optuna")
pytest.importorskip("plotly")

ARGS = ["sweep", "sma-cross", "--search", "optuna", "--trials", "6", "--space", "fast=3:20",
        "--space", "slow=25:80", "--start", "2012-01-01", "--workers", "1"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("search") / "s"
    result = CliRunner().invoke(main, [*ARGS, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_page_shows_the_history_slices_and_best(searched: Path) -> None:
    from rlbt.engine.output.html_search import write_search_html

    page = (searched / "sweep.html").read_text(encoding="utf-8")
    best = json.loads((searched / "best.json").read_text())
    assert "6 trials" in page and "Optimisation history" in page
    assert "val_sharpe over fast" in page and "val_sharpe over slow" in page
    assert f"trial {best['best_trial']} (fast={best['params']['fast']}" in page
    before = (searched / "sweep.html").read_bytes()
    assert write_search_html(searched).read_bytes() == before  # drawn again: same bytes


def test_no_report_skips_the_page(tmp_path: Path) -> None:
    out = tmp_path / "s"
    result = CliRunner().invoke(main, [*ARGS, "--trials", "2", "--no-report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "trials.csv").is_file() and not (out / "sweep.html").exists()


def test_search_page_renders_in_headless_chromium(searched: Path, tmp_path: Path) -> None:
    browser = next((b for b in map(shutil.which, _BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no headless Chromium installed")
    page = (searched / "sweep.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + _PROBE_HEAD, 1)
                     .replace("</body>", _PROBE_TAIL + "</body>", 1), encoding="utf-8")
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         "--virtual-time-budget=20000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    found = re.search(r"<title>PROBE (.*?)</title>", done.stdout)
    assert found, done.stderr[-2000:]
    report = json.loads(found.group(1).replace("&quot;", '"'))
    assert report["errors"] == [] and report["plots"] >= page.count("Plotly.newPlot(")
