"""Check a checkpoint's stored state against the agent it is loaded into,
before any of it is copied in.

The freshly built agent's own ``state_dict()`` is the template: every entry
the file holds must be where the agent has one, of the same kind. Tensors are
checked for what torch would otherwise accept silently or fail on later, deep
inside a training step:

- **layout and device**: dense (strided) CPU tensors only (files are always
  read onto the CPU); a sparse tensor or a ``meta`` tensor (no data) is refused;
- **dtype**: where the agent holds floating-point values the file must hold a
  real floating dtype (float16 to float64; torch casts it on load); integer,
  bool and complex tensors are refused there. Where the agent holds integers
  (RNG bytes, replay indices) the dtype must be the same;
- **shape**: equal to the agent's (the replay memory and the pending rollout
  vary in length and check their own shapes);
- **values** of the learned state: finite, and ``|w| <= WEIGHT_BOUND``.

The optimizer's moments must have their parameters' shapes, its ``step`` be a
whole number >= 0, its hyperparameters lie in the CLI's ranges (lr > 0, betas
in [0, 1), eps > 0) and its flags (amsgrad, fused...) be the agent's own.
Counters are whole numbers in ``0..MAX_COUNT``; RNG states are tried on a
spare generator. Every refusal is a ``CheckpointError`` naming the file and
the entry (``state q_network['head.bias']: ...``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import torch

from rlbt.agents.errors import CheckpointError

WEIGHT_BOUND = 1e6
"""Largest |value| of a stored weight, Q-value or Adam first moment. Trained
weights are O(1); 1e6 leaves room for any sane training while the products of
a few layers stay far inside float32's 3.4e38, so Q-values cannot overflow."""
MAX_COUNT = 2**53
"""Largest stored counter (steps, updates): every count below it is exact in float64."""

_LEARNED = frozenset({"q_network", "target_network", "network", "q_table"})
_DATA = frozenset({"replay", "rollout"})  # stored transitions: any length, NaN rewards allowed
_NON_NEGATIVE = frozenset({"m2", "exp_avg_sq", "max_exp_avg_sq"})  # sums of squares
_ADAM_MOMENTS = ("exp_avg", "exp_avg_sq")
_RANGES = {
    "lr": (lambda v: _is_real(v) and v > 0, "a finite number > 0 (as --param lr)"),
    "eps": (lambda v: _is_real(v) and v > 0, "a finite number > 0"),
    "weight_decay": (lambda v: _is_real(v) and v >= 0, "a finite number >= 0"),
    "betas": (lambda v: isinstance(v, list | tuple) and len(v) == 2
              and all(_is_real(b) and 0 <= b < 1 for b in v), "two numbers in [0, 1)"),
}


@dataclass(frozen=True)
class _Rules:
    shape: bool = True  # stored shape == the agent's
    values: bool = True  # finite, non-negative sums of squares
    bound: float | None = None  # |value| <= bound


_WEIGHTS = _Rules(bound=WEIGHT_BOUND)
_STATS = _Rules()
_LOOSE = _Rules(shape=False, values=False)


class _Refusal(Exception):
    """An entry that does not fit; ``check_state`` adds the file to it."""


def check_state(path: str | os.PathLike[str], stored: Any, agent: Any) -> None:
    """Refuse ``stored`` (a checkpoint's ``state``) unless it fits ``agent``.

    :param path: the checkpoint, for the message.
    :param stored: the state as read from the file.
    :param agent: the agent it will be loaded into (its ``state_dict`` is the template).
    :raises CheckpointError: naming the file and the first entry that does not fit.
    """
    if not isinstance(stored, Mapping):
        raise CheckpointError(f"{path}: state does not fit this agent: it is not a dict")
    template = agent.state_dict(include_replay="replay" in stored)
    device = getattr(agent, "device", torch.device("cpu"))
    try:
        _check_keys(stored, template, "")
        for key, expected in template.items():
            where = _join("", key)
            if key == "optimizer" and isinstance(getattr(agent, "optimizer", None),
                                                 torch.optim.Optimizer):
                _check_optimizer(stored[key], expected, where, agent.optimizer)
            elif isinstance(expected, torch.Tensor) and expected.dtype == torch.uint8:
                _check_torch_rng(stored[key], expected, where, device)
            else:
                rules = _WEIGHTS if key in _LEARNED else _LOOSE if key in _DATA else _STATS
                _walk(stored[key], expected, where, rules)
    except _Refusal as exc:
        raise CheckpointError(f"{path}: state {exc}") from None


def _fail(where: str, problem: str) -> NoReturn:
    raise _Refusal(f"{where}: {problem}" if where else problem)


def _join(where: str, key: Any) -> str:
    return f"{where}[{key!r}]" if where else str(key)


