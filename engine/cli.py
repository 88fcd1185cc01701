"""The ``rlbt`` command line. Commands stay thin: parse, call the engine, print.

User mistakes (bad option, bad data, unknown strategy) print one line on
stderr and exit 1; click's own usage errors exit 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from rlbt.engine.cli_options import (
    DATA_HELP,
    cost_options,
    data_option,
    learning_options,
    metric_options,
    param_option,
    period_options,
    seed_option,
)
from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import is_user_error


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        if sys.unraisablehook is sys.__unraisablehook__:  # not when a host (pytest) set its own
            sys.unraisablehook = _unraisable
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            # the same code as `rlbt sweep` (128 + SIGINT); nothing half-written stays behind
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:
            shown = exc if is_user_error(exc) else _plugin_failure(exc)
            if shown is None:
                raise
            click.echo(f"Error: {shown}", err=True)
            sys.exit(1)


def _unraisable(info: Any) -> None:
    """An exception Python could not raise (a plugin's ``__del__``): one capped
    line, not the traceback Python would print."""
    from rlbt.engine.plugins.blame import cap

    where = getattr(info.object, "__qualname__", None) or type(info.object).__name__
    click.echo(f"Warning: ignored {type(info.exc_value).__name__} raised in {where}: "
               f"{cap(str(info.exc_value), 200)}", err=True)


def _plugin_failure(exc: Exception) -> Exception | None:
    """The plugin named with its own frames when its code raised; None for rlbt's bugs."""
    from rlbt.engine.plugins.blame import plugin_failure

    return plugin_failure(exc)


@click.group(cls=_Group)
@click.version_option(package_name="rlbt")
def main() -> None:
    """rlbt: backtests on backtrader with agents that learn online from bars."""


@main.command()
@click.argument("strategy")
@data_option()
@period_options()
@cost_options()
@metric_options()
@seed_option()
@learning_options()
@click.option(
    "--load",
    type=click.Path(dir_okay=False),  # checked by check_load_path: loops, FIFOs, devices too
    default=None,
    help="Start the agent from this checkpoint (with --episodes 0: evaluate only).",
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also save the trained agent here (the run folder always has model.pt).",
)
@param_option()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder [default: runs/<timestamp>-<strategy>].",
)
@click.option("--overwrite", is_flag=True, help="Allow writing into a non-empty --out folder.")
@click.option("--no-report", is_flag=True, help="Skip report.png and report.html.")
@click.option(
    "--walk-forward",
    "walk_forward_k",
    type=click.IntRange(min=1),
    default=None,
    help="K successive train/test windows instead of one split (test slices chained).",
)
@click.option(
    "--window-mode",
    type=click.Choice(["expanding", "rolling"]),
    default="expanding",
    show_default=True,
    help="Walk-forward train windows: from the start, or a fixed length.",
)
def run(
    strategy: str,
    source: str,
    params: tuple[str, ...],
    out: Path | None,
    overwrite: bool,
    no_report: bool,
    walk_forward_k: int | None,
    window_mode: str,
    **options: Any,
) -> None:
    """Backtest STRATEGY on train and test slices beside buy-and-hold.

    STRATEGY is a built-in name (see `rlbt strategies`), an installed plugin's
    name, path/to/file.py:Class (a file of your own) or package.module:Class;
    sb3:PPO runs a Stable-Baselines3 algorithm.
    """
    from rlbt.engine.output.run_folder import (
        check_load_path,
        check_run_dir,
        check_save_path,
        default_run_dir,
        write_run,
    )
    from rlbt.engine.output.staging import staged_folder
    from rlbt.engine.params import parse_param_pairs
    from rlbt.engine.runner import backtest

    config = BacktestConfig(params=parse_param_pairs(params), **options)
    # everything the run will write is checked before it starts, not after it
    out_dir = check_run_dir(out or default_run_dir(strategy), overwrite=overwrite)
    check_save_path(config.save, out_dir)
    check_load_path(config.load)
    if config.tensorboard:  # the live curves are named like the run folder
        config = dataclasses.replace(config, tensorboard_run=out_dir.name)
    if not no_report:  # before training, not after it
        from rlbt.engine.output.html_parts import require_plotly

        require_plotly("report.html")
    if walk_forward_k is not None:
        from rlbt.engine.walk_forward import walk_forward
        from rlbt.engine.walk_forward_io import print_walk_forward, write_walk_forward

        wf = walk_forward(strategy, source, config, walk_forward_k, window_mode, progress=True)
        with staged_folder(out_dir) as folder:
            write_walk_forward(wf, folder, report=not no_report)
        print_walk_forward(wf)
        click.echo(f"Run folder: {out_dir}")
        return
    result = backtest(strategy, source, config, progress=True)
    with staged_folder(out_dir) as folder:  # published whole, or not at all
        write_run(result, folder)
        if not no_report:
            from rlbt.engine.output.html_report import write_html_report
            from rlbt.engine.output.report import write_report

            write_report(result, folder / "report.png")
            write_html_report(result, folder / "report.html")
    from rlbt.engine.output.console import print_result

    print_result(result)
    click.echo(f"Run folder: {out_dir}")


