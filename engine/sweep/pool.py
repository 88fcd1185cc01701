"""The local executor: ``size`` spawned worker processes, each given one run
at a time over its own pipe, so the parent always knows which run a worker
holds. A worker that dies (a signal, the OOM killer, ``os._exit``) costs only
that run, recorded with the cause, and is replaced; ``concurrent.futures``
and ``multiprocessing.Pool`` cannot say which task a dead worker had and
break or hang instead."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable
from multiprocessing.connection import wait
from typing import Any

from rlbt.engine.sweep.worker import serve

OnDone = Callable[[dict[str, Any]], None]
_STOP_SECONDS = 5.0


class _Worker:
    """One worker process, its pipe, and the run it holds (``None`` when idle)."""

    def __init__(self, context: Any) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.process = context.Process(target=serve, args=(child, os.getpid()), daemon=False)
        self.process.start()
        child.close()  # only the worker holds its end: a dead worker reads as EOF here
        self.run: dict[str, Any] | None = None

    def give(self, run: dict[str, Any]) -> None:
        self.run = run
        self.conn.send(run)

    def ready(self, handles: list[Any]) -> bool:
        return self.conn in handles or self.process.sentinel in handles

    def collect(self) -> dict[str, Any] | None:
        """The finished run's record, or ``None`` when the worker died."""
        try:
            return dict(self.conn.recv()) if self.conn.poll() else None
        except (EOFError, OSError):
            return None

    def stop(self, *, gently: bool) -> None:
        """End the process (asked nicely when idle, killed otherwise) and reap it."""
        if gently and self.process.is_alive():
            with contextlib.suppress(OSError):  # it died meanwhile: killed below
                self.conn.send(None)
            self.process.join(_STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()


def run_pool(runs: Iterable[dict[str, Any]], size: int, on_done: OnDone) -> None:
    """Run every run on ``size`` workers, handing each record to ``on_done``
    as it finishes. ``runs`` is read lazily, one run each time a worker is free,
    so a search can choose its next run from the results told so far. On any
    exception (Ctrl-C included) the workers are killed at once and the exception
    goes on; finished records were already handed on."""
    context = multiprocessing.get_context("spawn")  # clean interpreters: safe with torch
    queue = _Lazy(runs)
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    gently = False
    try:
        while busy or queue:  # busy first: the next run is read only once one is needed
            while len(busy) < size and queue:
                worker = idle.pop() if idle else _Worker(context)
                worker.give(queue.popleft())
                busy.append(worker)
            handles = wait([h for w in busy for h in (w.conn, w.process.sentinel)])
            for worker in [w for w in busy if w.ready(handles)]:
                busy.remove(worker)
                on_done(_finish(worker, idle))
        gently = True
    finally:
        for worker in idle + busy:
            worker.stop(gently=gently)


class _Lazy:
    """An iterable read one item ahead: truthy while an item is left."""

    def __init__(self, items: Iterable[dict[str, Any]]) -> None:
        self._items = iter(items)
        self._next: deque[dict[str, Any]] = deque()

    def __bool__(self) -> bool:
        if not self._next:
            self._next.extend(itertools.islice(self._items, 1))
        return bool(self._next)

    def popleft(self) -> dict[str, Any]:
        return self._next.popleft() if self._next else next(self._items)


def _finish(worker: _Worker, idle: list[_Worker]) -> dict[str, Any]:
    run = worker.run
    assert run is not None
    worker.run = None
    record = worker.collect()
    if record is not None:
        idle.append(worker)
        return record
    worker.stop(gently=False)
    return {
        "run_id": run["run_id"],
        "status": "error",
        "error": death_cause(worker.process.exitcode),
        "rows": [],
    }


def death_cause(exitcode: int | None) -> str:
    """Why a worker ended before sending its run back, in words."""
    if exitcode is None or exitcode >= 0:
        return f"worker exited with code {exitcode} before finishing the run"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = "unknown signal"
    hint = "; out of memory?" if number == signal.SIGKILL else ""
    return f"worker killed by signal {number} ({name}{hint})"
