"""Writing and showing a walk-forward run: one run folder per window, the
per-window table, the chained out-of-sample curve, its plot and its
interactive page (walk_forward.html, when plotly is installed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import click  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from rlbt.engine.output.atomic import atomic_path  # noqa: E402
from rlbt.engine.output.html_parts import EXTRA, plotly_available  # noqa: E402
from rlbt.engine.output.report import write_report  # noqa: E402
from rlbt.engine.output.run_folder import write_csv, write_json, write_run  # noqa: E402
from rlbt.engine.walk_forward import WalkForwardResult  # noqa: E402


def write_walk_forward(result: WalkForwardResult, out: Path, *, report: bool = True) -> None:
    """Write ``window-NN/`` run folders, ``walk_forward.csv``,
    ``stitched_equity.csv``, ``metrics.json``, ``walk_forward.png`` and
    ``walk_forward.html`` (skipped with a one-line notice without plotly: the
    windows have trained by now, and their results are worth keeping)."""
    for window, run in zip(result.windows, result.runs, strict=True):
        folder = out / f"window-{window.number:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        write_run(run, folder)
        if report:
            write_report(run, folder / "report.png")
    write_csv(out / "walk_forward.csv", result.table)
    write_csv(out / "stitched_equity.csv", result.stitched.rename_axis("datetime").reset_index())
    write_json(
        out / "metrics.json",
        {"stitched_test": result.metrics, "windows": result.table.to_dict(orient="records")},
    )
    if report:
        _plot(result, out / "walk_forward.png")
        _page(result, out / "walk_forward.html")


def _page(result: WalkForwardResult, path: Path) -> None:
    if not plotly_available():
        click.echo(f"Skipping {path.name}: it needs plotly ({EXTRA}).", err=True)
        return
    from rlbt.engine.output.html_walk_forward import write_walk_forward_html

    write_walk_forward_html(result, path)


def _plot(result: WalkForwardResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(12, 4))
    try:
        ax.plot(result.stitched.index, result.stitched["value"], label="strategy (out of sample)")
        ax.plot(
            result.stitched.index,
            result.stitched["benchmark"],
            "--",
            color="black",
            alpha=0.6,
            label="buy-and-hold",
        )
        for run in result.runs[1:]:
            ax.axvline(run.test.start, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"walk-forward, {len(result.runs)} windows: chained test equity")
        ax.set_ylabel("portfolio value")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    finally:
        plt.close(fig)


def print_walk_forward(result: WalkForwardResult, console: Console | None = None) -> None:
    """Per-window test return and Sharpe beside buy-and-hold, then the chain."""
    portfolio = bool(result.runs) and "portfolio" in result.runs[0].config
    held = "EW B&H" if portfolio else "B&H"  # a portfolio: equal-weight buy-and-hold
    title = "walk-forward (test slices" + ("; EW B&H = equal-weight buy-and-hold)" if portfolio
                                          else ")")
    table = Table(title=title)
    for column in ("window", "test span", "return", f"{held} return", "sharpe",
                   f"{held} sharpe"):
        table.add_column(column, justify="right")
    for row in result.table.itertuples():
        table.add_row(
            str(row.window),
            f"{row.test_start:%Y-%m-%d} .. {row.test_end:%Y-%m-%d}",
            f"{row.test_total_return:.2%}",
            f"{row.test_bh_total_return:.2%}",
            f"{row.test_sharpe:.3f}",
            f"{row.test_bh_sharpe:.3f}",
        )
    m, b = result.metrics, result.metrics["buy_and_hold"]
    table.add_row(
        "chained",
        "",
        f"{m['total_return']:.2%}",
        f"{b['total_return']:.2%}",
        f"{m['sharpe']:.3f}",
        f"{b['sharpe']:.3f}",
        style="bold",
    )
    (console or Console()).print(table)
