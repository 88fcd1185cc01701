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
import pickletools
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlbt.agents.errors import CheckpointError
from rlbt.agents.memory import SHARE, format_bytes, memory_budget
from rlbt.file_target import give_umask_mode, write_target

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
    target = write_target(path)
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
        give_umask_mode(tmp_name)  # the same mode as every other file rlbt writes
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them live
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError | RuntimeError):  # torch's writer says RuntimeError
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
    _check_archive_size(source)
    try:
        with warnings.catch_warnings():
            # a foreign pickle protocol only warns before failing below; the error says enough
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        # The weights-only unpickler refused it. Never retry without weights_only,
        # and never pass on torch's advice to.
        detail = _refusal_detail(exc)
        if "global" in detail.lower() or _asks_for_code(source):
            raise CheckpointError(
                f"{source}: refused: the file contains code or objects that an rlbt "
                f"checkpoint never holds ({detail}); it was not loaded and nothing in it ran"
            ) from exc
        raise CheckpointError(f"{source}: {_UNREADABLE}: {detail}") from exc
    except Exception as exc:  # torch raises many types for damaged zips and streams
        raise CheckpointError(f"{source}: {_UNREADABLE}: {_first_line(exc)}") from exc
    _check_header(source, payload, kind)
    return payload  # its state is checked against the agent: rlbt.agents.checkpoint_state  # type: ignore[no-any-return]


_CODE_OPCODES = {"GLOBAL", "STACK_GLOBAL", "REDUCE", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX"}


def _asks_for_code(source: Path) -> bool:
    """True when a plain (non-zip) pickle stream names a callable to import or call.

    ``pickletools.genops`` only parses opcodes; it never builds or runs anything.
    """
    if zipfile.is_zipfile(source):
        return False  # torch names the refused global itself for its zip format
    try:
        with source.open("rb") as handle:
            return any(op.name in _CODE_OPCODES for op, _, _ in pickletools.genops(handle))
    except Exception:  # damaged stream: the opcodes parsed so far had no call in them
        return False


def _check_archive_size(source: Path) -> None:
    """Refuse a zip whose members unpack to more memory than this process may use
    (a small compressed file can claim terabytes)."""
    if not zipfile.is_zipfile(source):
        return  # not a zip: torch's loader reads it as a stream, bounded by its size
    try:
        with zipfile.ZipFile(source) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # damaged: torch.load says so below
    budget, bound = memory_budget()
    if unpacked > SHARE * budget:
        raise CheckpointError(
            f"{source}: refused: it unpacks to {format_bytes(unpacked)}, more than the "
            f"{format_bytes(budget)} this process may use ({bound})"
        )


def _check_header(source: Path, payload: Any, kind: str) -> None:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{source}: not an rlbt agent checkpoint (format={found!r}, expected {FORMAT!r})"
        )
    version = payload.get("version")
    if type(version) is not int or version != VERSION:  # True == 1, but is no version
        raise CheckpointError(
            f"{source}: checkpoint version {version!r} is not supported "
            f"(this rlbt reads version {VERSION})"
        )
    if payload.get("kind") != kind:
        raise CheckpointError(
            f"{source}: checkpoint holds a {payload.get('kind')!r} agent, expected {kind!r}"
        )
    if not isinstance(payload.get("config"), str) or not isinstance(payload.get("state"), dict):
        raise CheckpointError(f"{source}: checkpoint lacks its 'config' string or 'state' dict")


def _refusal_detail(exc: BaseException) -> str:
    """What the weights-only unpickler refused, without torch's advice around it."""
    advice = (
        "weights only load failed",
        "in pytorch",
        "re-running",
        "please file",
        "check the documentation",
        "weights_only",
    )
    lines = [
        line.strip().removeprefix("WeightsUnpickler error:").strip()
        for line in str(exc).splitlines()
    ]
    useful = [line for line in lines if line and not any(a in line.lower() for a in advice)]
    first = useful[0].split(" Please", 1)[0] if useful else "a pickle instruction it refuses"
    return _clip(first)


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if "weights_only" not in line]
    detail = lines[0].split(" This is an internal", 1)[0] if lines else ""
    return _clip(f"{type(exc).__name__}: {detail}" if len(detail) < 12 else detail)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
