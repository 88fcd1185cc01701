"""``PluginAgentStrategy``: your own agent behind the built-in bridge
(``rlbt run agent --param agent_class=mypkg.agents:MyAgent``).

The agent class is found like a strategy plugin (an entry point in the group
``rlbt.agents``, ``package.module:Class`` or ``path/to/file.py:Class``) and
built as ``Class(obs_dim=..., n_actions=..., seed=...)`` (plus ``device=`` when
its constructor takes one). It needs ``act(obs, explore) -> int`` and
``observe(obs, action, reward, next_obs, terminated, truncated)``; ``save`` /
``from_checkpoint`` are optional and enable ``--save`` / ``--load``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from rlbt.agents.base import set_threads
from rlbt.engine.errors import ConfigError
from rlbt.engine.plugins.loader import PluginError, find, plugin_traceback
from rlbt.strategies.agent_settings import user_settings
from rlbt.strategies.agent_strategy import AgentStrategy

AGENT_GROUP = "rlbt.agents"


class PluginAgentStrategy(AgentStrategy):
    """Any agent with act/observe (named by --param agent_class) learning online from bars."""

    params: Any = (("agent_class", ""),)
    derived_from: dict[str, tuple[str, ...]] = {
        "obs_dim": ("window", "features"),
        "n_actions": ("positions",),
    }

    @classmethod
    def agent_type(cls, params: dict[str, Any]) -> type:
        """The agent class named by the ``agent_class`` param."""
        spec = params.get("agent_class") or ""
        if not spec:
            raise ConfigError(
                "the 'agent' strategy needs --param agent_class=NAME (an rlbt.agents entry "
                "point, package.module:Class or path/to/file.py:Class)."
            )
        agent_cls = find(spec, kind="agent", group=AGENT_GROUP, builtins={}).obj
        missing = [m for m in ("act", "observe") if not callable(getattr(agent_cls, m, None))]
        if not isinstance(agent_cls, type) or missing:
            raise ConfigError(
                f"agent {spec!r} must be a class with act() and observe(); "
                f"missing: {', '.join(missing) or 'it is not a class'}."
            )
        return agent_cls

    @classmethod
    def uses_device(cls, params: dict[str, Any]) -> bool:
        """A plugin agent runs on a device only if its constructor takes ``device``."""
        agent_cls = cls.agent_type(cls.with_defaults(params))
        return "device" in inspect.signature(agent_cls).parameters

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> Any:
        """Build the plugin agent for this window and set of positions."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        agent_cls = cls.agent_type(merged)
        kwargs: dict[str, Any] = {
            "obs_dim": cls.observation_size(merged),
            "n_actions": len(tuple(merged["positions"])),
            "seed": seed,
        }
        if "device" in inspect.signature(agent_cls).parameters:
            kwargs["device"] = device
        with user_settings(merged, cls.derived_from):
            try:
                return agent_cls(**kwargs)
            except Exception as exc:
                if getattr(exc, "is_user_error", False):
                    raise  # an AgentError: translated by user_settings
                # The plugin's own bug: name it and show its frames, not rlbt's.
                raise PluginError(
                    f"agent {merged['agent_class']!r} failed to build with "
                    f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items())}. Its traceback:\n"
                    + plugin_traceback(exc)
                ) from exc

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> Any:
        """Load the plugin agent through its own ``from_checkpoint``."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        agent_cls = cls.agent_type(merged)
        loader = getattr(agent_cls, "from_checkpoint", None)
        if not callable(loader):
            raise ConfigError(f"--load: agent {merged['agent_class']!r} has no from_checkpoint().")
        return loader(path)
