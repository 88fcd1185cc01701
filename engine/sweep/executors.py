"""Where sweep runs execute: a local process pool, or Ray (a local Ray by
default, a cluster when an address is given). Both hand each finished run to
``on_done`` as it completes; neither is a scheduler of our own."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.engine.sweep.runs import execute_run, init_worker

OnDone = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "ray")


def run_local(runs: list[dict[str, Any]], workers: int, on_done: OnDone) -> None:
    """Run on a process pool of ``workers`` processes (spawned: a clean
    interpreter per worker, safe with torch whatever the platform)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker)
    try:
        pending = {pool.submit(execute_run, run): run for run in runs}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                run = pending.pop(future)
                try:
                    record = future.result()
                except Exception as exc:  # a worker died (e.g. out of memory)
                    record = {
                        "run_id": run["run_id"],
                        "status": "error",
                        "error": f"worker failed: {exc!r}",
                        "rows": [],
                    }
                on_done(record)
    except BaseException:
        # Ctrl-C or an error: drop queued runs, do not wait for running ones.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_ray(runs: list[dict[str, Any]], workers: int, address: str | None, on_done: OnDone) -> None:
    """Run as Ray tasks, one CPU each, on a local Ray (``workers`` CPUs) or the
    cluster at ``address``. The cluster's nodes need rlbt installed."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--executor ray needs Ray: pip install 'rlbt[ray]'.") from exc
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers, **options)
    refs: list[Any] = []
    try:
        task = ray.remote(num_cpus=1)(execute_run)
        refs = [task.remote(run) for run in runs]
        while refs:
            done, refs = ray.wait(refs, num_returns=1)
            on_done(ray.get(done[0]))
    except BaseException:
        for ref in refs:  # Ctrl-C: stop what has not finished
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def default_workers() -> int:
    """One worker per CPU."""
    return os.cpu_count() or 1
