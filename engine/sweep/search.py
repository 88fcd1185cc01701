"""``search()``: ``rlbt sweep --search optuna``, an Optuna study over a search
space instead of a grid.

The parent process is the study's only client: it asks Optuna for a trial
each time a worker (local process or Ray task) is free, runs the trial there
(``search_runs.py``: the VALIDATION metric, never the test slice) and tells
Optuna the result. The study lives in a journal file in the sweep folder
(``optuna.journal``), so rerunning the same ``--out`` continues it: told
trials are kept, a trial that was running when the last call stopped is run
again with the same settings, and new trials are asked until ``--trials``.

Same seed, one worker: the same trials. The sampler is made afresh before
each ask, seeded from the run's seed and the trial's number, so the draws do
not depend on how many calls the study took. With several workers the order
in which results come back changes what is asked next.

Pruning (``--pruner median``, the default; ``none`` turns it off): a
learning trial reports each episode's validation score, and a trial worse
than the median of the completed ones at the same episode stops early and is
told PRUNED (``search_prune.py``: the worker decides from the curves the
parent sent, the parent alone writes the study). A rule is never pruned.
At the end the best settings run once as an ordinary run, and its test slice
is reported beside the number of trials (``search_out.py``).
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rlbt.engine.errors import ConfigError
from rlbt.engine.output.run_folder import write_json
from rlbt.engine.sweep.driver import _check, _progress
from rlbt.engine.sweep.executors import default_workers, run_local, run_ray
from rlbt.engine.sweep.failures import one_line
from rlbt.engine.sweep.search_checks import check_search
from rlbt.engine.sweep.search_out import SearchResult, finish
from rlbt.engine.sweep.search_prune import describe_pruning, payload, report_curve
from rlbt.engine.sweep.search_space import Dimension, as_text
from rlbt.engine.sweep.signals import sigterm_as_interrupt
from rlbt.engine.sweep.spec import UNHASHED, SweepSpec, run_id
from rlbt.engine.sweep.summary import LOWER_IS_BETTER

JOURNAL = "optuna.journal"
STUDY = "rlbt-search"


def search(
    spec: SweepSpec,
    space: tuple[Dimension, ...],
    out: Path,
    *,
    trials: int,
    sampler: str = "tpe",
    pruner: str = "median",
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    rank: str = "sharpe",
    progress: bool = False,
    labels: Mapping[str, str] | None = None,
    report: bool = True,
) -> SearchResult:
    """Run a study of ``trials`` trials into ``out`` and the best settings once on the test slice.

    :param space: the searched keys (``search_space.py``).
    :param sampler: ``tpe`` (default), ``random`` or ``cmaes``.
    :param pruner: ``median`` (default: Optuna's MedianPruner on the per-episode
        validation scores) or ``none``; a rule is never pruned.
    :param rank: the metric optimised on the validation slice and reported on the test slice.
    :param report: write sweep.html (``--no-report``: the tables only).
    """
    _check(spec, executor, workers, address, rank)
    learning = check_search(spec, space, trials, sampler, rank, labels or {}, pruner)
    pruning = describe_pruning(pruner, learning)
    study = _open_study(out, spec, space, sampler, rank, pruning)
    write_json(out / "sweep.json", {"spec": _describe(spec, space, sampler, rank, pruning,
                                                      trials), "search": True})
    finished = sum(t.state.is_finished() for t in study.get_trials(deepcopy=False))
    asker = _Asker(study, spec, space, sampler, rank, learning, trials, pruner)
    interrupted = False
    with _progress(progress, trials, min(finished, trials), asker.runs) as advance:

        def on_done(record: dict[str, Any]) -> None:
            asker.tell(record)
            advance(record)

        try:
            with sigterm_as_interrupt():
                if executor == "ray":
                    size = workers or default_workers()
                    run_ray(asker.pending(), size, address, on_done, in_flight=size)
                else:
                    run_local(asker.pending(), workers or default_workers(), on_done)
        except KeyboardInterrupt:
            interrupted = True
    result = finish(study, spec, space, rank, out, final=not interrupted)
    result.skipped, result.interrupted = finished, interrupted
    if report:  # as for a grid: sweep.html, also after Ctrl-C (what finished)
        write_page_of(out)
    return result


def write_page_of(out: Path) -> None:
    """``sweep.html`` when plotly is there; else a one-line notice (the tables stand)."""
    from rlbt.engine.output.html_parts import EXTRA, plotly_available

    if not plotly_available():
        print(f"sweep.html not written: the interactive report needs plotly ({EXTRA}).",
              file=sys.stderr)
        return
    from rlbt.engine.output.html_search import write_search_html

    write_search_html(out)


class _Asker:
    """Turns Optuna trials into sweep runs (``pending``) and results into tells."""

    def __init__(self, study: Any, spec: SweepSpec, space: tuple[Dimension, ...], sampler: str,
                 rank: str, learning: bool, trials: int, pruner: str) -> None:
        self.study, self.spec, self.space = study, spec, space
        self.sampler, self.rank, self.learning, self.trials = sampler, rank, learning, trials
        self.pruner = pruner
        self.runs: dict[str, dict[str, Any]] = {}  # run_id -> run, for failure lines
        self._live: dict[int, Any] = {}  # trial number -> optuna Trial, until told

    def pending(self) -> Iterator[dict[str, Any]]:
        """Runs of the trials left running by an earlier call, then of new trials."""
        import optuna

        running = (optuna.trial.TrialState.RUNNING,)
        for frozen in self.study.get_trials(deepcopy=False, states=running):
            trial = optuna.trial.Trial(self.study, frozen._trial_id)  # the same trial, resumed
            if set(frozen.params) != {d.name for d in self.space}:
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)  # stopped mid-draw
                continue
            yield self._run(trial, {k: as_text(v) for k, v in frozen.params.items()})
        while len(self.study.get_trials(deepcopy=False)) < self.trials:
            self.study.sampler = make_sampler(self.sampler, self.spec.seeds[0],
                                              len(self.study.get_trials(deepcopy=False)))
            trial = self.study.ask()
            yield self._run(trial, {d.name: d.suggest(trial) for d in self.space})

    def _run(self, trial: Any, params: dict[str, str]) -> dict[str, Any]:
        run = {
            "strategy": self.spec.strategy,
            "dataset": self.spec.datasets[0],
            "seed": self.spec.seeds[0],
            "grid": params,
            "base": self.spec.base.to_dict(),
            "walk_forward": None,
            "window_mode": self.spec.window_mode,
            "objective": self.rank,
            "trial": trial.number,
        }
        run["run_id"] = run_id(run)
        # after the id: the curves so far are how to prune, not what the trial is
        run["pruning"] = payload(self.study, self.pruner, self.learning)
        trial.set_user_attr("run_id", run["run_id"])
        self._live[trial.number] = trial
        self.runs[run["run_id"]] = run
        return run

    def tell(self, record: dict[str, Any]) -> None:
        """Tell Optuna a finished trial: its per-episode validation scores, then
        its validation value, PRUNED, or FAIL with the error."""
        import optuna

        run = self.runs[record["run_id"]]
        trial = self._live.pop(run["trial"])
        row = record["rows"][0] if record["status"] == "ok" else {}
        report_curve(trial, row.get("curve", ()))
        if row.get("episodes") is not None:
            trial.set_user_attr("episodes", int(row["episodes"]))
        if row.get("pruned"):
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return
        value = row.get("value", math.nan)
        if record["status"] == "ok" and isinstance(value, (int, float)) and math.isfinite(value):
            trial.set_user_attr("bars_per_year", row["bars_per_year"])
            self.study.tell(trial, float(value))
            return
        error = record["error"] if record["status"] != "ok" else (
            f"the validation {self.rank} is {value} (too few trades or bars to score)")
        record.update(status="error", error=error)  # a failure line for the progress bar
        trial.set_user_attr("error", one_line(str(error)))
        self.study.tell(trial, state=optuna.trial.TrialState.FAIL)


def make_sampler(kind: str, seed: int, number: int) -> Any:
    """A fresh sampler for trial ``number``, seeded from the run's seed and the number."""
    import optuna

    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    trial_seed = int.from_bytes(digest[:4], "little")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if kind == "random":
            return optuna.samplers.RandomSampler(seed=trial_seed)
        if kind == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=trial_seed)
        # constant_liar: parallel workers are not asked for the same point twice
        return optuna.samplers.TPESampler(seed=trial_seed, constant_liar=True)


