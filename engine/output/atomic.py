"""Atomic file writes: write to a temporary name in the same folder, then
rename. A crash mid-write leaves the previous file (or none), never a
half-written file that looks whole.

The target is resolved first (``rlbt.file_target.write_target``): a
symlink is written through to its file, and a device, FIFO, socket or folder
is refused, never replaced. A failed write (disk full, permission, a
read-only disk) removes its temporary file and becomes one ``OutputError``
line naming the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rlbt.engine.errors import OutputError
from rlbt.file_target import give_umask_mode, write_target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    :param path: the final file path.
    :raises OutputError: when the file cannot be written (nothing is left behind).
    :raises FileTargetError: when ``path`` is not a regular file (or a link to one).
    """
    final = write_target(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        give_umask_mode(tmp)
        yield tmp
        os.replace(tmp, final)
    except OSError as exc:
        raise OutputError(f"{path}: writing failed: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