@main.command()
@click.argument("source")
@click.option("--date-format", default=None, help="strptime format of non-ISO dates.")
@click.option("--start", default=None, help="First date to use (inclusive).")
@click.option("--end", default=None, help="Last date to use (inclusive).")
def data(source: str, date_format: str | None, start: str | None, end: str | None) -> None:
    """Validate price data SOURCE and print a summary.

    SOURCE is a CSV or Parquet path or a bundled dataset name. Exits 1 with the
    first problem found when the data cannot be used.
    """
    from rlbt.engine.data.panel import split_sources
    from rlbt.engine.data.prices import load_prices
    from rlbt.engine.data.summary import format_panel, format_summary, summarize

    sources = split_sources(source)
    if sources is not None:  # several assets: each alone, then their common calendar
        click.echo(format_panel(sources, date_format=date_format, start=start, end=end))
        return
    frame = load_prices(source, date_format=date_format, start=start, end=end)
    click.echo(format_summary(summarize(frame)))


@main.command()
@click.argument("name", required=False)
def strategies(name: str | None) -> None:
    """List strategies: built-ins and installed plugins, with their params.

    With NAME (any name `rlbt run` accepts), show that one in full.
    """
    from rlbt.engine.output.console import print_strategies, print_strategy

    if name:
        print_strategy(name)
    else:
        print_strategies()


@main.command(name="sweep")
@click.argument("strategy", required=False)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML or YAML file with the same options (flags override).",
)
@click.option("--data", "datasets", default=None,
              help="Comma-separated datasets, one sweep dimension; each item a " + DATA_HELP
              + " Join assets with + for one portfolio (orcl+nvda+yhoo).")
@click.option(
    "--grid",
    "grid",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Values to sweep (repeatable): a strategy param or a run setting "
    "(commission, slippage, split, episodes, ...).",
)
@click.option("--seeds", default=None, help="Seeds, e.g. 0-4 or 0,3,7 [default: 0].")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default=None,
    help="local process pool [default] or Ray.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel runs [default: CPU count].",
)
@click.option("--address", default=None, help="Ray cluster address (default: a local Ray).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sweep folder; rerun with the same folder to resume.",
)
@click.option("--rank", default=None, help="Test metric to rank by [default: sharpe].")
@click.option(
    "--walk-forward",
    "walk_forward_k",
    type=click.IntRange(min=1),
    default=None,
    help="K walk-forward windows per run.",
)
@click.option("--window-mode", type=click.Choice(["expanding", "rolling"]), default=None,
              help="Walk-forward train windows: expanding from the first bar, or rolling "
                   "(a fixed length) [default: expanding].")
@click.option("--no-report", "no_report", is_flag=True, default=None,
              help="Skip sweep.png and sweep.html (tables only).")
@click.option("--search", type=click.Choice(["optuna"]), default=None,
              help="Search the --space with Optuna instead of a grid; each trial is scored "
                   "on the validation slice (never the test slice), then the best settings "
                   "run once on the test slice. Needs rlbt[search].")
@click.option("--trials", type=int, default=None,
              help="Trials of --search (resume: the same --out continues up to N).")
@click.option("--sampler", type=click.Choice(["tpe", "random", "cmaes"]), default=None,
              help="Optuna sampler of --search, seeded from --seeds [default: tpe].")
