"""``rlbt run sb3:PPO``: a Stable-Baselines3 algorithm as an rlbt learning strategy.

``strategy_for("PPO")`` makes (once per algorithm) a subclass of
``SB3Strategy`` whose params are ``AgentStrategy``'s (window, positions,
features, reward, ...), ``net_arch`` and every hyperparameter of the
algorithm's constructor with SB3's defaults (``sb3_algos``).

Training (``train_episode``, called by the runner once per ``--episodes``)
runs ``model.learn`` on ``rlbt.gym.BarEnv`` over the fit part of the train
slice, with the run's costs, slippage and params; ``--timesteps`` env steps
in all (default: 10 per fit bar) are split over the episodes, each followed
by the usual validation, so ``--select best`` keeps the best episode's policy.
With ``--tensorboard`` SB3's own logger writes into the run's folder, under
``sb3/`` (``SB3Agent.learn``).
Evaluation is the normal bridge: the model's deterministic action at each bar
(``SB3Agent``). SB3 models do not learn online, so the test slice is frozen.
``model.pt`` is SB3's zip; ``--load`` reads only its policy tensors
(``sb3_checkpoint``), never its pickled ``data``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium import spaces

from rlbt.agents.base import set_threads
from rlbt.engine.errors import ConfigError
from rlbt.engine.params import Rule
from rlbt.strategies.agent_strategy import AgentStrategy
from rlbt.strategies.bar_env import BarEnv
from rlbt.strategies.sb3_agent import SB3Agent
from rlbt.strategies.sb3_algos import algorithm_class, hyperparameter_rules, hyperparameters
from rlbt.strategies.sb3_checkpoint import load_policy

_BRIDGE = frozenset(AgentStrategy.params._getkeys())  # type: ignore[attr-defined]


class SB3Strategy(AgentStrategy):
    """Base of the ``sb3:NAME`` strategies (one subclass per algorithm)."""

    algorithm: ClassVar[Any] = None
    algorithm_spec: ClassVar[str] = ""
    hyperparameters: ClassVar[tuple[str, ...]] = ()
    params: Any = (("net_arch", (64, 64)),)  # hidden layers of the policy (and value) net
    param_rules: ClassVar[dict[str, Rule]] = {
        "net_arch": Rule(low=1, integer=True, min_items=1, example="64,64"),
    }

    @classmethod
    def build_agent(
        cls, params: dict[str, Any], *, seed: int, device: str, threads: int = 0
    ) -> SB3Agent:
        """A fresh model for these params, seeded; trained by ``train_episode``."""
        set_threads(threads)
        merged = cls.with_defaults(params)
        kwargs = {k: merged[k] for k in cls.hyperparameters}
        policy_kwargs = {"net_arch": [int(n) for n in merged["net_arch"]]}
        try:
            # The spaces only: the BarEnv over the fit part arrives in train_episode.
            model = cls.algorithm("MlpPolicy", _Spaces(cls, merged), seed=seed, device=device,
                                  verbose=0, policy_kwargs=policy_kwargs, **kwargs)
        except (AssertionError, ValueError, TypeError) as exc:  # SB3's own checks
            raise ConfigError(f"sb3:{cls.algorithm_spec}: {_one_line(exc)}") from exc
        return SB3Agent(model)

    @classmethod
    def load_agent(
        cls, path: str | Path, params: dict[str, Any], *, device: str, threads: int = 0
    ) -> SB3Agent:
        """The model rebuilt from these params with the policy tensors of ``path``
        (read with ``weights_only=True``; the zip's pickled data is never read)."""
        agent = cls.build_agent(params, seed=0, device=device, threads=threads)
        load_policy(agent.model, path)
        return agent

    @classmethod
    def train_episode(
        cls, agent: SB3Agent, frame: pd.DataFrame, params: dict[str, Any], config: Any,
        steps: int, progress: Any,
    ) -> dict[str, float]:
        """``steps`` more steps of ``model.learn`` on a BarEnv over ``frame`` with
        the run's settings (built once; later episodes continue its episode).
        ``params["tensorboard"]`` (the runner's live log) sends SB3's own curves
        to ``<its folder>/sb3``."""
        live = params.get("tensorboard")
        params = {k: v for k, v in params.items() if k != "tensorboard"}  # the env logs nothing
        if getattr(agent, "env_frame", None) is not frame:
            settings = dataclasses.replace(config, params={})
            env = BarEnv.from_frame(frame, None, params=params, config=settings, strategy=cls)
            agent.model.set_env(env)
            agent.env_frame = frame  # type: ignore[attr-defined]
        folder = getattr(live, "folder", None)
        return agent.learn(steps, progress, Path(folder) / "sb3" if folder is not None else None)


class _Spaces(gym.Env[np.ndarray, np.int64]):
    """An env with BarEnv's spaces for these params that is never stepped."""

    def __init__(self, cls: type, params: dict[str, Any]) -> None:
        size = int(cls.observation_size(params))  # type: ignore[attr-defined]
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)
        self.action_space = spaces.Discrete(len(tuple(params["positions"])))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


@functools.cache
def strategy_for(spec: str) -> type:
    """The strategy class of ``sb3:SPEC`` (``PPO``, ``sb3_contrib:QRDQN``), made once."""
    algo = algorithm_class(spec)
    defaults = {k: v for k, v in hyperparameters(algo).items() if k not in _BRIDGE}
    name = f"SB3{algo.__name__}Strategy"
    body = {
        "__doc__": f"Stable-Baselines3 {algo.__name__} trained on BarEnv over the train "
                   "slice's fit part (--timesteps, hyperparameters by --param); tested "
                   "frozen through the bridge.",
        "__module__": __name__,
        "algorithm": algo,
        "algorithm_spec": spec,
        "hyperparameters": tuple(defaults),
        "params": tuple(defaults.items()),
        "param_rules": hyperparameter_rules(defaults),
    }
    cls = types.new_class(name, (SB3Strategy,), exec_body=lambda ns: ns.update(body))
    if ":" not in spec:
        globals()[name] = cls  # found by name, so pickle can find it
    return cls
