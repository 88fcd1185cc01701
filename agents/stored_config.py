"""Agent configs as JSON, and a checkpoint's stored config read back.

A stored config passes the same checks as one built from the command line
(the config's own ``__post_init__``, the allocation guard): a file must not
be a way around them. Its errors name each field as the user knows it
(``lr='x' (--param lr)``, ``seed=... (--seed)``), never ``DQNConfig.lr``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, TypeVar

from rlbt.agents.errors import AgentError, CheckpointError, SettingError

ConfigT = TypeVar("ConfigT")

_OPTIONS = {"seed": "--seed", "device": "--device"}
"""Config fields set by a run option rather than by --param."""
_DERIVED = {
    "obs_dim": "the observation size, from the strategy's window/features",
    "n_actions": "the number of actions, from the strategy's positions",
    "n_features": "the features per bar, fixed by the strategy",
}
"""Config fields a strategy computes: no option sets them directly."""


def config_to_json(config: Any) -> str:
    """Serialise a dataclass config to a JSON string (tuples become lists).

    :param config: a dataclass instance with JSON-friendly field values.
    """
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def config_from_json(cls: type[ConfigT], text: str) -> ConfigT:
    """Rebuild a dataclass config from ``config_to_json`` output.

    Lists become tuples again (configs are frozen and hold tuples), and the
    config's own ``__post_init__`` validation runs.

    :param cls: the dataclass type.
    :param text: the JSON string.
    :raises AgentError: on bad JSON, unknown or missing fields, or invalid values.
    """
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise AgentError(f"config is not valid JSON ({exc})") from exc
    except RecursionError:  # '[' * 200000: the decoder recurses once per level
        raise AgentError("config JSON is nested too deeply to be an agent config") from None
    if not isinstance(data, dict):
        raise AgentError(f"config JSON must be an object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise AgentError(f"unknown fields {unknown}; known: {sorted(known)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:  # a required field is missing
        missing = str(exc).rsplit(": ", 1)[-1]
        raise AgentError(f"the config lacks required fields: {missing}") from exc


def parse_stored(config_class: type[ConfigT], text: Any, path: str | os.PathLike[str]) -> ConfigT:
    """The config stored in checkpoint ``path``, checked like one from the command line.

    :raises CheckpointError: naming the file and the field in the user's terms.
    """
    try:
        return config_from_json(config_class, text)
    except AgentError as exc:
        raise stored_config_error(path, exc) from exc


def stored_config_error(path: str | os.PathLike[str], exc: AgentError) -> CheckpointError:
    """``exc``, raised by a config read from checkpoint ``path``, as a ``CheckpointError``."""
    if isinstance(exc, CheckpointError):
        return exc
    detail = str(exc)
    if isinstance(exc, SettingError):
        detail = exc.render(_stored_name(exc.field, exc.value),
                            _stored_name(exc.field, exc.use) if exc.use is not None else None)
    return CheckpointError(f"{path}: stored config is not usable: {detail}")


def _stored_name(field: str, value: Any) -> str:
    if field in _OPTIONS:
        return f"{field}={value!r} ({_OPTIONS[field]})"
    if field in _DERIVED:
        return f"{field}={value!r} ({_DERIVED[field]})"
    return f"{field}={value!r} (--param {field})"
