"""The engine <-> strategy contract, checked once where a strategy is
resolved, and the CLI options every backtesting command shares."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from rlbt.engine.cli import main
from rlbt.engine.compat import bt
from rlbt.engine.contracts import check_strategy
from rlbt.engine.errors import ConfigError
from rlbt.engine.runner import backtest

SHARED = ("--data", "--date-format", "--start", "--end", "--train-end", "--split", "--cash",
          "--commission", "--slippage", "--episodes", "--freeze", "--device", "--threads",
          "--param")


class HalfLearning(bt.Strategy):
    """Builds an agent but cannot load one or report its episodes."""

    params: Any = (("agent", None),)

    @classmethod
    def build_agent(cls, params: dict[str, Any], config: Any) -> None:
        return None


class PretrainsButDoesNotLearn(bt.Strategy):
    @classmethod
    def pretrain(cls, agent: Any, frame: Any, params: Any) -> None:
        return None


def test_a_half_kept_learning_contract_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="has build_agent but not load_agent, episode_stats"):
        check_strategy("half", HalfLearning)
    with pytest.raises(ConfigError, match="HalfLearning.*LearningStrategy"):
        backtest(HalfLearning, "orcl")  # the runner checks before loading any data


def test_pretrain_without_learning_is_refused() -> None:
    with pytest.raises(ConfigError, match="pretrain.*not a learning strategy"):
        check_strategy("p", PretrainsButDoesNotLearn)


def test_a_plain_strategy_is_not_learning() -> None:
    contract = check_strategy("plain", bt.Strategy)
    assert not (contract.learning or contract.pretrains or contract.period_extras)


def _options(command: click.Command) -> dict[str, click.Option]:
    return {decl: p for p in command.params if isinstance(p, click.Option) for decl in p.opts}


@pytest.mark.parametrize("option", SHARED)
def test_shared_options_exist_on_run_sweep_and_lookahead_with_one_help(option: str) -> None:
    commands = {name: _options(main.commands[name]) for name in ("run", "sweep", "lookahead")}
    for name, options in commands.items():
        assert option in options, f"rlbt {name} lacks {option}"
    run, lookahead = commands["run"][option], commands["lookahead"][option]
    assert run.help == lookahead.help and run.default == lookahead.default
    # sweep takes None (its config file may set it) and states the real default;
    # its --data is a list and its --param fixes a value for every run of the grid.
    if option not in ("--data", "--param"):
        assert commands["sweep"][option].default is None
        assert commands["sweep"][option].help.startswith(run.help or "")


@pytest.mark.parametrize("command", ["run", "sweep", "lookahead"])
def test_date_format_reaches_the_loader(command: str, tmp_path: Any) -> None:
    """A day-first file fails without --date-format on every command alike."""
    from rlbt.engine.data.prices import load_prices

    frame = load_prices("orcl").iloc[:80].reset_index()
    frame["datetime"] = frame["datetime"].dt.strftime("%d/%m/%Y")
    path = tmp_path / "dayfirst.csv"
    frame.to_csv(path, index=False)
    args = [command, "sma-cross", "--data", str(path), "--out", str(tmp_path / "o")]
    if command == "lookahead":
        args = [command, "sma-cross", "--data", str(path)]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1 and "--date-format" in out.output, out.output
    assert "Traceback" not in out.output
