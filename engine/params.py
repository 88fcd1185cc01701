"""``--param key=value`` parsing and checking against a strategy's params."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.plugins.registry import strategy_params

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["fast=5", "slow=20"]`` -> ``{"fast": "5", "slow": "20"}`` (values raw)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {pair!r}: expected key=value, e.g. --param fast=5.")
        out[key.strip()] = value.strip()
    return out


def coerce_params(strategy_name: str, cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    """Check keys against the strategy's params and convert each value to the
    type of its default. Values that are not strings pass through unchanged."""
    known = strategy_params(cls)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise UnknownNameError(f"param of strategy {strategy_name!r}", key, known)
        out[key] = _coerce(key, value, known[key]) if isinstance(value, str) else value
    return out


def _coerce(key: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return _parse_bool(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, (tuple, list)):
            return tuple(_scalar(item) for item in text.split(",") if item.strip())
    except ValueError as exc:
        kind = type(default).__name__
        raise ConfigError(
            f"--param {key}={text!r}: expected {kind} (default {default!r})."
        ) from exc
    return _scalar(text) if default is None else text


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