def _open_study(out: Path, spec: SweepSpec, space: tuple[Dimension, ...], sampler: str,
                rank: str, pruning: str) -> Any:
    """The study in ``out/optuna.journal``, created or loaded; refused when the
    folder holds a search of other settings (resuming it would mix two searches)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        out.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(out / JOURNAL)))
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create the search journal: "
                          f"{exc.strerror or exc}.") from exc
    direction = (optuna.study.StudyDirection.MINIMIZE if rank in LOWER_IS_BETTER
                 else optuna.study.StudyDirection.MAXIMIZE)
    study = optuna.create_study(study_name=STUDY, storage=storage, load_if_exists=True,
                                direction=direction)
    settings = json.loads(json.dumps(_describe(spec, space, sampler, rank, pruning, None),
                                     default=str))
    known = study.user_attrs.get("rlbt_settings")
    if known is None:
        study.set_user_attr("rlbt_settings", settings)
    elif known != settings:
        key = next(k for k in sorted({*known, *settings}) if known.get(k) != settings.get(k))
        raise ConfigError(f"--out {out}: holds a search with other settings ({key} differs); "
                          "rerun with the same settings to resume it, or use another --out.")
    return study


def _describe(spec: SweepSpec, space: tuple[Dimension, ...], sampler: str, rank: str,
              pruning: str, trials: int | None) -> dict[str, Any]:
    """What the search is (sweep.json); without ``trials``, what resume must match."""
    base = {k: v for k, v in spec.base.to_dict().items() if k not in UNHASHED}
    described: dict[str, Any] = {
        "strategy": spec.strategy, "dataset": spec.datasets[0], "seed": spec.seeds[0],
        "base": base, "space": {d.name: d.describe() for d in space}, "sampler": sampler,
        "objective": f"validation {rank}", "pruning": pruning,
    }
    if trials is not None:
        described["trials"] = trials
    return described

