"""Agent setting errors in the user's words.

Agents validate their config dataclasses and raise ``AgentError`` naming the
field as ``DQNConfig.hidden=(0,): expected ...`` (``rlbt.agents.base.require``;
the allocation guard names fields the same way). A user never typed
``DQNConfig``: they typed ``--param hidden=0``, or ``--param window=...`` for
the ``obs_dim`` the strategy derives from it. ``user_settings`` wraps every
place a strategy builds an agent from its params and re-raises such errors as
``ConfigError`` naming the option or param to change. Built-in agents raise
``SettingError``, whose parts (field, value, advice, fields sharing the blame)
are named directly; a plugin's plain ``AgentError`` is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rlbt.agents.errors import AgentError, CheckpointError, SettingError
from rlbt.engine.errors import ConfigError

# "DQNConfig.hidden=(0,): expected ..." or "device='x' is not a torch device".
_FIELD = re.compile(r"^(?:(?P<owner>[A-Za-z_]\w*)\.)?(?P<field>[a-z_]\w*)(?P<rest>\W.*)?$", re.S)
# Fields set from run options rather than --param.
_OPTIONS = {"seed": "--seed", "device": "--device"}
# What a derived field is, in words (its own name is internal).
_DERIVED_WORDS = {"obs_dim": "observation features", "n_actions": "actions"}


@contextmanager
def user_settings(
    params: Mapping[str, Any], derived: Mapping[str, tuple[str, ...]]
) -> Iterator[None]:
    """Re-raise an ``AgentError`` about a config field as a ``ConfigError``
    naming the user's option.

    :param params: the strategy's params as merged (names the user can set).
    :param derived: agent fields the strategy computes -> the params they come from
        (``{"obs_dim": ("window",)}``).
    """
    try:
        yield
    except CheckpointError:
        raise  # names the --load file already
    except SettingError as exc:
        message = setting_message(exc, params, derived)
        if message is None:
            raise
        raise ConfigError(message) from exc
    except AgentError as exc:
        message = translate(str(exc), params, derived)
        if message is None:
            raise
        raise ConfigError(message) from exc


def setting_message(
    exc: SettingError, params: Mapping[str, Any], derived: Mapping[str, tuple[str, ...]]
) -> str | None:
    """``exc`` with each field it blames named as the user set it, or None when
    it blames no field the user controls."""
    names = [_user_name(f, exc.value if f == exc.field else None, params, derived)
             for f in (exc.field, *exc.also)]
    if names[0] is None:
        return None
    use = _user_name(exc.field, exc.use, params, derived) if exc.use is not None else None
    return exc.render(" with ".join(n for n in names if n is not None), use)


def _user_name(
    field: str, value: Any, params: Mapping[str, Any], derived: Mapping[str, tuple[str, ...]]
) -> str | None:
    if field in _OPTIONS:
        return f"{_OPTIONS[field]} {value}"
    if derived.get(field):
        set_ = [name for name in derived[field] if params.get(name) is not None] or derived[field]
        sources = " ".join(f"--param {name}={_shown(params.get(name))}" for name in set_)
        count = "" if value is None else f"{value} "
        return f"{sources} ({count}{_DERIVED_WORDS.get(field, field)})"
    if field in params:
        return f"--param {field}={_shown(params[field] if value is None else value)}"
    return None


def translate(
    message: str, params: Mapping[str, Any], derived: Mapping[str, tuple[str, ...]]
) -> str | None:
    """``message`` with its ``Owner.field`` replaced by what the user set, or
    None when it names no field the user controls."""
    match = _FIELD.match(message)
    if match is None:
        return None
    field, rest = match["field"], match["rest"] or ""
    if field in _OPTIONS:
        return f"{_OPTIONS[field]}{rest}"
    if derived.get(field):
        sources = " ".join(f"--param {name}={_shown(params.get(name))}" for name in derived[field])
        return f"{sources} sets the agent's {field}{rest}"
    if field in params:
        return f"--param {field}{rest}"
    return None


def _shown(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        text = ",".join(str(item) for item in value)
        return text if len(text) <= 60 else f"{text[:50]}... ({len(value)} values)"
    return str(value)
