"""Hostile run options and param numbers (issue 14 review: findings 7, 9, 12).

``--cash`` outside [1e-2, 1e15], an integer param beyond 2**53 and a
``--param`` given twice: each is refused before the first bar, exit 1, no
traceback, the option or param named as the user wrote it, and a run folder
that was there is left as it was.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from harness import Outcome, assert_refused, assert_unchanged, cli, snapshot

from rlbt.engine.config import MAX_CASH, MIN_CASH, BacktestConfig
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import MAX_INT, coerce_params, parse_param_pairs
from rlbt.engine.validation import MIN_DECISION_BARS, check_history

SMALL = ("--data", "orcl", "--start", "2013-01-01", "--episodes", "1", "--no-report")


def run_over_old_folder(tmp_path: Path, strategy: str, *args: str) -> tuple[Outcome, Path]:
    """``rlbt run`` with --overwrite over an earlier run folder, which must survive."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"sharpe": 1.0}')
    outcome = cli("run", strategy, *SMALL, "--out", str(out), "--overwrite", *args)
    return outcome, out


# -- --cash: the bounds that keep every value finite (finding 7) --

CASH_CASES = [
    pytest.param("1e308", "1e+308", id="cash-1e308"),
    pytest.param("1e16", "1e+16", id="cash-above-1e15"),
    pytest.param("1e-300", "1e-300", id="cash-1e-300"),
    pytest.param("0.001", "0.001", id="cash-below-a-cent"),
    pytest.param("-5", "-5", id="cash-negative"),
]


@pytest.mark.parametrize(("cash", "shown"), CASH_CASES)
def test_cash_outside_its_range_is_refused_naming_cash_and_the_range(
    tmp_path: Path, cash: str, shown: str
) -> None:
    outcome, out = run_over_old_folder(tmp_path, "sma-cross", "--cash", cash)
    before = {"metrics.json": b'{"sharpe": 1.0}'}
    assert_refused(outcome, "--cash", shown, "[0.01, 1e+15]")
    assert_unchanged(before, out)
    assert len(outcome.output.strip().splitlines()) == 1, outcome.output


@pytest.mark.parametrize("cash", ["0.01", "1e15"])
def test_cash_at_its_bounds_is_accepted(cash: str) -> None:
    assert BacktestConfig(cash=float(cash)).cash == float(cash)


@pytest.mark.parametrize("cash", [1e308, 1e-300, 10**400, math.inf, True])
def test_cash_from_the_python_api_is_refused_as_a_config_error(cash: Any) -> None:
    with pytest.raises(ConfigError, match="--cash"):
        BacktestConfig(cash=cash)


def test_cash_as_a_sweep_grid_value_is_refused_before_any_run(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    outcome = cli("sweep", "sma-cross", "--start", "2013-06-01", "--workers", "1",
                  "--grid", "cash=1000,1e308", "--out", str(out))
    assert_refused(outcome, "cash", "1e+308", "[0.01, 1e+15]")
    assert not out.exists()


def test_the_cash_bounds_leave_every_later_computation_finite() -> None:
    """Why the bounds are where they are: at the extremes of cash and price, and
    the largest exposure (10x), shares and values stay finite and far from the
    subnormal floats."""
    from rlbt.engine.data.validate import MAX_PRICE, MIN_PRICE

    most = MAX_CASH / MIN_PRICE * MAX_PRICE * 10
    least = MIN_CASH / MAX_PRICE
    assert np.isfinite([most, most**2 / 1e200]).all() and most < 1e40
    assert least > 1e-20  # far above 2.2e-308, where values rounded to 0


# -- integers beyond 2**53 (finding 9) --

BIG_INTS = [
    pytest.param("mean-forecast", "window=99999999999999999999999",
                 "--param window=99999999999999999999999", id="window-1e23"),
    pytest.param("mean-forecast", "window=9007199254740993", "--param window=9007199254740993",
                 id="window-2**53+1"),
    pytest.param("mean-forecast", "window=-99999999999999999999999",
                 "--param window=-9999",
                 id="window-minus-1e23"),
    pytest.param("mean-forecast", "window=" + "9" * 5000, "--param window=999",
                 id="window-5000-digits"),
    pytest.param("dqn", "hidden=64,99999999999999999999999", "--param hidden=64,9999",
                 id="hidden-item-1e23"),
]


@pytest.mark.parametrize(("strategy", "pair", "culprit"), BIG_INTS)
def test_an_integer_param_beyond_2_53_is_refused_naming_it(
    tmp_path: Path, strategy: str, pair: str, culprit: str
) -> None:
    outcome, out = run_over_old_folder(tmp_path, strategy, "--param", pair)
    assert_refused(outcome, culprit, "2**53")
    assert_unchanged({"metrics.json": b'{"sharpe": 1.0}'}, out)
    assert len(outcome.output) < 400, "a huge number must not be echoed whole"


def test_an_integer_at_2_53_passes_the_bound() -> None:
    from rlbt.strategies.baselines import MeanForecast

    assert coerce_params("mean-forecast", MeanForecast, {"window": str(MAX_INT)}) == {
        "window": MAX_INT}
    with pytest.raises(ConfigError, match=r"--param window=\(an integer of 1329 bits\)"):
        coerce_params("mean-forecast", MeanForecast, {"window": 10**400})


class _HugeWindow:
    """A strategy whose lookback is window + 1, as mean-forecast's."""

    params: ClassVar[tuple[tuple[str, int], ...]] = (("window", 20),)
    lookback_params: ClassVar[tuple[str, ...]] = ("window",)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        return int(params["window"]) + 1


def test_the_lookback_message_counts_in_exact_integers() -> None:
    """Through float, 2**53 + 1 would print as 2**53 and the counts would not add up."""
    window = 2**53 + 1
    with pytest.raises(ConfigError) as error:
        check_history(_HugeWindow, {"window": window}, 100, "The train slice", "--split")
    message = str(error.value)
    assert f"--param window={window}" in message
    assert f"looks back {window + 1} bars" in message
    assert f"needs {window + 1 + MIN_DECISION_BARS} " in message


# -- a --param given twice (finding 12) --

def test_a_param_given_twice_is_refused_naming_the_key(tmp_path: Path) -> None:
    outcome, out = run_over_old_folder(
        tmp_path, "mean-forecast", "--param", "window=5", "--param", "window=6")
    assert_refused(outcome, "--param window", "twice", "window=5", "window=6")
    assert_unchanged({"metrics.json": b'{"sharpe": 1.0}'}, out)


def test_a_param_given_twice_in_a_sweep_is_refused_before_any_run(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    before = snapshot(tmp_path)
    outcome = cli("sweep", "sma-cross", "--start", "2013-06-01", "--workers", "1",
                  "--param", "fast=5", "--param", " fast =8", "--out", str(out))
    assert_refused(outcome, "--param fast", "twice")
    assert_unchanged(before, tmp_path)
    assert not out.exists()


def test_distinct_params_still_parse() -> None:
    assert parse_param_pairs(["fast=5", "slow=20"]) == {"fast": "5", "slow": "20"}
