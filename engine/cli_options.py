"""Options shared by ``rlbt run``, ``rlbt sweep`` and ``rlbt lookahead``,
declared once so each exists on all three with the same help and default.

``rlbt sweep`` takes them with no default of its own (``None``): a value not
given on the command line comes from its ``--config`` file, else from
``BacktestConfig``'s default, which the help states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from rlbt.engine.config import MAX_CASH, MAX_THREADS, MIN_CASH, SEED_MAX, BacktestConfig

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_DEFAULTS = BacktestConfig()


def _option(*decls: str, sweep: bool, default: Any, help: str, **kwargs: Any) -> Decorator:
    if sweep:
        shown = "off" if kwargs.get("is_flag") else default
        suffix = f" [default: {shown}]" if shown is not None else ""
        return click.option(*decls, default=None, help=help + suffix, **kwargs)
    return click.option(*decls, default=default, show_default=default is not None, help=help,
                        **kwargs)


def _stack(*decorators: Decorator) -> Decorator:
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


DATA_HELP = "CSV or Parquet path, or a bundled dataset (orcl, nvda, yhoo, intraday)."


def data_option() -> Decorator:
    """--data SOURCE (``rlbt sweep`` takes a comma-separated list instead)."""
    return click.option("--data", "source", default="orcl", show_default=True,
                        help=DATA_HELP + " Several, comma-separated (orcl,nvda,yhoo), are one "
                        "portfolio for a portfolio strategy.")


def period_options(*, sweep: bool = False) -> Decorator:
    """--date-format, --start, --end, --train-end, --split."""
    return _stack(
        _option("--date-format", sweep=sweep, default=None,
                help="strptime format of non-ISO dates, e.g. %d/%m/%Y."),
        _option("--start", sweep=sweep, default=None,
                help="First date to use (inclusive; a date alone means the whole day)."),
        _option("--end", sweep=sweep, default=None,
                help="Last date to use (inclusive; a date alone means the whole day)."),
        _option("--train-end", sweep=sweep, default=None,
                help="Last date of the train slice; overrides --split."),
        _option("--split", sweep=sweep, default=_DEFAULTS.split, type=float,
                help="Fraction of bars in the train slice."),
    )


def cost_options(*, sweep: bool = False) -> Decorator:
    """--cash, --commission, --slippage."""
    return _stack(
        _option("--cash", sweep=sweep, default=_DEFAULTS.cash, type=float,
                help=f"Starting cash ({MIN_CASH:g} to {MAX_CASH:g})."),
        _option("--commission", sweep=sweep, default=_DEFAULTS.commission, type=float,
                help="Commission per fill, a fraction of traded value (0.001 = 10 bp)."),
        _option("--slippage", sweep=sweep, default=_DEFAULTS.slippage, type=float,
                help="Slippage per fill, a fraction of price, always charged in full."),
    )


def metric_options(*, sweep: bool = False) -> Decorator:
    """--bars-per-year, --risk-free (annualisation of Sharpe, Sortino, volatility)."""
    return _stack(
        _option("--bars-per-year", sweep=sweep, default=None, type=click.FloatRange(min=0,
                min_open=True),
                help="Bars in a year for annualising [default: inferred from the data's "
                     "calendar: ~252 for stock days, 365 for crypto days]."),
        _option("--risk-free", sweep=sweep, default=_DEFAULTS.risk_free, type=float,
                help="Annual risk-free rate; Sharpe and Sortino are of returns above it."),
    )


def learning_options(*, sweep: bool = False) -> Decorator:
    """--episodes, --timesteps, --val, --select, --freeze, --device, --threads,
    --tensorboard (learning strategies)."""
    return _stack(
        _option("--episodes", sweep=sweep, default=_DEFAULTS.episodes,
                type=click.IntRange(min=0),
                help="Training passes over the train slice (learning strategies)."),
        _option("--timesteps", sweep=sweep, default=_DEFAULTS.timesteps,
                type=click.IntRange(min=1),
                help="Env steps of training in all, split evenly over the episodes "
                     "(sb3:ALGO strategies) [default: 10 per bar of the fit part]."),
        _option("--val", sweep=sweep, default=_DEFAULTS.val, type=float,
                help="Last fraction of the train slice that validates each episode, after "
                     "a purge gap of the observation window (0: no validation)."),
        _option("--select", sweep=sweep, default=_DEFAULTS.select,
                type=click.Choice(["best", "last"]),
                help="Agent state to test: the episode with the best validation Sharpe, "
                     "or the last."),
        _option("--freeze", sweep=sweep, default=False, is_flag=True,
                help="Do not learn during the test slice (act greedily, as trained)."),
        _option("--device", sweep=sweep, default=_DEFAULTS.device,
                help="Torch device: cpu, cuda or cuda:N."),
        _option("--threads", sweep=sweep, default=_DEFAULTS.threads,
                type=click.IntRange(0, MAX_THREADS),
                help="Torch CPU threads (0: torch's default)."),
        _option("--tensorboard", sweep=sweep, default=None, metavar="DIR",
                envvar="RLBT_TENSORBOARD", callback=_checked_tensorboard,
                help="Write live learning curves to DIR/<run> for `tensorboard --logdir DIR` "
                     "(also RLBT_TENSORBOARD; needs rlbt[tensorboard])."),
    )


def _checked_tensorboard(ctx: click.Context, param: click.Parameter,
                         value: str | None) -> str | None:
    """A bad --tensorboard folder (or no tensorboard package) is refused while
    the flags are read, before any data is loaded or any run folder checked."""
    if value is not None:
        from rlbt.engine.output.tensorboard_log import check_tensorboard

        check_tensorboard(value)
    return value


def seed_option() -> Decorator:
    """--seed (``rlbt sweep`` has --seeds instead)."""
    return click.option("--seed", default=_DEFAULTS.seed, show_default=True,
                        type=click.IntRange(0, SEED_MAX),
                        help="Seed of every random choice (0 to 2**32 - 1).")


def param_option(help: str = "Strategy parameter (repeatable), e.g. --param fast=5.") -> Decorator:
    """--param KEY=VALUE, repeatable."""
    return click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help=help)
