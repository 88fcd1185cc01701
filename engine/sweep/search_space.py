"""The search space of ``rlbt sweep --search optuna``: one ``Dimension`` per
swept key, from ``--space`` items or a sweep file's ``[search]`` table.

CLI form, ``--space KEY=SPEC`` (repeatable):

- ``lr=1e-4:1e-2:log``   floats, log-uniform between the two bounds
- ``gamma=0.9:0.999``    floats, uniform
- ``window=8:64``        integers (both bounds written as whole numbers)
- ``window=8:64:8``      integers in steps of 8 (a step keeps the bounds' kind)
- ``window=8:64:int``    integers; ``:float`` forces floats (``0:1:float``)
- ``hidden=32,32|64,64`` one of the listed values (``|`` between them)

File form: ``[search]`` with ``lr = {low = 1e-4, high = 1e-2, log = true}``,
``window = {low = 8, high = 64, step = 8}`` (integers when low and high are
TOML integers) and lists for choices: ``hidden = ["32,32", "64,64"]``.

Values reach the run as text, as ``--grid`` values do, so each is coerced and
checked by the strategy's own param rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.engine.sweep.spec import grid_values

_WHOLE = re.compile(r"[+-]?[0-9]+")
_RANGE_KEYS = frozenset({"low", "high", "log", "step"})
_SCALARS = (str, int, float, bool)
CLI_FORM = "KEY=LOW:HIGH[:log|:int|:float|:STEP] or KEY=A|B|C"


@dataclass(frozen=True)
class Dimension:
    """One searched key: a range of ``int`` or ``float``, or a list of choices."""

    name: str
    kind: str  # "int", "float" or "choice"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[str, ...] = ()

    def suggest(self, trial: Any) -> str:
        """Draw this key's value for an Optuna ``trial``, as the run takes it (text)."""
        if self.kind == "choice":
            return str(trial.suggest_categorical(self.name, list(self.choices)))
        if self.kind == "int":
            step = int(self.step or 1)
            return str(trial.suggest_int(self.name, int(self.low), int(self.high), step=step,
                                         log=self.log))
        return as_text(trial.suggest_float(self.name, self.low, self.high, step=self.step,
                                           log=self.log))

    def corners(self) -> tuple[str, ...]:
        """The values checked before the first trial: both bounds, or every choice."""
        if self.kind == "choice":
            return self.choices
        kind = int if self.kind == "int" else float
        return (as_text(kind(self.low)), as_text(kind(self.high)))

    def describe(self) -> dict[str, Any]:
        """The dimension for sweep.json (and the resume fingerprint)."""
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"kind": self.kind, "low": self.low, "high": self.high, "log": self.log,
                "step": self.step}


def as_text(value: Any) -> str:
    """A drawn value as a run param: ``repr`` keeps every digit of a float."""
    return repr(value) if isinstance(value, float) else str(value)


def parse_space(items: list[str] | tuple[str, ...],
                label: str = "--space") -> tuple[Dimension, ...]:
    """``["lr=1e-4:1e-2:log", "window=8:64:8"]`` -> dimensions (see the module docstring)."""
    dims: list[Dimension] = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(f"{label} {item!r}: expected text of the form {CLI_FORM}.")
        key, sep, text = (part.strip() for part in item.partition("="))
        where = f"{label} {item!r}"
        if not sep or not key or not text:
            raise ConfigError(f"{where}: expected {CLI_FORM}, e.g. --space lr=1e-4:1e-2:log.")
        dims.append(_choices(key, text.split("|"), where) if "|" in text
                    else _from_text(key, text, where))
    return _unique(dims, label)


def _from_text(key: str, text: str, where: str) -> Dimension:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2:
        raise ConfigError(f"{where}: expected LOW:HIGH (or A|B for choices), e.g. {key}=8:64.")
    low, high = _number(parts[0], where, "low"), _number(parts[1], where, "high")
    whole = all(_WHOLE.fullmatch(p) for p in parts[:2])
    log, step, kind = False, None, None
    for opt in parts[2:]:
        if opt in ("log", "int", "float"):
            log, kind = log or opt == "log", kind if opt == "log" else opt
        else:
            step = _number(opt, where, "step")
            whole = whole and bool(_WHOLE.fullmatch(opt))
    return checked(key, kind or ("int" if whole else "float"), low, high, log, step, where)


