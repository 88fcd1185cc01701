"""What every agent shares: the ``Agent`` protocol, seeding, config <-> JSON,
small validators, and the save / load plumbing.

Seeding rule: an agent is seeded by one integer (``config.seed``) and never
reads or writes the global ``random`` / ``numpy`` / ``torch`` random state.
``spawn_seeds`` splits that integer into independent streams (the agent's own
``numpy.random.Generator``, network initialisation, the replay buffer), and
``torch_seeded`` builds networks inside a forked CPU RNG so the caller's
global torch state is left exactly as it was.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

from rlbt.agents.checkpoint import load_checkpoint, save_checkpoint
from rlbt.agents.checkpoint_state import check_state
from rlbt.agents.errors import AgentError, CheckpointError, SettingError
from rlbt.agents.fast.blas import set_blas_threads
from rlbt.agents.stored_config import (  # re-exported: configs <-> JSON live there
    config_from_json as config_from_json,
)
from rlbt.agents.stored_config import config_to_json, parse_stored, stored_config_error

PathLike = str | os.PathLike[str]
SEED_MAX = 2**32 - 1
"""The largest seed, as ``--seed`` allows: a stored config may not pass it either."""


@runtime_checkable
class Agent(Protocol):
    """The contract between an agent and whatever loop drives it.

    A loop calls ``act`` at every step, then ``observe`` once the reward of
    that action is known; the agent learns on its own cadence inside
    ``observe``. End of data is ``truncated=True, terminated=False``.
    """

    obs_dim: int
    n_actions: int

    def act(self, obs: np.ndarray, explore: bool) -> int:
        """Choose an action for ``obs``: greedy, or exploring when ``explore``."""
        ...

    def observe(
        self,
        obs: np.ndarray,
        action: int,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> dict[str, float] | None:
        """Store one transition; return learn() stats when it learned."""
        ...

    def learn(self) -> dict[str, float]:
        """Run one learning round now and return its stats."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume, as tensors / plain Python values."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        ...

    def save(self, path: PathLike) -> None:
        """Write a checkpoint file atomically."""
        ...

    def load(self, path: PathLike) -> None:
        """Restore this agent from a checkpoint file."""
        ...


# --------------------------------------------------------------------------- seeding



@runtime_checkable
class GreedyActions(Protocol):
    """Optional: greedy actions for many observations in one batched call.
    A frozen, greedy bridge then looks every bar's action up in one table."""

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """int64 ``[B]``: the greedy action for each row of ``observations``."""
        ...


@runtime_checkable
class CounterStats(Protocol):
    """Optional: names of ``learn()`` stats that are running totals (updates,
    skipped steps), reported as their last value rather than a mean."""

    counter_stats: tuple[str, ...]


def spawn_seeds(seed: int, n: int) -> list[int]:
    """Split one seed into ``n`` independent 32-bit seeds (NumPy ``SeedSequence``).

    :param seed: the agent's seed (a non-negative integer).
    :param n: how many child seeds to make.
    :return: ``n`` integers, the same for the same ``seed``.
    """
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(child.generate_state(1)[0]) for child in children]


@contextmanager
def torch_seeded(seed: int) -> Iterator[None]:
    """Run a block with the CPU torch RNG seeded, then restore the global state.

    Only the CPU generator is forked and seeded (``torch.manual_seed`` would
    also reseed every CUDA device, which ``fork_rng(devices=[])`` would not
    restore), so build networks on the CPU in this block and move them after.

    :param seed: seed for the CPU generator inside the block.
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        yield


def resolve_device(name: str) -> torch.device:
    """Turn a device name into a ``torch.device``, failing clearly when absent.

    :param name: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    :raises SettingError: when the name is not a device or CUDA is not available.
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise SettingError(None, "device", name, "not a torch device", use="cpu") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SettingError(None, "device", name, "asks for CUDA, but this torch build or "
                           "machine has no CUDA device", use="cpu")
    if device.type not in ("cpu", "cuda"):
        raise SettingError(None, "device", name, "is not supported", use="cpu")
    return device


def set_threads(threads: int) -> None:
    """Set torch's CPU thread count for this process; 0 leaves it as it is.

    Process-wide by nature, so it is the caller's (a runner's, a sweep
    worker's) choice, never an agent's: tiny networks run fastest on one
    thread, and parallel workers must not oversubscribe the cores.
    """
    if threads > 0 and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    # NumPy's OpenBLAS too: the NumPy fast paths multiply tiny matrices, and its
    # threads fighting torch's turn a 100 us update into milliseconds.
    set_blas_threads(threads)


def guarded_step(
    loss: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[torch.nn.Parameter],
    max_grad_norm: float | None,
) -> float | None:
    """Backpropagate ``loss``, clip and take one optimizer step, unless the
    loss or the gradient norm is not finite: then nothing reaches the weights
    (the agents' documented non-finite policy) and it returns None.

    :param loss: the scalar loss.
    :param optimizer: the optimizer of ``parameters``.
    :param parameters: the parameters to clip.
    :param max_grad_norm: clip threshold; None for no clipping.
    :return: the gradient's global L2 norm *before* clipping (the agents'
        ``grad_norm`` stat), or None when the step was skipped.
    """
    optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        return None
    loss.backward()
    # clip_grad_norm_ computes the norm whether or not it clips (inf: never), so
    # reporting it costs nothing and changes no weight
    grad_norm = torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm or math.inf)
    if not torch.isfinite(grad_norm):
        optimizer.zero_grad(set_to_none=True)
        return None
    optimizer.step()
    return float(grad_norm)


UNPLANNED_STEPS = 10_000
"""What a schedule given as a fraction spans when no runner has said how many
training steps are coming (an agent used on its own, outside ``rlbt run``)."""


