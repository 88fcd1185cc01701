"""Reading an SB3 model zip without running anything in it.

``BaseAlgorithm.load`` unpickles the zip's ``data`` member with cloudpickle,
which can run arbitrary code. ``--load`` never does: the model is rebuilt from
the run's own params, and only the ``policy.pth`` member (the policy's
tensors) is read, with ``torch.load(..., weights_only=True)``, which refuses
any pickle that would import or call something.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from rlbt.agents.errors import CheckpointError
from rlbt.agents.memory import SHARE, format_bytes, memory_budget

POLICY_MEMBER = "policy.pth"


def read_policy_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The policy tensors of the SB3 zip at ``path``, read safely.

    :raises CheckpointError: not a zip, no ``policy.pth``, too large to unpack,
        a pickle that asks for code, or anything but a mapping of names to tensors.
    """
    source = Path(path)
    raw = _policy_bytes(source)
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # Never retried without weights_only: the refusal is the point.
        raise CheckpointError(
            f"{source}: refused: its {POLICY_MEMBER} holds code or objects, not only "
            f"tensors ({_first_line(exc)}); it was not loaded and nothing in it ran"
        ) from exc
    except Exception as exc:  # torch raises many types for damaged streams
        raise CheckpointError(f"{source}: {POLICY_MEMBER} is not readable: "
                              f"{_first_line(exc)}") from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{source}: {POLICY_MEMBER} is not a mapping of names to tensors")
    for name, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: {POLICY_MEMBER}: {name} holds NaN or inf values")
    return state


def _policy_bytes(source: Path) -> bytes:
    if not source.is_file():
        raise CheckpointError(f"{source}: no such checkpoint file")
    if not zipfile.is_zipfile(source):
        raise CheckpointError(f"{source}: not an SB3 model zip (as model.pt of an sb3 run)")
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if POLICY_MEMBER not in names:
                raise CheckpointError(f"{source}: an SB3 model zip has {POLICY_MEMBER}; "
                                      f"this one has {', '.join(names[:6]) or 'nothing'}")
            info = archive.getinfo(POLICY_MEMBER)
            _check_size(source, info.file_size)
            return archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"{source}: a damaged zip ({exc})") from exc


def _check_size(source: Path, size: int) -> None:
    """A small compressed member can claim terabytes: refused before reading."""
    budget, bound = memory_budget()
    if size > SHARE * budget:
        raise CheckpointError(f"{source}: refused: {POLICY_MEMBER} unpacks to "
                              f"{format_bytes(size)}, more than the {format_bytes(budget)} "
                              f"this process may use ({bound})")


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    useful = [ln for ln in lines if "weights_only" not in ln and "Weights only" not in ln]
    text = (useful or lines or [type(exc).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def load_policy(model: Any, path: str | Path) -> None:
    """Put the policy tensors of ``path`` into ``model`` (built from the run's params).

    :raises CheckpointError: unreadable or unsafe (``read_policy_state``), or
        tensors that do not fit this model's policy.
    """
    state = read_policy_state(path)
    try:
        model.policy.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: its policy does not fit this strategy's network "
            f"({_first_line(exc)}); pass the params it was trained with "
            "(window, features, positions, net_arch)"
        ) from exc
