"""Agent setting errors in the user's words.

Agents validate their config dataclasses and raise ``AgentError`` naming the
field as ``DQNConfig.hidden=(0,): expected ...`` (``rlbt.agents.base.require``;
the allocation guard names fields the same way). A user never typed
``DQNConfig``: they typed ``--param hidden=0``, or ``--param window=...`` for
the ``obs_dim`` the strategy derives from it. ``user_settings`` wraps every
place a strategy builds an agent from its params and re-raises such errors as
``ConfigError`` naming the option or param to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.engine.errors import ConfigError

# "DQNConfig.hidden=(0,): expected ..." or "device='x' is not a torch device".
_FIELD = re.compile(r"^(?:(?P<owner>[A-Za-z_]\w*)\.)?(?P<field>[a-z_]\w*)(?P<rest>\W.*)?$", re.S)
# Fields set from run options rather than --param.
_OPTIONS = {"seed": "--seed", "device": "--device"}


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
    except AgentError as exc:
        message = translate(str(exc), params, derived)
        if message is None:
            raise
        raise ConfigError(message) from exc


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
        return ",".join(str(item) for item in value)
    return str(value)
