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


def write_target(path: str | os.PathLike[str]) -> Path:
    """The regular file to write for ``path``: itself, or the file its symlinks name.

    :raises FileTargetError: for a symlink loop, or a target that exists and is
        not a regular file.
    """
    given = Path(path)
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
