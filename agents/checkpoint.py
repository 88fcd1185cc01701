"""Agent checkpoint files: one ``torch.save`` file, written atomically, read safely.

A checkpoint is a dict::

    {"format": "rlbt-agent", "version": 1, "kind": "dqn",
     "config": "<the agent config as a JSON string>",
     "state": {...}}   # tensors, plain numbers, strings, lists / tuples, dicts

Writing goes to a temporary file in the same folder, is flushed to disk, and
then renamed over the target with ``os.replace``: a crash or an error mid-way
leaves the previous file untouched and no temporary file behind.

Reading always uses ``torch.load(..., weights_only=True)``, which refuses any
pickle that would build arbitrary Python objects (and so never runs their
code). Every way a file can be wrong becomes a ``CheckpointError`` that names
the path and what was wrong.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlbt.agents.errors import CheckpointError

FORMAT = "rlbt-agent"
VERSION = 1
_UNREADABLE = "not a readable checkpoint (corrupt, truncated, or not written by torch.save)"


def save_checkpoint(
    path: str | os.PathLike[str], *, kind: str, config_json: str, state: Mapping[str, Any]
) -> None:
    """Write a checkpoint atomically.

    :param path: the target file; its folder must exist.
    :param kind: the agent kind (``"dqn"``, ``"qtable"``), checked on load.
    :param config_json: the agent config as a JSON string.
    :param state: the agent state: tensors, numbers, strings, lists, dicts.
    :raises CheckpointError: when the file cannot be written (the old file stays).
    """
    target = Path(path)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "config": config_json,
        "state": dict(state),
    }
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise CheckpointError(f"{target}: cannot write checkpoint here: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them live
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"{target}: writing the checkpoint failed: {exc}") from exc
        raise


def load_checkpoint(
    path: str | os.PathLike[str], *, kind: str, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read and check a checkpoint written by ``save_checkpoint``.

    :param path: the checkpoint file.
    :param kind: the agent kind the caller expects.
    :param map_location: device for the loaded tensors.
    :return: the checkpoint dict (``format``, ``version``, ``kind``, ``config``, ``state``).
    :raises CheckpointError: missing, corrupt or truncated, unsafe, not written
        by rlbt, of another version, or of another kind.
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"{source}: no such checkpoint file")
    try:
        with warnings.catch_warnings():
            # a foreign pickle protocol only warns before failing below; the error says enough
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = _unpickler_detail(exc)
        if "Unsupported global" in detail:
            # weights_only refused to build a Python object: never retry without it.
            raise CheckpointError(
                f"{source}: refused to load: the file asks to build Python objects ({detail}); "
                "an rlbt checkpoint holds only tensors and plain values, so it may be unsafe"
            ) from exc
        raise CheckpointError(f"{source}: {_UNREADABLE}: {detail}") from exc
    except Exception as exc:  # torch raises many types for damaged zips and streams
        raise CheckpointError(f"{source}: {_UNREADABLE}: {_unpickler_detail(exc)}") from exc
    _check_header(source, payload, kind)
    return payload  # type: ignore[no-any-return]


def _check_header(source: Path, payload: Any, kind: str) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{source}: not an rlbt agent checkpoint (format={found!r}, expected {FORMAT!r})"
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{source}: checkpoint version {payload.get('version')!r} is not supported "
            f"(this rlbt reads version {VERSION})"
        )
    if payload.get("kind") != kind:
        raise CheckpointError(
            f"{source}: checkpoint holds a {payload.get('kind')!r} agent, expected {kind!r}"
        )
    if not isinstance(payload.get("config"), str) or not isinstance(payload.get("state"), dict):
        raise CheckpointError(f"{source}: checkpoint lacks its 'config' string or 'state' dict")


def _unpickler_detail(exc: BaseException) -> str:
    """The useful part of torch's long error text (its first line is generic advice)."""
    text = str(exc)
    match = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n|\. Please|$)", text, re.DOTALL)
    if match:
        return match.group(1).strip()
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def arrays_to_tensors(tree: Any) -> Any:
    """Turn NumPy arrays and scalars inside nested dicts / lists into tensors / Python numbers.

    The tensors share memory with the arrays (no copy); save them right away.

    :param tree: e.g. a replay buffer's ``state_dict()``.
    """
    if isinstance(tree, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(tree))
    if isinstance(tree, np.generic):
        return tree.item()
    if isinstance(tree, Mapping):
        return {key: arrays_to_tensors(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(arrays_to_tensors(value) for value in tree)
    return tree


def tensors_to_arrays(tree: Any) -> Any:
    """Inverse of ``arrays_to_tensors``: tensors become (CPU) NumPy arrays.

    :param tree: nested dicts / lists holding tensors.
    """
    if isinstance(tree, torch.Tensor):
        return tree.detach().cpu().numpy()
    if isinstance(tree, Mapping):
        return {key: tensors_to_arrays(value) for key, value in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(tensors_to_arrays(value) for value in tree)
    return tree
