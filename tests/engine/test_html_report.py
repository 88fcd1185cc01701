"""report.html, walk_forward.html and sweep.html: one self-contained page each
(plotly.js inline), every trade marked, the test equity on its own axes,
the metrics and intervals shown, long series downsampled, the same bytes for
the same result, a one-line error without plotly, and a page that renders
without script errors in headless Chromium where one is installed."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from rlbt.engine.config import BacktestConfig  # noqa: E402
from rlbt.engine.errors import ConfigError  # noqa: E402
from rlbt.engine.output.html_parts import MAX_POINTS, downsample_positions  # noqa: E402
from rlbt.engine.output.html_report import MAX_TRADES, trade_list, write_html_report  # noqa: E402
from rlbt.engine.output.html_sweep import write_sweep_html  # noqa: E402
from rlbt.engine.results import RunResult  # noqa: E402
from rlbt.engine.runner import backtest  # noqa: E402
from rlbt.engine.sweep.driver import sweep  # noqa: E402
from rlbt.engine.sweep.spec import SweepSpec  # noqa: E402
from rlbt.engine.walk_forward import walk_forward  # noqa: E402
from rlbt.engine.walk_forward_io import write_walk_forward  # noqa: E402
from tests.price_series import make_prices  # noqa: E402

BASE = BacktestConfig(start="2012-01-01", episodes=1, seed=0)


@pytest.fixture(scope="module")
def sma() -> RunResult:
    return backtest("sma-cross", "orcl", BASE)


@pytest.fixture(scope="module")
def dqn() -> RunResult:
    return backtest("dqn", "orcl", BASE)


@pytest.fixture(scope="module")
def intraday() -> RunResult:
    """5-minute bars, 09:30-16:00 on business days: nights and weekends missing."""
    days = pd.bdate_range("2021-01-04", periods=100)
    index = pd.DatetimeIndex([d + pd.Timedelta(minutes=570 + 5 * i)
                              for d in days for i in range(78)], name="datetime")
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, len(index))))
    frame = make_prices(close).set_axis(index)
    return backtest("sma-cross", frame, BacktestConfig(), params={"fast": 5, "slow": 20})


def no_network(page: str) -> bool:
    """No script, style or link fetched: plotly.js is the head's first script,
    inline (its own text names URLs it never loads for these charts)."""
    head, bundle_end = page.index("<script"), page.index("</script>")
    rest = page[:head] + page[bundle_end:]
    return page.count("<script src") == 0 and "http" not in rest and "<link" not in rest


def plots(page: str) -> dict[str, list[dict[str, Any]]]:
    """Each figure's traces, by div id, read back from the page's script."""
    out, decoder = {}, json.JSONDecoder()
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        out[match.group(1)] = decoder.raw_decode(page, match.end())[0]
    return out


def layout(page: str, div_id: str) -> dict[str, Any]:
    match = re.search(rf'Plotly\.newPlot\(\s*"{div_id}",\s*', page)
    assert match
    decoder = json.JSONDecoder()
    _, end = decoder.raw_decode(page, match.end())
    return decoder.raw_decode(page, re.match(r",\s*", page[end:]).end() + end)[0]  # type: ignore[union-attr]


def values(data: Any) -> list[Any]:
    """A trace's array, plain JSON or plotly's base64 typed array."""
    if isinstance(data, dict) and "bdata" in data:
        return list(np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]))
    return list(data or [])


def grid(data: Any) -> np.ndarray:
    """A 2-D array (a heatmap's z), plain JSON or base64 with its shape."""
    if isinstance(data, dict) and "bdata" in data:
        shape = [int(n) for n in str(data["shape"]).split(",")]
        return np.asarray(values(data), dtype=float).reshape(shape)
    return np.asarray(data, dtype=float)


def by_name(traces: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [t for t in traces if t.get("name") == name]
    assert len(found) == 1, [t.get("name") for t in traces]
    return found[0]


@pytest.fixture(scope="module")
def sma_page(sma: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html_report(sma, tmp_path_factory.mktemp("sma") / "report.html")


@pytest.fixture(scope="module")
def dqn_page(dqn: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_html_report(dqn, tmp_path_factory.mktemp("dqn") / "report.html")


def test_the_page_is_one_self_contained_file(sma_page: Path) -> None:
    page = sma_page.read_text(encoding="utf-8")
    assert [p.name for p in sma_page.parent.iterdir()] == ["report.html"]  # no temp file left
    assert no_network(page)
    assert len(page) > 3_000_000  # plotly.js itself is inline
    assert set(plots(page)) >= {"rlbt-price", "rlbt-equity", "rlbt-monthly"}
    assert "rlbt-learning" not in page  # sma-cross does not train


@pytest.mark.parametrize("name", ["sma", "dqn"])
def test_every_trade_is_marked(name: str, request: pytest.FixtureRequest) -> None:
    result, path = request.getfixturevalue(name), request.getfixturevalue(f"{name}_page")
    traces = plots(path.read_text(encoding="utf-8"))["rlbt-price"]
    for period in result.periods:
        marks = sum(len(values(by_name(traces, f"{side} ({period.name})")["y"]))
                    for side in ("buy", "sell"))
        assert len(period.trades) > 0
        assert marks == len(period.trades) + int(period.trades["exit_time"].notna().sum())


def test_the_test_equity_has_its_own_axes(dqn_page: Path) -> None:
    traces = plots(dqn_page.read_text(encoding="utf-8"))["rlbt-equity"]
    train, test = by_name(traces, "strategy (train)"), by_name(traces, "strategy (test)")
    assert train.get("yaxis", "y") != test.get("yaxis", "y")
    assert train.get("xaxis", "x") != test.get("xaxis", "x")


def test_metrics_table_shows_test_sharpe_and_the_bootstrap(dqn: RunResult, dqn_page: Path) -> None:
    page = dqn_page.read_text(encoding="utf-8")
    metrics = page[page.index("<h2>Metrics</h2>"):page.index("<h2>Learning curves</h2>")]
    assert f"<td>{dqn.test.metrics['sharpe']:.4f}</td>" in metrics
    assert f"<td>{dqn.test.benchmark['sharpe']:.4f}</td>" in metrics
    low, high = dqn.test.extra_metrics["bootstrap"]["sharpe"]
    assert f"[{low:.3f}, {high:.3f}]" in metrics
    assert f"<td>{dqn.learning['val_sharpe']:.4f}</td>" in metrics  # the validation column


def test_learning_curves_for_a_learning_run(dqn: RunResult, dqn_page: Path) -> None:
    traces = plots(dqn_page.read_text(encoding="utf-8"))["rlbt-learning"]
    names = {t["name"] for t in traces}
    assert {"return", "val_sharpe", "loss"} <= names
    assert len(values(by_name(traces, "loss")["y"])) == len(dqn.training_log)


def test_downsampling_caps_points_and_keeps_the_extremes() -> None:
    rng = np.random.default_rng(1)
    series = np.cumsum(rng.normal(size=200_000))
    keep = downsample_positions(series)
    assert len(keep) <= MAX_POINTS
    assert {0, len(series) - 1, int(series.argmin()), int(series.argmax())} <= set(keep)
    assert list(downsample_positions(series[:100])) == list(range(100))


def test_intraday_page_uses_bars_and_caps_points(intraday: RunResult, tmp_path: Path) -> None:
    assert sum(len(p.equity) for p in intraday.periods) > MAX_POINTS
    page = write_html_report(intraday, tmp_path / "report.html").read_text(encoding="utf-8")
    traces = plots(page)["rlbt-price"]
    close = by_name(traces, "close (train)")
    assert close["type"] == "scattergl"
    assert len(values(close["x"])) <= MAX_POINTS
    assert all(isinstance(x, (int, np.integer)) for x in values(close["x"]))  # bar numbers
    ticks = layout(page, "rlbt-price")["xaxis"]["ticktext"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", ticks[0])


def test_same_result_same_bytes(sma: RunResult, sma_page: Path, tmp_path: Path) -> None:
    again = backtest("sma-cross", "orcl", BASE)
    assert write_html_report(again, tmp_path / "r.html").read_bytes() == sma_page.read_bytes()


def test_long_trade_lists_are_capped_with_a_note(sma: RunResult) -> None:
    many = pd.concat([sma.test.trades] * (MAX_TRADES // len(sma.test.trades) + 2))
    period = type(sma.test)(**{**sma.test.__dict__, "trades": many})
    text = trade_list((period,))
    assert f"First {MAX_TRADES:,} of {len(many):,} trades; all in trades.csv" in text
    assert text.count("<tr>") == MAX_TRADES + 1  # the header row too


def test_without_plotly_a_one_line_error_says_how_to_install_it(
        sma: RunResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("plotly", "plotly.graph_objects"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(ConfigError, match=r'pip install "plotly>=5"') as err:
        write_html_report(sma, tmp_path / "report.html")
    assert "\n" not in str(err.value)
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    result = walk_forward("sma-cross", "orcl", BASE, 3)
    out = tmp_path_factory.mktemp("wf")
    write_walk_forward(result, out, report=True)
    return result, out


def test_walk_forward_page(walk: tuple[Any, Path]) -> None:
    result, out = walk
    page = (out / "walk_forward.html").read_text(encoding="utf-8")
    traces = plots(page)["rlbt-walk-forward"]
    chained = values(by_name(traces, "strategy (out of sample)")["y"])
    assert chained[-1] == pytest.approx(result.stitched["value"].iloc[-1])
    starts = {shape["x0"] for shape in layout(page, "rlbt-walk-forward")["shapes"]}
    assert starts == {f"{run.test.start:%Y-%m-%d}" for run in result.runs}  # the boundaries
    for sharpe in result.table["test_sharpe"]:
        assert f"<td>{sharpe:.4f}</td>" in page


def test_walk_forward_without_plotly_skips_the_page_with_a_notice(
        walk: tuple[Any, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    write_walk_forward(walk[0], tmp_path, report=True)
    assert (tmp_path / "walk_forward.png").is_file()
    assert not (tmp_path / "walk_forward.html").exists()
    notice = capsys.readouterr().err
    assert 'walk_forward.html: it needs plotly (pip install "plotly>=5")' in notice


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SweepSpec("sma-cross", ("orcl",), {"fast": ("5", "10"), "slow": ("20", "40")},
                     (0, 1), BASE)
    out = tmp_path_factory.mktemp("sweep")
    sweep(spec, out, workers=1)
    return out


def test_sweep_page_heatmap_seeds_and_deflated_sharpe(swept: Path) -> None:
    page = write_sweep_html(swept).read_text(encoding="utf-8")
    runs = pd.read_csv(swept / "runs.csv")
    figures = plots(page)
    heat = figures["rlbt-heatmap-0"][0]
    assert heat["x"] == ["5", "10"] and heat["y"] == ["20", "40"]  # numbers sort as numbers
    cell = runs[(runs["fast"] == 10) & (runs["slow"] == 40)]["test_sharpe"].mean()
    assert grid(heat["z"])[1, 1] == pytest.approx(cell)  # row slow=40, column fast=10
    boxes = [t for t in figures["rlbt-seeds"] if t["type"] == "box"]
    assert len(boxes) == 4 and all(len(values(b["y"])) == 2 for b in boxes)
    deflated = json.loads((swept / "deflated_sharpe.json").read_text())
    assert f"deflated Sharpe ratio {deflated['deflated_sharpe']:.4f}" in page
    assert "0 failed runs" in page and no_network(page)


def test_sweep_page_with_break_even_and_failures(swept: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(swept, folder)
    pd.DataFrame({"dataset": ["orcl"], "break_even_commission": [np.inf]}).to_csv(
        folder / "break_even.csv", index=False)
    (folder / "failures.json").write_text(json.dumps({"abc": "ConfigError: bad"}))
    page = write_sweep_html(folder).read_text(encoding="utf-8")
    assert "Break-even commission" in page and "<td>inf</td>" in page
    assert "Failures (1)" in page and "ConfigError: bad" in page


def test_a_folder_that_is_no_sweep_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a sweep folder"):
        write_sweep_html(tmp_path)
    (tmp_path / "sweep.json").write_text("{not json")
    with pytest.raises(ConfigError, match="sweep.json: cannot be read as JSON"):
        write_sweep_html(tmp_path)


_BROWSERS = ("chromium", "chromium-headless-shell", "chromium-browser", "google-chrome",
             "headless_shell")
# Catches every script error and rejected promise; after the plots have had
# time to draw, the page's title reports them and how many plots drew.
_PROBE_HEAD = ("<script>window.__errors=[];"
               "addEventListener('error',e=>__errors.push(String(e.message)));"
               "addEventListener('unhandledrejection',e=>__errors.push(String(e.reason)));"
               "const _e=console.error;console.error=(...a)=>{__errors.push(a.join(' '));"
               "_e(...a)};</script>")
_PROBE_TAIL = ("<script>setTimeout(()=>{document.title='PROBE '+JSON.stringify({errors:"
               "__errors,plots:document.querySelectorAll('.js-plotly-plot .main-svg').length})"
               "},2000)</script>")


@pytest.mark.parametrize("name", ["dqn_page", "sweep"])
def test_pages_render_in_headless_chromium(name: str, request: pytest.FixtureRequest,
                                           tmp_path: Path) -> None:
    browser = next((b for b in map(shutil.which, _BROWSERS) if b), None)
    if browser is None:
        pytest.skip("no headless Chromium installed")
    path = (request.getfixturevalue(name) if name != "sweep"
            else write_sweep_html(request.getfixturevalue("swept")))
    page = path.read_text(encoding="utf-8")
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
    assert report["errors"] == []
    assert report["plots"] >= page.count("Plotly.newPlot(")
