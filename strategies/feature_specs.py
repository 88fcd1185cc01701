"""``--param features=...``: the observation of every agent strategy, as a
comma-separated list of features, concatenated in the order given.

Built-ins (bars <= t only; returns and range x ``obs_scale``):

- ``returns[:N]`` the last N log returns of the close, oldest first (N: ``window``)
- ``range`` log(high / low) of bar t; ``volume_change`` log volume ratio (0 at zero volume)
- ``exposure`` the current target exposure; ``calendar`` sin/cos of weekday and month
- ``rsi[:N]`` (RSI - 50) / 50; ``sma_ratio[:N]`` close / SMA - 1;
  ``macd[:FAST:SLOW:SIGNAL]`` (MACD - signal) / close; ``atr[:N]`` ATR / close
- ``bt:NAME[:PARAM=VALUE...]`` every line of any ``bt.indicators`` class, raw

Without the param, the observation is today's: ``returns:window,range,exposure``,
through the precomputed (and greedy-table) path; that exact layout always is.

A feature plugin is ``path/to/file.py:Class[:ARG...]``, ``package.module:Class[:ARG...]``
or an entry point in the group ``rlbt.features``. It is built as ``Class(*ARGS)``
(the arguments as strings) once per strategy run and must have:

- ``size``: the number of floats ``value`` returns (an int, set in ``__init__``
  if it depends on the arguments);
- ``lookback`` (optional, default 1): bars ``value`` reads, bar t included;
- ``setup(strategy)`` (optional): create backtrader indicators on ``strategy.data``;
- ``value(strategy) -> sequence of floats``: called at bar t; read ``[0]`` and
  earlier (``[-1]``...), never ``[1]``: ``rlbt lookahead`` catches that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.strategies import builtin_features as bf
from rlbt.strategies import indicator_features as ind
from rlbt.strategies.spec_items import (
    Item,
    construct,
    find_class,
    no_more_args,
    number_arg,
    split_spec,
)

FEATURE_GROUP = "rlbt.features"
PARAM = "features"


def _period(item: Item, default: int) -> int:
    no_more_args(item, PARAM, 1)
    return int(number_arg(item, PARAM, 0, default, low=1, integer=True))


def _returns(item: Item, window: int) -> Any:
    return bf.Returns(_period(item, window))


def _plain(cls: type) -> Callable[[Item, int], Any]:
    def make(item: Item, window: int) -> Any:
        no_more_args(item, PARAM, 0)
        return cls()
    return make


def _macd(item: Item, window: int) -> Any:
    no_more_args(item, PARAM, 3)
    fast, slow, signal = (int(number_arg(item, PARAM, i, d, low=1, integer=True))
                          for i, d in enumerate((12, 26, 9)))
    return ind.Macd(fast, slow, signal)


def _any_indicator(item: Item, window: int) -> Any:
    if not item.args:
        raise ConfigError("--param features: 'bt' needs an indicator name, e.g. "
                          "bt:Stochastic:period=14.")
    settings = {}
    for text in item.args[1:]:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ConfigError(f"--param features: {item.text!r}: expected PARAM=VALUE, "
                              f"got {text!r}.")
        settings[key] = _setting(item, value)
    return ind.AnyIndicator(item.args[0], settings)


def _setting(item: Item, text: str) -> float | int | bool:
    """A number or true/false: no strings, so no class or callable can be named."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    raise ConfigError(f"--param features: {item.text!r}: {text!r} is not a number "
                      "or true/false.")


BUILTINS: dict[str, Callable[[Item, int], Any]] = {
    "returns": _returns,
    "range": _plain(bf.Range),
    "volume_change": _plain(bf.VolumeChange),
    "exposure": _plain(bf.Exposure),
    "calendar": _plain(bf.Calendar),
    "rsi": lambda item, window: ind.Rsi(_period(item, 14)),
    "sma_ratio": lambda item, window: ind.SmaRatio(_period(item, 50)),
    "macd": _macd,
    "atr": lambda item, window: ind.Atr(_period(item, 14)),
    "bt": _any_indicator,
}


HELP = {
    "returns": "returns[:N]  the last N log returns of the close x obs_scale (N: window)",
    "range": "range  log(high / low) of the bar x obs_scale",
    "volume_change": "volume_change  log(volume / previous volume); 0 at zero volume",
    "exposure": "exposure  the current target exposure",
    "calendar": "calendar  sin, cos of weekday (of 7) and month (of 12)",
    "rsi": "rsi[:N]  (RSI(N) - 50) / 50, N 14",
    "sma_ratio": "sma_ratio[:N]  close / SMA(N) - 1, N 50",
    "macd": "macd[:FAST:SLOW:SIGNAL]  (MACD - signal) / close, 12:26:9",
    "atr": "atr[:N]  ATR(N) / close, N 14",
    "bt": "bt:NAME[:PARAM=VALUE...]  every line of bt.indicators.NAME, raw",
}
PLUGIN_HELP = ("a plugin: path/to/file.py:Class[:ARG...], package.module:Class[:ARG...] or "
               f"an entry point in {FEATURE_GROUP} (contract: rlbt.strategies.feature_specs)")


@dataclass(frozen=True)
class Layout:
    """The parsed features: labels as typed, the feature objects, and the
    window when the layout is today's default (``returns:N,range,exposure``)."""

    labels: tuple[str, ...]
    features: tuple[Any, ...]
    default_window: int | None

    @property
    def size(self) -> int:
        return sum(int(f.size) for f in self.features)

    @property
    def lookback(self) -> int:
        """Bars the observation reads; 2 at least, for the reward's two values."""
        return max(2, *(lookback_of(f) for f in self.features))


def lookback_of(feature: Any) -> int:
    """A feature's ``lookback``: 1 (bar t alone) when it declares none."""
    return int(getattr(feature, "lookback", 1))


def parse_features(spec: Any, window: int) -> Layout:
    """The layout ``spec`` names (None: today's default for ``window``)."""
    if spec is None:
        return Layout(("returns", "range", "exposure"), (bf.Returns(window), bf.Range(),
                                                          bf.Exposure()), window)
    items = split_spec(PARAM, spec)
    features = tuple(_build(item, window) for item in items)
    kinds = tuple(type(f) for f in features)
    default = features[0].size if kinds == (bf.Returns, bf.Range, bf.Exposure) else None
    return Layout(tuple(item.text for item in items), features, default)


def _build(item: Item, window: int) -> Any:
    factory = find_class(item, PARAM, FEATURE_GROUP, BUILTINS)
    if item.name in BUILTINS:
        return factory(item, window)
    return checked_plugin(construct(factory, item, PARAM), item.text)


def checked_plugin(feature: Any, label: str) -> Any:
    """``feature`` when it has the contract; a ConfigError naming what is missing."""
    size, lookback = getattr(feature, "size", None), getattr(feature, "lookback", 1)
    problems = []
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        problems.append(f"size must be an integer >= 1 (got {size!r})")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        problems.append(f"lookback must be an integer >= 1 (got {lookback!r})")
    if not callable(getattr(feature, "value", None)):
        problems.append("it has no value(strategy) method")
    if problems:
        raise ConfigError(f"--param features: feature {label!r}: {'; '.join(problems)} "
                          "(see rlbt.strategies.feature_specs for the contract).")
    return feature


def check_features_spec(value: Any) -> None:
    """The ``param_rules`` check: the spec parses (window 1 stands in for ``window``)."""
    parse_features(value, 1)
