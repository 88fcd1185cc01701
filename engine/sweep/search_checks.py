"""Checks of ``rlbt sweep --search optuna`` before anything is written or run:
the options that make no sense with a search, the objective (a validation
metric the strategy has), and every searched key and bound checked as a grid
value would be (``checks.check_runnable``)."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Mapping

from rlbt.engine.errors import ConfigError
from rlbt.engine.sweep.checks import check_rank, check_runnable
from rlbt.engine.sweep.search_prune import PRUNERS
from rlbt.engine.sweep.search_runs import LEARNING_METRICS
from rlbt.engine.sweep.search_space import Dimension
from rlbt.engine.sweep.spec import SweepSpec

SAMPLERS = ("tpe", "random", "cmaes")
METHODS = ("optuna",)
SEARCH_EXTRA = 'pip install "rlbt[search]"'


def check_search(spec: SweepSpec, space: tuple[Dimension, ...], trials: object, sampler: str,
                 rank: str, labels: Mapping[str, str], pruner: object = "median") -> bool:
    """Refuse a search that cannot run as asked; returns whether the strategy learns."""
    from rlbt.engine.contracts import check_strategy
    from rlbt.engine.plugins.registry import resolve_strategy

    require_optuna()
    _check_shape(spec, space, trials, sampler, labels)
    if pruner not in PRUNERS:  # a sweep file's value reaches here unchecked by click
        raise ConfigError(f"{labels.get('pruner', '--pruner')} {pruner!r}: expected one of "
                          f"{', '.join(PRUNERS)}.")
    check_rank(rank, labels.get("rank", "--rank"))
    learning = check_strategy(spec.strategy, resolve_strategy(spec.strategy)).learning
    if learning and rank not in LEARNING_METRICS:
        raise ConfigError(
            f"{labels.get('rank', '--rank')} {rank}: a learning strategy's validation records "
            f"only {' and '.join(LEARNING_METRICS)}, so a search can optimise only those."
        )
    if learning and not spec.base.episodes:
        raise ConfigError("--episodes 0 with --search: nothing is trained, so there is no "
                          "validation score to search on; give --episodes >= 1.")
    if not 0 < spec.base.val < 1:
        raise ConfigError(f"--val {spec.base.val:g} with --search: the objective is the "
                          "validation slice's metric (never the test slice); give 0 < --val < 1.")
    searched = dataclasses.replace(spec, grid={d.name: d.corners() for d in space})
    space_label = labels.get("space", "--space")
    check_runnable(searched, {**labels, "grid": space_label}, points=False)
    return learning


def _check_shape(spec: SweepSpec, space: tuple[Dimension, ...], trials: object, sampler: str,
                 labels: Mapping[str, str]) -> None:
    if type(trials) is not int or trials < 1:
        raise ConfigError(f"{labels.get('trials', '--trials')} {trials!r}: expected a whole "
                          "number >= 1.")
    if sampler not in SAMPLERS:
        raise ConfigError(f"{labels.get('sampler', '--sampler')} {sampler!r}: expected one of "
                          f"{', '.join(SAMPLERS)}.")
    if sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
        raise ConfigError("--sampler cmaes needs the cmaes package: pip install cmaes.")
    if not space:
        raise ConfigError("--search optuna needs a search space: --space KEY=LOW:HIGH "
                          "(repeatable) or a [search] table in --config.")
    if spec.grid:
        raise ConfigError(f"{labels.get('grid', '--grid')} with --search: a search draws its "
                          "values from --space; move the swept keys there (A|B for a list).")
    if spec.walk_forward:
        raise ConfigError("--walk-forward with --search: a search scores each trial on one "
                          "validation slice; drop one of them.")
    if len(spec.datasets) != 1:
        raise ConfigError(f"{labels.get('datasets', '--data')}: a search runs on one dataset; "
                          f"got {len(spec.datasets)}.")
    if len(spec.seeds) != 1:
        raise ConfigError(f"{labels.get('seeds', '--seeds')}: a search runs each trial with one "
                          f"seed, which also seeds the sampler; got {len(spec.seeds)} seeds.")


def require_optuna() -> None:
    """The one-line error naming the extra when optuna is missing."""
    if importlib.util.find_spec("optuna") is None:
        raise ConfigError(f"--search optuna needs optuna, which is not installed: {SEARCH_EXTRA}.")
