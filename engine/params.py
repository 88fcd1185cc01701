"""``--param key=value`` parsing and checking against a strategy's params.

Two steps, both at the boundary, before any bar is read:

1. coercion: each value takes the type of its default (int, float, bool, a
   comma-separated tuple of the default's element type). Floats must be
   finite: no param of rlbt means anything with ``nan`` or ``inf``.
2. ranges: a strategy may declare ``param_rules`` (name -> ``Rule``); the
   rules of every class in its MRO apply, subclasses overriding parents.
   Errors name ``--param NAME`` as the user typed it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rlbt.engine.data.messages import clip
from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.plugins.registry import RUNNER_PARAMS, strategy_params

MAX_INT = 2**53
"""The largest integer a param may hold (in magnitude). Beyond it a number is no
longer exact once anything turns it into a float (NumPy, torch, JSON), so it
would be used, and echoed, as a different number; no count, size or window of
rlbt comes near it."""
_LONG_INT = re.compile(r"[+-]?0*[1-9]\d{16,}")  # 17 digits and more: above 2**53 (16 digits)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Rule:
    """The values one param accepts: a number in [low, high] (``open_low`` /
    ``open_high``: the bound itself excluded), an integer when ``integer``; for a tuple param,
    each item must satisfy the bounds, there must be ``min_items`` of them and,
    when ``distinct``, no repeats. ``none_ok`` lets None through. ``check``,
    for a param that is not a number (a spec such as ``--param features``),
    replaces all of that: it is called with the value and raises a
    ``ConfigError`` that names the param and what is wrong."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    integer: bool = False
    min_items: int = 0
    distinct: bool = False
    none_ok: bool = False
    example: str = ""
    check: Callable[[Any], None] | None = None

    def expected(self) -> str:
        """The rule in words, for messages."""
        kind = "an integer" if self.integer else "a finite number"
        if self.low is not None and self.high is not None:
            left, right = "([" [not self.open_low], ")]" [not self.open_high]
            kind += f" in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low is not None:
            kind += f" {'>' if self.open_low else '>='} {self.low:g}"
        elif self.high is not None:
            kind += f" {'<' if self.open_high else '<='} {self.high:g}"
        if self.min_items:
            repeat = ", all different" if self.distinct else ""
            kind = f"at least {self.min_items} comma-separated values, each {kind}{repeat}"
        if self.none_ok:
            kind += " (or none)"
        return kind + (f", e.g. {self.example}" if self.example else "")

    def accepts(self, value: Any) -> bool:
        """True when ``value`` satisfies the rule."""
        if value is None:
            return self.none_ok
        if self.min_items:
            items = _items(value)
            if items is None or len(items) < self.min_items:
                return False
            if self.distinct and len(set(items)) != len(items):
                return False
            return all(self._number_ok(item) for item in items)
        return self._number_ok(value)

    def _number_ok(self, value: Any) -> bool:
        # numbers.*: NumPy scalars from the Python API or a sweep grid count too.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if not math.isfinite(value) or (self.integer and not isinstance(value, numbers.Integral)):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or (value < self.high if self.open_high else value <= self.high)