class StepPlan:
    """Schedules in fractions of the training to come: the runner calls
    ``plan_steps(episodes x bars)`` before training, so that a decay set as
    "half of training" completes on any data length."""

    env_steps: int
    _plan_end: int | None = None

    def plan_steps(self, total: int) -> None:
        """The next ``total`` environment steps are the training run."""
        self._plan_end = self.env_steps + max(int(total), 1)

    def schedule_steps(self, steps: int | None, fraction: float) -> int:
        """``steps`` when set; else ``fraction`` of the planned training steps."""
        if steps is not None:
            return steps
        return max(1, round(fraction * (self._plan_end or UNPLANNED_STEPS)))


def linear_schedule(start: float, end: float, duration: int, step: int) -> float:
    """Value moving linearly from ``start`` to ``end`` over ``duration`` steps, then ``end``.

    :param start: value at step 0.
    :param end: value from step ``duration`` on.
    :param duration: number of steps of the ramp (0 means ``end`` at once).
    :param step: the current step.
    """
    if duration <= 0:
        return end
    fraction = min(step / duration, 1.0)
    return start + fraction * (end - start)


def generator_state(rng: np.random.Generator) -> dict[str, Any]:
    """The ``bit_generator.state`` of ``rng``: plain ints and strings, safe to save."""
    return dict(rng.bit_generator.state)


# --------------------------------------------------------------------------- validation


def require(ok: bool, owner: str, field: str, value: Any, expected: str) -> None:
    """Raise ``AgentError`` naming ``owner.field`` unless ``ok``.

    :param ok: the condition that must hold.
    :param owner: the config class name, for the message.
    :param field: the field name, for the message.
    :param value: the value found.
    :param expected: what was expected, in words.
    """
    if not ok:
        raise SettingError(owner, field, value, f"expected {expected}")


def is_seed(value: Any) -> bool:
    """True for a seed ``--seed`` would take: an integer in ``0..SEED_MAX``."""
    return is_int(value) and 0 <= value <= SEED_MAX


def is_int(value: Any) -> bool:
    """True for an ``int`` (or NumPy integer) that is not a ``bool``."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """True for a finite ``int`` / ``float`` that is not a ``bool``."""
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


# --------------------------------------------------------------------------- save / load


class CheckpointMixin:
    """``save`` / ``load`` / ``from_checkpoint`` for an agent with a dataclass config.

    A subclass sets ``kind`` (written into the file and checked on load),
    ``config_class``, and ``shape_fields``: the config fields that must match
    for the saved weights to fit (``replay_fields`` too when the file holds
    the replay memory). Other fields may differ: ``load`` keeps this agent's
    own hyperparameters and restores only the learned state.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type]
    shape_fields: ClassVar[tuple[str, ...]]
    replay_fields: ClassVar[tuple[str, ...]] = ()
    config: Any
    device: torch.device

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def save(self, path: PathLike, *, include_replay: bool = False) -> None:
        """Write a checkpoint atomically (temp file in the same folder, then rename).

        :param path: the checkpoint file.
        :param include_replay: also store the replay memory, so that training
            resumes exactly (bigger file).
        """
        state = self.state_dict(include_replay=include_replay)
        save_checkpoint(path, kind=self.kind, config_json=config_to_json(self.config), state=state)

    def load(self, path: PathLike) -> None:
        """Restore the learned state from a checkpoint written by ``save``.

        :param path: the checkpoint file.
        :raises CheckpointError: missing, corrupt, unsafe, foreign or incompatible file.
        """
        payload = load_checkpoint(path, kind=self.kind)
        saved: Any = parse_stored(self.config_class, payload["config"], path)
        fields = self.shape_fields + (self.replay_fields if "replay" in payload["state"] else ())
        mismatched = [
            f"{name}: file has {getattr(saved, name)!r}, agent has {getattr(self.config, name)!r}"
            for name in fields
            if getattr(saved, name) != getattr(self.config, name)
        ]
        if mismatched:
            details = "; ".join(mismatched)
            raise CheckpointError(f"{path}: checkpoint does not fit this agent ({details})")
        _load_state(self, payload["state"], path)

    @classmethod
    def from_checkpoint(cls, path: PathLike, *, device: str | None = None) -> Any:
        """Build a new agent from the config stored in a checkpoint, then load its state.

        :param path: the checkpoint file.
        :param device: run on this device instead of the one saved in the config
            (agents without a ``device`` setting accept only None or ``"cpu"``).
        :raises CheckpointError: missing, corrupt, unsafe or foreign file.
        """
        has_device = "device" in {f.name for f in dataclasses.fields(cls.config_class)}
        if device is not None:
            if not has_device and device != "cpu":
                raise AgentError(f"{cls.__name__} runs on the CPU only; got device={device!r}")
            resolve_device(device)  # a clear error before torch.load fails on a missing GPU
        payload = load_checkpoint(path, kind=cls.kind)  # onto the CPU; load_state_dict moves it
        config: Any = parse_stored(cls.config_class, payload["config"], path)
        if device is not None and has_device:
            config = dataclasses.replace(config, device=device)
        try:  # the stored config passes the allocation guard before anything is built
            agent = cls(config)  # type: ignore[call-arg]
        except AgentError as exc:
            raise stored_config_error(path, exc) from exc
        _load_state(agent, payload["state"], path)
        return agent


def _load_state(agent: CheckpointMixin, state: Mapping[str, Any], path: PathLike) -> None:
    check_state(path, state, agent)  # every entry fits before any is copied in
    try:
        agent.load_state_dict(state)
    except (AgentError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = "; ".join(lines)[:200] or type(exc).__name__  # never torch's multi-line repr
        raise CheckpointError(f"{path}: state does not fit this agent: {detail}") from exc
