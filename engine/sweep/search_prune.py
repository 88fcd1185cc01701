"""Pruning of ``rlbt sweep --search optuna`` (``--pruner median|none``).

The parent stays the study's only writer. When it asks a trial it hands the
worker the validation curves (episode -> validation score) of the trials
finished so far (``payload``). In the worker, after each episode's validation,
``EpisodePruner`` rebuilds those trials in an in-memory study, reports the
running trial's scores to it and asks Optuna's own ``MedianPruner`` whether
to stop. The worker sends back its curve and whether it was pruned; the
parent reports the curve on the real trial and tells it PRUNED or COMPLETE.

The decision depends only on trials finished before the ask, so with one
worker and one seed a search prunes the same trials every time. A rule
(``sma-cross``) has no episodes to report and is never pruned.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

PRUNERS = ("median", "none")
STARTUP_TRIALS = 5
"""Completed trials needed before any trial is pruned: a median of fewer says little."""
WARMUP_EPISODES = 2
"""Episodes before this one are never pruned: one exploring pass is mostly noise."""


def describe_pruning(pruner: str, learning: bool) -> str:
    """sweep.json's word on pruning (also part of what a resume must match)."""
    if not learning:
        return "none: a rule has no training episodes to score, so no trial is pruned"
    if pruner == "none":
        return "none (--pruner none): every trial trains all its episodes"
    return (f"median: Optuna's MedianPruner (n_startup_trials={STARTUP_TRIALS}, "
            f"n_warmup_steps={WARMUP_EPISODES}); after each episode's validation a trial "
            "whose best score so far is below the median of the completed trials' at that "
            "episode stops and is told PRUNED")


def payload(study: Any, pruner: str, learning: bool) -> dict[str, Any] | None:
    """What a worker needs to decide pruning: the finished trials' curves and
    states, the direction and the pruner's settings; ``None`` when nothing is pruned."""
    import optuna

    if not learning or pruner == "none":
        return None
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    trials = [
        {"state": t.state.name, "value": t.value, "curve": sorted(t.intermediate_values.items())}
        for t in study.get_trials(deepcopy=False, states=states)
    ]
    return {"pruner": pruner, "direction": study.direction.name.lower(),
            "n_startup_trials": STARTUP_TRIALS, "n_warmup_steps": WARMUP_EPISODES,
            "trials": trials}


def report_curve(trial: Any, curve: Iterable[tuple[int, float]]) -> None:
    """Report a finished trial's per-episode validation scores on the parent's study."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a step reported before a resume is kept as it was
        for episode, score in curve:
            trial.report(float(score), int(episode))


class EpisodePruner:
    """The worker's per-episode callback: ``pruner(episode, scores) -> stop``.

    :param metric: the key of ``scores`` that is the objective (``val_sharpe``).
    :param episodes: the trial's episode count; the last one is never pruned
        (the trial has run whole by then).
    """

    def __init__(self, settings: dict[str, Any], metric: str, episodes: int) -> None:
        self.settings, self.metric, self.episodes = settings, metric, episodes
        self.pruned = False
        self._trial: Any = None

    def __call__(self, episode: int, scores: dict[str, float]) -> bool:
        if self._trial is None:
            self._trial = _running_trial(self.settings)
        self._trial.report(float(scores[self.metric]), episode)
        if episode >= self.episodes:
            return False
        self.pruned = bool(self._trial.should_prune())
        return self.pruned


def _running_trial(settings: dict[str, Any]) -> Any:
    """A trial asked of an in-memory study that holds the finished trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created" line per trial
    pruner = optuna.pruners.MedianPruner(n_startup_trials=settings["n_startup_trials"],
                                         n_warmup_steps=settings["n_warmup_steps"])
    # No parameter is drawn here; a seeded sampler keeps even that certain.
    study = optuna.create_study(direction=settings["direction"], pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    for known in settings["trials"]:
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState[known["state"]], value=known["value"],
            intermediate_values={int(e): float(v) for e, v in known["curve"]}))
    return study.ask()
