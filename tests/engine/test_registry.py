"""The strategy registry: every built-in name resolves to a Strategy that the
runner's contract accepts, params shown to users leave out the runner's own,
and the listing covers every built-in."""

from __future__ import annotations

import pytest

from rlbt.engine.compat import bt
from rlbt.engine.contracts import check_strategy
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.plugins.registry import (
    BUILTINS,
    RUNNER_PARAMS,
    describe,
    find_strategy,
    list_strategies,
    resolve_strategy,
    strategy_params,
)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_resolves_and_meets_the_contract(name: str) -> None:
    found = find_strategy(name)
    assert issubclass(found.obj, bt.Strategy)
    assert found.obj.__module__.startswith("rlbt.strategies.")
    contract = check_strategy(name, found.obj)
    assert contract.learning == ("agent" in found.obj.params._getkeys())
    assert not set(strategy_params(found.obj)) & RUNNER_PARAMS


def test_learning_strategies_are_the_agent_ones() -> None:
    learning = {n for n in BUILTINS if check_strategy(n, resolve_strategy(n)).learning}
    assert {"dqn", "qtable", "pg", "a2c", "lstm"} <= learning
    assert not learning & {"buy-and-hold", "sma-cross", "mean-forecast"}


def test_aliases_resolve_to_one_class() -> None:
    assert resolve_strategy("pg") is resolve_strategy("policy-gradient")


def test_unknown_name_suggests_and_lists() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'sma-cross'") as err:
        resolve_strategy("sma-crss")
    assert set(BUILTINS) <= set(err.value.known)


def test_a_module_attribute_that_is_not_a_strategy_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a backtrader Strategy subclass"):
        resolve_strategy("rlbt.engine.plugins.registry:describe")


def test_listing_has_every_builtin_with_its_first_doc_paragraph() -> None:
    infos = {info.name: info for info in list_strategies()}
    assert set(BUILTINS) <= set(infos)
    sma = infos["sma-cross"]
    assert sma.params["fast"] < sma.params["slow"]
    assert sma.description == describe(resolve_strategy("sma-cross"))
    assert "\n" not in sma.description and sma.description != "(no description)"


def test_describe_takes_the_first_paragraph() -> None:
    class Documented(bt.Strategy):
        """First line
        continues here.

        Second paragraph."""

    class Bare(bt.Strategy):
        pass

    assert describe(Documented) == "First line continues here."
    assert describe(Bare) == "(no description)"