def _kind(value: Any) -> str:
    return type(value).__name__


def _clipped(values: list[Any]) -> str:
    shown = ", ".join(repr(v)[:40] for v in values[:3])
    return shown + (f" and {len(values) - 3} more" if len(values) > 3 else "")


def _is_real(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_keys(stored: Any, template: Mapping[str, Any], where: str) -> None:
    if not isinstance(stored, Mapping):
        _fail(where, f"expected a dict, found {_kind(stored)}")
    missing = [key for key in template if key not in stored]
    extra = [key for key in stored if key not in template]
    if missing:
        _fail(where, f"does not fit this agent: missing {_clipped(missing)}")
    if extra:
        _fail(where, f"does not fit this agent: unexpected {_clipped(extra)}")


def _walk(stored: Any, template: Any, where: str, rules: _Rules) -> None:
    if isinstance(template, torch.Tensor):
        _check_tensor(stored, template, where, rules)
    elif isinstance(template, Mapping):
        if "bit_generator" in template:
            _check_numpy_rng(stored, template, where)
            return
        _check_keys(stored, template, where)
        for key, expected in template.items():
            _walk(stored[key], expected, _join(where, key), rules)
    elif isinstance(template, list | tuple):
        if not isinstance(stored, list | tuple) or len(stored) != len(template):
            _fail(where, f"expected a list of {len(template)}, found {_kind(stored)}")
        for i, (value, expected) in enumerate(zip(stored, template, strict=True)):
            _walk(value, expected, f"{where}[{i}]", rules)
    else:
        _check_scalar(stored, template, where)


def _check_scalar(stored: Any, template: Any, where: str) -> None:
    if isinstance(template, bool) or template is None:
        if type(stored) is not type(template):
            _fail(where, f"expected {_kind(template)}, found {stored!r:.40}")
    elif isinstance(template, int):
        _check_count(stored, where)
    elif isinstance(template, float):
        # a float statistic (last TD error) may be NaN: "no update yet"
        if not isinstance(stored, int | float) or isinstance(stored, bool):
            _fail(where, f"expected a number, found {_kind(stored)}")
    elif type(stored) is not type(template):
        _fail(where, f"expected {_kind(template)}, found {_kind(stored)}")


def _check_count(stored: Any, where: str) -> None:
    if isinstance(stored, torch.Tensor) and stored.numel() == 1 and not stored.is_complex():
        stored = stored.item()
    whole = isinstance(stored, int) or (isinstance(stored, float) and stored.is_integer())
    if isinstance(stored, bool) or not whole or not 0 <= stored <= MAX_COUNT:
        _fail(where, f"{stored!r:.40} is not a whole number in 0..2**53")


def _dtype(dtype: torch.dtype | torch.layout) -> str:
    return str(dtype).removeprefix("torch.")


def _check_tensor(stored: Any, template: torch.Tensor, where: str, rules: _Rules) -> None:
    if not isinstance(stored, torch.Tensor):
        _fail(where, f"expected a tensor, found {_kind(stored)}")
    if stored.layout != torch.strided:
        _fail(where, f"a {_dtype(stored.layout)} tensor; a checkpoint holds dense tensors")
    if stored.device.type != "cpu":
        _fail(where, f"a tensor on the {stored.device.type!r} device (a checkpoint is read "
                     "onto the CPU; a 'meta' tensor holds no data)")
    if stored.is_complex() or (template.is_floating_point() and not stored.is_floating_point()):
        _fail(where, f"{_dtype(stored.dtype)} values where the agent holds floating-point ones")
    if not template.is_floating_point() and stored.dtype != template.dtype:
        _fail(where, f"{_dtype(stored.dtype)} values where the agent holds "
                     f"{_dtype(template.dtype)}")
    if rules.shape and stored.shape != template.shape:
        _fail(where, f"shape {tuple(stored.shape)}, the agent's is {tuple(template.shape)}")
    if rules.values and stored.is_floating_point() and stored.numel():
        _check_values(stored, where, rules.bound)


def _check_values(stored: torch.Tensor, where: str, bound: float | None) -> None:
    values = stored.detach().double()
    if not bool(torch.isfinite(values).all()):
        _fail(where, "holds NaN or infinite values")
    leaf = where.rsplit("[", 1)[-1].strip("]'")
    if leaf in _NON_NEGATIVE and bool((values < 0).any()):
        _fail(where, "holds negative values (a sum of squares)")
    if bound is not None and leaf in _NON_NEGATIVE:
        bound = bound**2
    largest = float(values.abs().max())
    if bound is not None and largest > bound:
        _fail(where, f"holds |values| up to {largest:.3g}, more than the {bound:.0e} a "
                     "trained agent ever reaches (its outputs would overflow)")


def _check_numpy_rng(stored: Any, template: Mapping[str, Any], where: str) -> None:
    name = template["bit_generator"]
    if not isinstance(stored, Mapping) or stored.get("bit_generator") != name:
        found = stored.get("bit_generator") if isinstance(stored, Mapping) else _kind(stored)
        _fail(where, f"not a {name} random state (found {found!r:.40})")
    try:  # on a spare generator: the agent's own is set only once all of it fits
        getattr(np.random, name)().state = dict(stored)
    except (TypeError, ValueError, OverflowError, KeyError) as exc:
        _fail(where, f"not a valid {name} random state ({str(exc)[:80]})")


def _check_torch_rng(stored: Any, template: torch.Tensor, where: str, device: Any) -> None:
    _check_tensor(stored, template, where, _LOOSE)
    if stored.dim() != 1:
        _fail(where, f"shape {tuple(stored.shape)}; a torch random state is a 1-D byte tensor")
    if stored.numel() != template.numel():
        return  # saved on another device type: the agent restarts that stream from its seed
    try:
        torch.Generator(device=device).set_state(stored)
    except (RuntimeError, TypeError, ValueError) as exc:
        _fail(where, f"not a valid torch random state ({str(exc).splitlines()[0][:80]})")


def _check_optimizer(stored: Any, template: Mapping[str, Any], where: str,
                     optimizer: torch.optim.Optimizer) -> None:
    if not isinstance(stored, Mapping) or not {"state", "param_groups"} <= set(stored):
        _fail(where, "expected torch's optimizer state (a dict of 'state' and 'param_groups')")
    groups, expected = stored["param_groups"], template["param_groups"]
    if not isinstance(groups, list | tuple) or len(groups) != len(expected):
        _fail(_join(where, "param_groups"), f"expected {len(expected)} parameter group(s)")
    shapes: dict[int, tuple[int, ...]] = {}
    amsgrad = False
    for i, (group, own, live) in enumerate(zip(groups, expected, optimizer.param_groups,
                                               strict=True)):
        _check_group(group, own, f"{where}['param_groups'][{i}]")
        shapes.update({pid: tuple(p.shape) for pid, p in zip(own["params"], live["params"],
                                                             strict=True)})
        amsgrad = amsgrad or bool(own.get("amsgrad"))
    moments = (*_ADAM_MOMENTS, "max_exp_avg_sq") if amsgrad else _ADAM_MOMENTS
    adam = isinstance(optimizer, torch.optim.Adam)
    state = stored["state"]
    if not isinstance(state, Mapping):
        _fail(_join(where, "state"), f"expected a dict, found {_kind(state)}")
    for pid, entry in state.items():
        at = f"{where}['state'][{pid!r:.20}]"
        if isinstance(pid, bool) or not isinstance(pid, int) or pid not in shapes:
            _fail(at, "is no parameter of this agent's optimizer")
        if adam:
            _check_keys(entry, dict.fromkeys(("step", *moments)), at)
        elif not isinstance(entry, Mapping):
            _fail(at, f"expected a dict, found {_kind(entry)}")
        for key, value in entry.items():
            if key == "step":
                _check_count(value, _join(at, key))
            else:
                like = torch.empty(shapes[pid])
                bound = WEIGHT_BOUND if key in (*_ADAM_MOMENTS, "max_exp_avg_sq") else None
                _check_tensor(value, like, _join(at, key), _Rules(bound=bound))


def _check_group(group: Any, own: Mapping[str, Any], where: str) -> None:
    if not isinstance(group, Mapping):
        _fail(where, f"expected a dict, found {_kind(group)}")
    params = group.get("params")
    if not isinstance(params, list) or params != list(own["params"]):
        _fail(_join(where, "params"), "lists other parameters than this agent's optimizer has")
    extra = [key for key in group if key not in own]
    if extra:
        _fail(where, f"unexpected optimizer settings {_clipped(extra)}")
    for key, default in own.items():
        if key == "params" or (key not in group and (default is None
                                                    or isinstance(default, bool))):
            continue  # a flag missing from an older torch's file: torch fills in its default
        if key not in group:
            _fail(where, f"the optimizer setting {key!r} is missing")
        _check_setting(group[key], default, _join(where, key), key)


def _check_setting(value: Any, default: Any, where: str, key: str) -> None:
    if key in _RANGES:
        ok, expected = _RANGES[key]
        if not ok(value):
            _fail(where, f"{value!r:.40}: expected {expected}")
    elif default is None or isinstance(default, bool | str):
        if value != default or type(value) is not type(default):
            _fail(where, f"{value!r:.40}; this agent's optimizer runs with {default!r}")
    elif not _is_real(value):
        _fail(where, f"{value!r:.40}: expected a finite number")
