"""Reading a ``--config`` sweep file (TOML or YAML) and checking every key.

The file takes the names of the ``rlbt sweep`` flags (``data``, ``seeds``,
``walk_forward`` or ``walk-forward``, ...) plus ``strategy`` and a ``grid``
table (or a ``search`` table: the space of ``--search optuna``,
``engine/sweep/search_space.py``), and each value must be what the flag would
accept: the keys and the click types are read off the command itself, so a new flag is known here at
once. An unknown key or a value of the wrong type or range is refused naming
the file and the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import click

from rlbt.engine.config import BacktestConfig
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.params import parse_param_pairs
from rlbt.engine.sweep.search_space import parse_space, space_from_table
from rlbt.engine.sweep.spec import (
    check_datasets,
    check_seeds,
    grid_values,
    parse_datasets,
    parse_seeds,
)

_SCALARS = (str, int, float, bool)
_DATES = ("start", "end", "train_end")
_SETTINGS = frozenset(f.name for f in dataclasses.fields(BacktestConfig))


@dataclasses.dataclass(frozen=True)
class SweepFile:
    """The checked options of a sweep file, by the sweep command's parameter
    names (``datasets``, ``walk_forward_k``, ...), and each one's label for errors."""

    values: dict[str, Any]
    labels: dict[str, str]


def read_sweep_file(path: Path) -> SweepFile:
    """Load ``path`` and check each key and value (see the module docstring)."""
    options = _options()
    aliases = {alias: name for name, param in options.items() for alias in _aliases(param)}
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for key, value in load_sweep_file(path).items():
        name = aliases.get(str(key).replace("-", "_"))
        if name is None:
            raise UnknownNameError(f"key in {path}", str(key), sorted(_spellings(options)))
        label = f"{path}: key {key!r}"
        if name in values:
            raise ConfigError(f"{label}: {labels[name]} already sets this option.")
        values[name], labels[name] = _check(name, options[name], value, label), label
    return SweepFile(values, labels)


def load_sweep_file(path: Path) -> dict[Any, Any]:
    """The top-level mapping of a ``.toml``, ``.yaml`` or ``.yml`` file."""
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(f"--config {path}: expected a .toml, .yaml or .yml file.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--config {path}: not UTF-8 text ({exc.reason}).") from exc
    data = _parse_toml(path, text) if suffix == ".toml" else _parse_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(
            f"--config {path}: expected a mapping of option = value at the top "
            f"level, found {type(data).__name__}."
        )
    return data


def _parse_toml(path: Path, text: str) -> Any:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path}: not valid TOML: {exc}.") from exc


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise ConfigError("YAML sweep files need PyYAML: pip install pyyaml.") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise ConfigError(f"--config {path}: not valid YAML: {first}.") from exc


def _options() -> dict[str, click.Parameter]:
    """The sweep command's parameters by name (``--config`` itself excluded)."""
    from rlbt.engine.cli import sweep_command  # at call time: engine/cli imports us lazily

    return {p.name: p for p in sweep_command.params if p.name and p.name != "config_file"}


def _aliases(param: click.Parameter) -> set[str]:
    return {str(param.name), *(o.lstrip("-").replace("-", "_") for o in param.opts)}


def _spellings(options: dict[str, click.Parameter]) -> set[str]:
    """The key names to suggest: the flags' own spellings."""
    return {o.lstrip("-").replace("-", "_") for p in options.values() for o in p.opts}


def _check(name: str, param: click.Parameter, value: Any, label: str) -> Any:
    special = {"grid": _grid, "params": _params, "seeds": _seeds, "datasets": _datasets,
               "space": _space}
    if name in special:
        return special[name](value, label)
    if name == "search" and isinstance(value, dict):  # [search]: the space (and optuna)
        return space_from_table(value, label)
    if name in _DATES and isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    checked = _typed(param, value, label)
    if name in _SETTINGS:
        try:
            BacktestConfig(**{name: checked})  # the run's own range rules, one key at a time
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from exc
    return checked


def _typed(param: click.Parameter, value: Any, label: str) -> Any:
    """The value as the flag's click type would take it, from a file value of the
    matching kind (a TOML string for text flags, integer for integer flags, ...)."""
    kind = param.type
    if getattr(param, "is_flag", False):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(kind, (click.types.IntParamType, click.IntRange)):
        ok, expected = type(value) is int, "a whole number"
    elif isinstance(kind, (click.types.FloatParamType, click.FloatRange)):
        ok, expected = _is_number(value), "a number"
    else:
        ok, expected = isinstance(value, str) and value.strip() != "", "a non-empty string"
    if not ok:
        raise ConfigError(f"{label}: expected {expected}, got {value!r}.")
    try:
        return kind.convert(value, param, None)
    except click.BadParameter as exc:
        raise ConfigError(f"{label}: {exc.message}") from exc


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _grid(value: Any, label: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"{label}: expected a table of key = [values], e.g. grid = {{fast = [5, 10]}}."
        )
    out = {}
    for key, values in value.items():
        items = values if isinstance(values, list) else [values]
        where = f"{label}, grid key {key!r}"
        if not all(isinstance(v, _SCALARS) for v in items):
            raise ConfigError(
                f"{where}: expected a list of plain values (numbers, strings, "
                "booleans), not nested lists or tables."
            )
        out[str(key)] = grid_values(where, [_text(v) for v in items])
    return out


def _params(value: Any, label: str) -> dict[str, Any]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        try:
            return parse_param_pairs(value)
        except ConfigError as exc:
            raise ConfigError(f"{label}: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a table, e.g. param = {{fast = 5}}.")
    bad = next((k for k, v in value.items() if not isinstance(v, _SCALARS)), None)
    if bad is not None:
        raise ConfigError(f"{label}: {bad!r} must be a plain value (number, string, boolean).")
    return {str(k): v for k, v in value.items()}


def _space(value: Any, label: str) -> tuple[Any, ...]:
    """``space = ["lr=1e-4:1e-2:log", ...]`` (the --space form) or a table (the [search] form)."""
    if isinstance(value, dict):
        return space_from_table(value, label)
    return parse_space(value if isinstance(value, list) else [value], label)


def _seeds(value: Any, label: str) -> tuple[int, ...]:
    if isinstance(value, str):
        return parse_seeds(value, label)
    return check_seeds(label, value if isinstance(value, list) else [value])


def _datasets(value: Any, label: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return parse_datasets(value, label)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"{label}: expected a dataset or a list of them, e.g. "
            f'data = ["orcl", "prices.csv"]; got {value!r}.'
        )
    return check_datasets(label, [v.strip() for v in value])


def _text(value: Any) -> str:
    """A grid value as text, as the CLI passes them (``str``: run ids stay as before)."""
    return str(value)


def flag_names() -> dict[str, str]:
    """Each sweep parameter's name -> the flag a user types (``datasets`` -> ``--data``)."""
    return {name: param.opts[0] for name, param in _options().items()}
