"""The items of ``--param features=...`` and ``--param reward=...``: a name with
``:``-separated arguments (``rsi:14``, ``drawdown_penalty:0.5``), or a plugin
class (``path/to/file.py:Class[:ARG...]``, ``package.module:Class[:ARG...]``,
or an entry point name in the plugin group).

Shared by features and rewards so both read the same way and fail the same
way: every error names the ``--param`` it came from and the item.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.plugins.loader import (
    PluginError,
    PluginImportError,
    entry_points,
    find,
    plugin_traceback,
)


@dataclass(frozen=True)
class Item:
    """One item as typed, split into the name to look up and its arguments."""

    text: str
    name: str
    args: tuple[str, ...]
    plugin: bool  # a file.py:Class or package.module:Class form


def split_item(text: str) -> Item:
    """``"rsi:14"`` -> name ``rsi``, args ``("14",)``; ``"f.py:C:3"`` -> plugin ``f.py:C``."""
    if ".py:" in text:
        location, _, rest = text.rpartition(".py:")
        attr, *args = rest.split(":")
        return Item(text, f"{location}.py:{attr}", tuple(args), True)
    head, *args = text.split(":")
    # "pkg.mod:Class": a dotted head cannot be a built-in or entry point name.
    if "." in head and args:
        return Item(text, f"{head}:{args[0]}", tuple(args[1:]), True)
    return Item(text, head, tuple(args), False)


def split_spec(param: str, spec: Any) -> list[Item]:
    """The comma-separated items of a spec; empty or repeated items refused."""
    text = "" if spec is None else str(spec)
    items = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not part for part in items):
        raise ConfigError(f"--param {param}={text!r}: expected comma-separated names, "
                          f"e.g. {EXAMPLES[param]} (an empty item is not allowed).")
    seen = set()
    for part in items:
        if part in seen:
            raise ConfigError(f"--param {param}={text}: {part!r} appears twice.")
        seen.add(part)
    return [split_item(part) for part in items]


EXAMPLES = {"features": "returns:16,range,exposure or rsi:14,sma_ratio:50,exposure",
            "reward": "log_return, differential_sharpe:0.01 or drawdown_penalty:1"}


def find_class(item: Item, param: str, group: str, builtins: Mapping[str, Any]) -> Any:
    """The built-in, entry point or plugin class ``item`` names."""
    if item.name in builtins:
        return builtins[item.name]
    points = entry_points(group)
    if item.name in points:
        return find(item.name, kind=param, group=group, builtins={}).obj
    if not item.plugin and item.args and item.args[0].isidentifier():
        item = Item(item.text, f"{item.name}:{item.args[0]}", item.args[1:], True)
    if not item.plugin:
        kind = f"{'feature' if param == 'features' else param} (--param {param})"
        raise UnknownNameError(kind, item.name, [*builtins, *points])
    try:
        return find(item.name, kind=f"--param {param} plugin", group=group, builtins={}).obj
    except PluginImportError:
        raise  # names the plugin and shows its traceback
    except ConfigError as exc:  # a missing file, module or class: say which param
        raise ConfigError(f"--param {param}: {exc}") from exc


def construct(factory: Callable[..., Any], item: Item, param: str) -> Any:
    """``factory(*args)``; a plugin's own failure is named with its traceback."""
    try:
        return factory(*item.args)
    except ConfigError:
        raise
    except Exception as exc:
        raise PluginError(f"--param {param}: {item.text!r} failed to build from the "
                          f"arguments {list(item.args)}. Its traceback:\n"
                          + plugin_traceback(exc)) from exc


def number_arg(item: Item, param: str, index: int, default: float, *, low: float,
               open_low: bool = False, integer: bool = False) -> Any:
    """Argument ``index`` of ``item`` as a number >= ``low`` (> when ``open_low``)."""
    if index >= len(item.args):
        return default
    text = item.args[index]
    kind = "an integer" if integer else "a finite number"
    bound = f"{'>' if open_low else '>='} {low:g}"
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (value <= low if open_low else value < low):
        raise ConfigError(f"--param {param}: {item.text!r}: argument {text!r} must be "
                          f"{kind} {bound}.")
    return value


def no_more_args(item: Item, param: str, allowed: int) -> None:
    """Refuse arguments beyond the ``allowed`` count (a typo would be ignored otherwise)."""
    if len(item.args) > allowed:
        raise ConfigError(f"--param {param}: {item.text!r} takes at most {allowed} "
                          f"argument{'s' if allowed != 1 else ''}, got {len(item.args)}.")
