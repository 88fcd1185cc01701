"""The body of one local sweep worker process: die with the parent, then serve
runs one at a time over a pipe until told to stop.

Only the standard library is imported at the top, so the thread limits below
are in the environment before NumPy or torch load their BLAS.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCH_SECONDS = 0.5


def init_worker() -> None:
    """Keep each worker to one BLAS/OpenMP thread: the pool already uses the cores."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def die_with_parent(parent_pid: int) -> None:
    """Make this process end when ``parent_pid`` does, whatever killed it (even
    SIGKILL): the kernel's parent-death signal on Linux, and everywhere a
    watchdog thread that sees the parent pid change (the orphan is re-parented)."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True).start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def serve(conn: Connection, parent_pid: int) -> None:
    """Receive a run, send back its record; ``None`` (or a closed pipe) stops."""
    die_with_parent(parent_pid)
    init_worker()
    from rlbt.engine.sweep.runs import execute_run

    while True:
        try:
            run = conn.recv()
        except (EOFError, OSError):
            return
        if run is None:
            return
        conn.send(execute_run(run))
