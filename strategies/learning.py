"""``LearningStrategy``: an ``AgentStrategy`` whose agent is built from a
config dataclass, so that every agent setting is also a strategy param
(``--param lr=3e-4``), listed by ``rlbt strategies`` and checked by name.

The runner finds ``build_agent`` / ``load_agent`` on the class and uses them to
create the agent once and train it over several episodes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from rlbt.agents.base import set_threads
from rlbt.engine.errors import ConfigError
from rlbt.strategies.agent_settings import user_settings
from rlbt.strategies.agent_strategy import AgentStrategy

# Config fields the strategy derives itself instead of taking them as params.
DERIVED_FIELDS = frozenset({"obs_dim", "n_actions", "seed", "device"})


def config_params(config_class: type, **overrides: Any) -> tuple[tuple[str, Any], ...]:
    """backtrader params from a config dataclass's fields and defaults.

    :param config_class: a dataclass such as ``DQNConfig``.
    :param overrides: defaults that differ from the config's for bar data.
    """
    pairs = []
    for field in dataclasses.fields(config_class):
        if field.name in DERIVED_FIELDS:
            continue
        default = overrides.get(field.name, field.default)
        pairs.append((field.name, default))
    return tuple(pairs)


class LearningStrategy(AgentStrategy):
    """Base of strategies that own their agent's construction."""

    agent_class: ClassVar[type]
    config_class: ClassVar[type]
    derived_from: ClassVar[dict[str, tuple[str, ...]]] = {
        "obs_dim": ("window", "features"),
        "n_actions": ("positions",),
    }
    """Agent config fields the strategy computes -> the params a user changes for them."""

    @classmethod
    def uses_device(cls, params: dict[str, Any]) -> bool:
        """Only agents whose config has a ``device`` field run on one."""
        return "device" in {f.name for f in dataclasses.fields(cls.config_class)}

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> Any:
        """A fresh agent for these strategy params.

        :param params: strategy params (agent settings among them).
        :param seed: the run's seed.
        :param device: ``"cpu"`` or ``"cuda"``.
        :param threads: torch CPU threads for the process (0 leaves torch's default).
        """
        set_threads(threads)
        merged = cls.with_defaults(params)
        names = {f.name for f in dataclasses.fields(cls.config_class)}
        kwargs = {k: v for k, v in merged.items() if k in names and k not in DERIVED_FIELDS}
        kwargs.update(
            obs_dim=cls.observation_size(merged),
            n_actions=len(tuple(merged["positions"])),
            seed=seed,
        )
        if "device" in names:
            kwargs["device"] = device
        with user_settings(merged, cls.derived_from):
            return cls.agent_class(cls.config_class(**kwargs))

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> Any:
        """An agent from a checkpoint, checked against these strategy params."""
        set_threads(threads)
        has_device = "device" in {f.name for f in dataclasses.fields(cls.config_class)}
        merged = cls.with_defaults(params)
        with user_settings(merged, cls.derived_from):  # --device cuda, not device='cuda'
            agent = cls.agent_class.from_checkpoint(  # type: ignore[attr-defined]
                path, device=device if has_device else None
            )
        expected = (cls.observation_size(merged), len(tuple(merged["positions"])))
        if (agent.obs_dim, agent.n_actions) != expected:
            raise ConfigError(
                f"--load {path}: the agent sees {agent.obs_dim} features and has "
                f"{agent.n_actions} actions; this strategy's window/features/positions need "
                f"{expected[0]} and {expected[1]}. Pass the params it was trained with."
            )
        return agent
