"""Where a file that rlbt writes may land.

Every file rlbt writes goes to a temporary name beside its target and is then
renamed onto it. Renaming onto ``/dev/null``, a FIFO, a socket or a folder
would replace that node (as root, the system's ``/dev/null``), and renaming
onto a symlink would replace the link instead of writing its target. So
``write_target`` resolves symlinks to the file they name and refuses anything
that exists and is not a regular file. It sits at the package root, on the
standard library only, because agent checkpoints (``rlbt.agents``) and the
engine's outputs (``rlbt.engine``) both use it and neither may import the other.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileTargetError(ValueError):
    """A path rlbt was asked to write that it must not replace (a device, a FIFO, a folder)."""

    is_user_error = True  # shown by the CLI as one line, like rlbt's own errors


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


TEMP_NAME_ROOM = 20
"""Bytes the temporary sibling of a written name adds (``.NAME.partial-XXXXXXXX``)."""


def check_name_lengths(path: str | os.PathLike[str]) -> None:
    """Refuse a path whose names the file system cannot hold: a component over
    its NAME_MAX (255 bytes on most), the last one with room for rlbt's
    temporary sibling, or a whole path over PATH_MAX.

    :raises FileTargetError: naming the component that is too long.
    """
    given = Path(path)
    name_max, path_max = _limits(given)
    if len(os.fsencode(os.path.abspath(given))) > path_max:
        raise FileTargetError(f"{_shown(given)}: the path is longer than the file system "
                              f"allows ({path_max:,} bytes)")
    parts = given.parts
    for i, part in enumerate(parts):
        room = TEMP_NAME_ROOM if i == len(parts) - 1 else 0
        size = len(os.fsencode(part))
        if size + room > name_max:
            why = (f" ({name_max - room:,} for the last, which rlbt writes through a "
                   "temporary sibling)") if room else ""
            raise FileTargetError(
                f"{_shown(given)}: the name {_shown(part, 40)!r} is {size:,} bytes; the file "
                f"system allows {name_max:,} per name{why}")


def _limits(path: Path) -> tuple[int, int]:
    """NAME_MAX and PATH_MAX of the file system holding ``path`` (its nearest
    existing folder), with POSIX's usual values where they cannot be asked."""
    folder = next((p for p in (path.absolute(), *path.absolute().parents) if _is_dir(p)),
                  Path(os.sep))
    try:
        return os.pathconf(folder, "PC_NAME_MAX"), os.pathconf(folder, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf
        return 255, 4096


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a component too long to even look up
        return False


def _shown(text: object, limit: int = 80) -> str:
    """``text`` as a message shows it: long names cut in the middle."""
    shown = str(text)
    return shown if len(shown) <= limit else f"{shown[:limit // 2]}...{shown[-limit // 4:]}"


def write_target(path: str | os.PathLike[str]) -> Path:
    """The regular file to write for ``path``: itself, or the file its symlinks name.

    :raises FileTargetError: for a name too long for the file system, a symlink
        loop, or a target that exists and is not a regular file.
    """
    given = Path(path)
    check_name_lengths(given)
    target = given
    if given.is_symlink():
        try:
            target = given.resolve(strict=False)
            os.stat(given)  # ELOOP for a loop; a dangling link is fine: its target is created
        except FileNotFoundError:
            pass
        except (OSError, RuntimeError) as exc:  # ELOOP (OSError) or RuntimeError: a loop
            raise FileTargetError(f"{given}: a symlink loop or an unreadable link; "
                                  "refusing to write through it") from exc
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise FileTargetError(f"{given}: cannot write here ({exc.strerror})") from exc
    if stat.S_ISREG(mode):
        return target
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise FileTargetError(f"{given}: is {kind}; refusing to replace it with a file")


def give_umask_mode(path: str | os.PathLike[str], full: int = 0o666) -> None:
    """mkstemp / mkdtemp create 0600 / 0700; give ``path`` the usual umask-based mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, full & ~umask)