@click.option("--pruner", type=click.Choice(["median", "none"]), default=None,
              help="Stop a --search trial early when its validation score after an episode "
                   "is below the median of the completed trials' (learning strategies) "
                   "[default: median].")
@click.option("--space", "space", multiple=True, metavar="KEY=LOW:HIGH[:OPT]",
              help="A searched key (repeatable): lr=1e-4:1e-2:log (log-uniform floats), "
                   "gamma=0.9:0.99 (floats), window=8:64 (whole bounds: integers), "
                   "window=8:64:8 (a step), fast=5:50:int or 0:1:float (the kind), "
                   "hidden='32,32|64,64' (one of the choices). In --config: a [search] table.")
@param_option("Fixed strategy parameter for every run (repeatable).")
@period_options(sweep=True)
@cost_options(sweep=True)
@metric_options(sweep=True)
@learning_options(sweep=True)
def sweep_command(strategy: str | None, config_file: Path | None, **flags: Any) -> None:
    """Run STRATEGY over a grid of params x seeds x datasets, in parallel.

    Writes runs.csv (one row per run), summary.csv (mean, std and 95% CI over
    seeds per parameter set, ranked by --rank), break_even.csv when commission
    is swept, sweep.png and sweep.html. Failed runs are recorded and the sweep goes on;
    Ctrl-C keeps what finished; rerunning the same --out skips finished runs.

    With --search optuna --trials N --space ...: an Optuna study instead of a
    grid, scored on the validation slice; writes trials.csv, best.json (the
    best settings and their one test-slice run) and failures.json.
    """
    from rlbt.engine.output.console import print_sweep
    from rlbt.engine.sweep.cli import spec_from_options
    from rlbt.engine.sweep.driver import sweep

    spec, options = spec_from_options(strategy, config_file, flags)
    if options["search"] is not None:
        from rlbt.engine.sweep.search_cli import run_search

        sys.exit(run_search(spec, options))
    result = sweep(
        spec,
        options["out"],
        executor=options["executor"],
        workers=options["workers"],
        address=options["address"],
        rank=options["rank"],
        progress=True,
        report=options["report"],
    )
    print_sweep(result, options["rank"], options["out"])
    if result.interrupted:
        sys.exit(130)
    if result.failures:
        sys.exit(1)


@main.group()
def new() -> None:
    """Create things: a strategy plugin package."""


@new.command("strategy")
@click.argument("name")
@click.option("--agent", is_flag=True, help="An agent strategy with its own learning agent.")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to create the package in.",
)
def new_strategy(name: str, agent: bool, parent: Path) -> None:
    """Scaffold the plugin package rlbt-NAME: pyproject with the entry point, a
    strategy module, a test on bundled data and a README."""
    from rlbt.engine.plugins.scaffold import scaffold_strategy

    root = scaffold_strategy(name, parent, agent=agent)
    click.echo(f"Created {root}. Next:\n  pip install -e {root}\n  rlbt run {name}")


@main.command()
@click.argument("strategy")
@data_option()
@click.option(
    "--cuts",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Cut points spread over the test slice.",
)
@period_options()
@cost_options()
@seed_option()
@learning_options()
@param_option()
def lookahead(
    strategy: str, source: str, cuts: int, params: tuple[str, ...], **options: Any
) -> None:
    """Check that STRATEGY never uses a bar after the one it decides on.

    Runs it on the full data, on the data cut at --cuts points, and on data
    whose future was replaced, with the same seed; reports every decision
    before a cut that changed. Exit 0 when clean, 1 when a leak was found.
    """
    from rlbt.engine.lookahead import check_lookahead
    from rlbt.engine.params import parse_param_pairs

    config = BacktestConfig(params=parse_param_pairs(params), **options)
    report = check_lookahead(strategy, source, cuts=cuts, config=config)
    cut_list = ", ".join(f"{c:%Y-%m-%d %H:%M}" for c in report.cuts)
    if report.clean:
        click.echo(f"No look-ahead found in {strategy} (cuts at {cut_list}).")
        return
    click.echo(
        f"Look-ahead in {strategy}: {len(report.leaks)} decisions changed with the future.",
        err=True,
    )
    for leak in report.leaks[:20]:
        click.echo(f"  {leak}", err=True)
    sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
