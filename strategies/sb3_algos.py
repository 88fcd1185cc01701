"""Stable-Baselines3 algorithms by name, and their hyperparameters as strategy params.

``sb3:PPO`` names an algorithm of ``stable_baselines3`` (``PPO``, ``A2C``,
``DQN``: those that take ``Discrete`` actions, as ``BarEnv`` has);
``sb3:package.module:Class`` names any other ``BaseAlgorithm`` subclass, e.g.
``sb3:sb3_contrib:QRDQN``. The constructor's keyword arguments become strategy
params with its own defaults, so ``--param n_steps=256`` is checked by name
("did you mean") and by type before any bar is read.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, TypeGuard

from rlbt.engine.errors import ConfigError, UnknownNameError
from rlbt.engine.params import Rule

INSTALL = "pip install 'rlbt[sb3]'"

# Constructor arguments rlbt sets itself (env, seed, device), that write files
# (tensorboard_log), or that take Python objects a --param cannot spell.
_OWNED = frozenset({"self", "policy", "env", "seed", "device", "verbose", "tensorboard_log",
                    "_init_setup_model", "policy_kwargs", "action_noise"})
_UNIT = frozenset({"gamma", "gae_lambda", "tau", "exploration_fraction",
                   "exploration_initial_eps", "exploration_final_eps"})
# Defaults that differ from SB3's for bar data: a 1M-transition replay buffer
# is ~150 MB for a few thousand bars of training.
_BAR_DEFAULTS = {"buffer_size": 100_000}


def sb3_module() -> Any:
    """``stable_baselines3``, or a one-line error saying how to install it."""
    try:
        return importlib.import_module("stable_baselines3")
    except ImportError as exc:
        raise ConfigError(f"sb3 strategies need stable-baselines3: {INSTALL}.") from exc


def algorithm_names() -> list[str]:
    """The algorithms ``stable_baselines3`` exports (``A2C``, ``DQN``, ``PPO``, ...)."""
    sb3 = sb3_module()
    base = importlib.import_module("stable_baselines3.common.base_class").BaseAlgorithm
    return sorted(n for n in sb3.__all__ if _is_algorithm(getattr(sb3, n, None), base))


def algorithm_class(spec: str) -> type:
    """The algorithm class that ``sb3:SPEC`` names (see the module docstring).

    :raises UnknownNameError: an SB3 name that does not exist (lists them).
    :raises ConfigError: SB3 not installed; a module or class that cannot be used.
    """
    sb3 = sb3_module()
    base = importlib.import_module("stable_baselines3.common.base_class").BaseAlgorithm
    module_name, sep, attr = spec.rpartition(":")
    if not sep:
        found = getattr(sb3, spec, None)
        if not _is_algorithm(found, base):
            raise UnknownNameError("SB3 algorithm (sb3:NAME)", spec, algorithm_names())
        return found
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"sb3:{spec}: cannot import {module_name!r} ({exc}).") from exc
    found = getattr(module, attr, None)
    if not _is_algorithm(found, base):
        raise ConfigError(f"sb3:{spec}: {module_name} has no Stable-Baselines3 algorithm "
                          f"class {attr!r}.")
    return found


def _is_algorithm(obj: Any, base: type) -> TypeGuard[type]:
    return isinstance(obj, type) and issubclass(obj, base) and not inspect.isabstract(obj)


def hyperparameters(algo: type) -> dict[str, Any]:
    """The algorithm's settable constructor arguments and their defaults
    (ints that are floats by annotation become floats, so ``0.5`` is accepted)."""
    out: dict[str, Any] = {}
    for name, arg in inspect.signature(algo.__init__).parameters.items():  # type: ignore[misc]
        if name in _OWNED or name.endswith("_class") or name.endswith("_kwargs"):
            continue
        if arg.kind not in (arg.POSITIONAL_OR_KEYWORD, arg.KEYWORD_ONLY):
            continue
        default = _BAR_DEFAULTS.get(name, arg.default)
        if default is inspect.Parameter.empty:
            continue
        if _float_by_annotation(arg.annotation, default):
            default = float(default)
        out[name] = default
    return out


def _float_by_annotation(annotation: Any, default: Any) -> bool:
    if not isinstance(default, int) or isinstance(default, bool):
        return False
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "float" in text and "int" not in text


def hyperparameter_rules(defaults: dict[str, Any]) -> dict[str, Rule]:
    """Range checks SB3 does not make itself: fractions in [0, 1], a positive
    learning rate, non-negative counts."""
    rules: dict[str, Rule] = {}
    for name, default in defaults.items():
        if name in _UNIT:
            rules[name] = Rule(low=0.0, high=1.0)
        elif name == "learning_rate":
            rules[name] = Rule(low=0.0, open_low=True, example="3e-4")
        elif isinstance(default, int) and not isinstance(default, bool) and default >= 0:
            rules[name] = Rule(low=0, integer=True)
    return rules