def _number(text: str, where: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {what} {text!r} is not a number (nor log, int, float)."
                          ) from None
    if not math.isfinite(value):
        raise ConfigError(f"{where}: {what} {text!r} is not a finite number.")
    return value


def space_from_table(table: Any, label: str) -> tuple[Dimension, ...]:
    """A sweep file's ``[search]`` table as dimensions (see the module docstring)."""
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"{label}: expected a table of key = {{low = .., high = ..}} or "
                          "key = [choices], e.g. [search] lr = {low = 1e-4, high = 1e-2, log = "
                          "true}.")
    dims = []
    for key, value in table.items():
        where = f"{label}, key {key!r}"
        if isinstance(value, list):
            if not all(isinstance(v, _SCALARS) for v in value):
                raise ConfigError(f"{where}: choices must be plain values (numbers, strings, "
                                  "booleans), not nested lists or tables.")
            dims.append(_choices(str(key), [str(v) for v in value], where))
        elif isinstance(value, dict):
            dims.append(_from_table(str(key), value, where))
        else:
            raise ConfigError(f"{where}: expected {{low = .., high = ..}} or a list of choices, "
                              f"got {value!r}.")
    return _unique(dims, label)


def _from_table(key: str, value: dict[str, Any], where: str) -> Dimension:
    unknown = sorted(set(value) - _RANGE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; expected low, high, log, step.")
    if "low" not in value or "high" not in value:
        raise ConfigError(f"{where}: needs both low and high.")
    numbers = {k: value[k] for k in ("low", "high", "step") if value.get(k) is not None}
    bad = next((k for k, v in numbers.items()
                if isinstance(v, bool) or not isinstance(v, (int, float))), None)
    if bad is not None:
        raise ConfigError(f"{where}: {bad} must be a number, got {numbers[bad]!r}.")
    if not isinstance(value.get("log", False), bool):
        raise ConfigError(f"{where}: log must be true or false, got {value['log']!r}.")
    whole = all(isinstance(v, int) for v in numbers.values())
    return checked(key, "int" if whole else "float", float(numbers["low"]),
                   float(numbers["high"]), value.get("log", False), numbers.get("step"), where)


def checked(key: str, kind: str, low: float, high: float, log: bool, step: float | None,
            where: str) -> Dimension:
    """A range dimension, refused (naming ``where``) when Optuna could not draw from it."""
    if not all(math.isfinite(v) for v in (low, high)):
        raise ConfigError(f"{where}: low and high must be finite numbers.")
    if not low < high:
        raise ConfigError(f"{where}: low ({low:g}) must be below high ({high:g}); for one "
                          "value use --param.")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0 (got {low:g}).")
    if log and step is not None:
        raise ConfigError(f"{where}: a log range takes no step.")
    if step is not None and not 0 < step <= high - low:
        raise ConfigError(f"{where}: step {step:g} must be > 0 and at most high - low "
                          f"({high - low:g}).")
    if kind == "int" and not (low.is_integer() and high.is_integer()
                              and (step is None or float(step).is_integer())):
        raise ConfigError(f"{where}: an integer range needs whole-number low, high and step.")
    return Dimension(key, kind, low, high, log, None if step is None else float(step))


def _choices(key: str, values: list[str], where: str) -> Dimension:
    choices = grid_values(where, [v.strip() for v in values])
    if len(choices) < 2:
        raise ConfigError(f"{where}: give at least two choices; for one value use --param.")
    return Dimension(key, "choice", choices=choices)


def _unique(dims: list[Dimension], label: str) -> tuple[Dimension, ...]:
    names = [d.name for d in dims]
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise ConfigError(f"{label}: the key {twice!r} is given twice.")
    return tuple(dims)