def _items(value: Any) -> list[Any] | None:
    """The items of a tuple, list or array param; None for a scalar or a string."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        return [item.item() if hasattr(item, "item") else item for item in value]
    except TypeError:
        return None


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["fast=5", "slow=20"]`` -> ``{"fast": "5", "slow": "20"}`` (values raw).

    A key given twice is refused, as a sweep refuses a grid key given twice:
    silently keeping the last would run a setting the user may not have meant."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--param {pair!r}: expected key=value, e.g. --param fast=5.")
        if key in out:
            raise ConfigError(
                f"--param {key} is given twice ({key}={out[key]}, {key}={value.strip()}); "
                f"give each param once, e.g. --param {key}={value.strip()}."
            )
        out[key] = value.strip()
    return out


def coerce_params(
    strategy_name: str, cls: type, raw: dict[str, Any], *, together: bool = True
) -> dict[str, Any]:
    """Check keys against the strategy's params, convert each string value to
    the type of its default, and check every value against the class's
    ``param_rules``. Values that are not strings are checked, not converted.
    With ``together``, also the strategy's ``check_params`` (params checked
    together, e.g. ``fast < slow``), when it declares one."""
    known = strategy_params(cls)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise UnknownNameError(f"param of strategy {strategy_name!r}", key, known)
        out[key] = _coerce(key, value, known[key]) if isinstance(value, str) else value
        _check_exact(key, out[key])
    check_rules(cls, out)
    check_together = getattr(cls, "check_params", None)
    if together and callable(check_together):  # before any bar is run
        check_together(out)
    return out


def _check_exact(key: str, value: Any) -> None:
    """Refuse an integer (or an integer item) beyond :data:`MAX_INT` in magnitude."""
    items = _items(value) if isinstance(value, (tuple, list)) else [value]
    for item in items or ():
        if isinstance(item, numbers.Integral) and not isinstance(item, bool) and (
                abs(int(item)) > MAX_INT):
            raise _too_big(key, _shown(value))


def _too_big(key: str, shown: str) -> ConfigError:
    return ConfigError(
        f"--param {key}={shown}: expected an integer from -2**53 to 2**53 ({MAX_INT}); "
        "larger numbers are not exact in floating point."
    )


def declared_rules(cls: type) -> dict[str, Rule]:
    """Every ``param_rules`` table along ``cls``'s MRO, subclasses last (they win)."""
    rules: dict[str, Rule] = {}
    for klass in reversed(cls.__mro__):
        table = vars(klass).get("param_rules")
        if isinstance(table, Mapping):
            rules.update(table)
    return rules


def check_rules(cls: type, params: Mapping[str, Any]) -> None:
    """Raise ``ConfigError`` naming ``--param NAME`` for the first value that
    breaks its rule (runner-set params such as ``agent`` are not checked)."""
    rules = declared_rules(cls)
    for key, value in params.items():
        rule = rules.get(key)
        if rule is None or key in RUNNER_PARAMS:
            continue
        if rule.check is not None:
            rule.check(value)
        elif not rule.accepts(value):
            raise ConfigError(f"--param {key}={_shown(value)}: expected {rule.expected()}.")


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return clip(",".join(_shown(item) for item in value) or "(empty)", 200)
    if isinstance(value, numbers.Integral) and abs(int(value)) > 10**60:
        # str() of an int over 4300 digits raises; a long one is unreadable anyway
        return f"(an integer of {int(value).bit_length()} bits)"
    return clip(value, 200)


def _coerce(key: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return _parse_bool(text)
        if isinstance(default, int):
            if _LONG_INT.fullmatch(text.strip()):  # beyond 2**53; not parsed (slow when huge)
                raise _too_big(key, clip(text.strip()))
            return int(text)
        if isinstance(default, float):
            return _finite(float(text))
        if isinstance(default, (tuple, list)):
            return _parse_tuple(text, default)
    except ValueError as exc:
        raise ConfigError(f"--param {key}={clip(text)!r}: expected {_kind(default)}.") from exc
    if default is None:
        value = _scalar(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"--param {key}={clip(text)!r}: expected a finite number or none.")
        return value
    return text


def _kind(default: Any) -> str:
    """What a value must look like, in words, from the param's default."""
    if isinstance(default, bool):
        return f"true or false (default {default})"
    if isinstance(default, int):
        return f"an integer (default {default})"
    if isinstance(default, float):
        return f"a finite number (default {default:g})"
    item = _item_type(default)
    example = ",".join(str(v) for v in default) or "1,2"
    return f"comma-separated {item.__name__ if item else 'value'}s, e.g. {example}"


def _parse_tuple(text: str, default: tuple[Any, ...] | list[Any]) -> tuple[Any, ...]:
    """``"0,1,-1"`` -> ``(0.0, 1.0, -1.0)``, items of the default's item type;
    an empty list or an empty item (``"1,,2"``) is refused."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise ValueError(text)
    item_type = _item_type(default)
    if item_type is None:
        return tuple(_scalar(item) for item in items)
    converted = tuple(item_type(item) for item in items)
    if item_type is float:
        for value in converted:
            _finite(value)
    return converted


def _item_type(default: tuple[Any, ...] | list[Any]) -> type | None:
    """float when any default item is a float, int when all are ints, else None."""
    kinds = {type(v) for v in default}
    if kinds and kinds <= {int, float}:
        return float if float in kinds else int
    return None


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(value)
    return value


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ValueError(text)


def _scalar(text: str) -> Any:
    text = text.strip()
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("none", "null"):
        return None
    return text
