"""Where sweep runs execute: local worker processes (``pool``), or Ray (a
local Ray by default, a cluster when an address is given). Both hand each
finished run to ``on_done`` as it completes, and both record a crashed worker
as a failure of its own run only."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.engine.sweep.pool import run_pool
from rlbt.engine.sweep.runs import execute_run

OnDone = Callable[[dict[str, Any]], None]
EXECUTORS = ("local", "ray")


def run_local(runs: Iterable[dict[str, Any]], workers: int, on_done: OnDone) -> None:
    """Run on ``workers`` spawned processes (engine/sweep/pool.py): a worker
    that dies costs only its own run."""
    run_pool(runs, workers, on_done)


def run_ray(runs: Iterable[dict[str, Any]], workers: int, address: str | None, on_done: OnDone,
            in_flight: int | None = None) -> None:
    """Run as Ray tasks, one CPU each, on a local Ray (``workers`` CPUs) or the
    cluster at ``address``. The cluster's nodes need rlbt installed.

    :param in_flight: the most tasks submitted at once (default: all); a search
        passes its worker count, so each next run is chosen from the results so far.
    """
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
        source, owners = iter(runs), {}  # ref -> its run
        while True:
            while in_flight is None or len(refs) < in_flight:
                run = next(source, None)
                if run is None:
                    break
                ref = task.remote(run)
                owners[ref] = run
                refs.append(ref)
            if not refs:
                break
            done, refs = ray.wait(refs, num_returns=1)
            on_done(_ray_record(ray, done[0], owners.pop(done[0])))
    except BaseException:
        for ref in refs:  # Ctrl-C: stop what has not finished
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def _ray_record(ray: Any, ref: Any, run: dict[str, Any]) -> dict[str, Any]:
    """The task's record; a crashed Ray worker (signal, OOM) costs only its run."""
    try:
        return dict(ray.get(ref))
    except ray.exceptions.RayError as exc:
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return {
            "run_id": run["run_id"],
            "status": "error",
            "error": f"Ray worker failed: {cause}",
            "rows": [],
        }


def default_workers() -> int:
    """One worker per CPU."""
    return os.cpu_count() or 1
