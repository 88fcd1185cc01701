"""Training learning strategies: ``--episodes`` passes over the fit part of
the train slice with one agent object, validated after each episode on the
rest of it (``engine/validation.py``); the evaluation runs then reuse the
agent as selected.

A strategy that ``TrainsItself`` (``sb3:PPO``) runs each episode's training
on its own (``--timesteps`` env steps in all, split over the episodes); the
validation and selection around it are the same.

A learning strategy is any class with ``build_agent(params, seed=, device=)``
and ``load_agent(path, params, device=)`` classmethods and an ``agent`` param
(``rlbt.strategies.learning.LearningStrategy``). The engine only calls these by
name, so it never imports torch or the agents.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rlbt.engine.cerebro import equity_frame, run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.engine.contracts import SavesItself, StrategyContract
from rlbt.engine.errors import ConfigError
from rlbt.engine.metrics import Annualisation, period_metrics
from rlbt.engine.output.progress import EpisodeBar, episode_progress
from rlbt.engine.output.tensorboard_log import TrainingLog, check_tensorboard, open_training_log
from rlbt.engine.validation import Selector, lookback, lookback_source, validation_split

OnEpisode = Callable[[int, dict[str, float]], bool]
"""``on_episode(episode, validation scores) -> stop`` (``train_and_select``)."""


@dataclass
class Trained:
    """The agent after training and selection, before any test bar."""

    agent: Any
    log: pd.DataFrame
    pretraining: pd.DataFrame
    checkpoint: bytes | None
    """``agent.save()``'s bytes as selected (``model.pt``); None if it cannot save."""
    selection: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def train_and_select(
    contract: StrategyContract, params: dict[str, Any], train_slice: pd.DataFrame,
    config: BacktestConfig, annual: Annualisation, progress: bool,
    on_episode: OnEpisode | None = None,
) -> Trained:
    """Build (or load) the agent, pretrain, run the episodes with validation,
    restore the selected state.

    :param on_episode: called with each episode's number and validation scores
        (``val_sharpe``, ``val_return``); True stops training there (a search's
        pruning), the episodes run so far being selected from as usual.
    """
    cls = contract.cls
    if config.tensorboard is not None:  # a bad folder is refused before anything runs
        check_tensorboard(config.tensorboard)
    # The split is checked before the agent is built: a bad --val costs nothing.
    split = validation_split(train_slice, config.val if config.episodes else 0.0,
                             lookback(cls, params), lookback_source(cls, params))
    steps = episode_steps(config, len(split.fit)) if contract.trains_itself else []
    agent = make_agent(cls, params, config)
    plan = getattr(agent, "plan_steps", None)
    if callable(plan):  # schedules given as fractions of the run's training steps
        plan(config.episodes * len(split.fit))
    pretraining = pretrain_agent(contract, params, agent, split.fit)
    selector = Selector(agent, config.select if split.start is not None else "last")
    stopped = [False]

    def validate(episode: int) -> dict[str, float]:
        if split.start is None:
            return {}
        # Validate acting as the test slice will act (greedy, or sampled for an
        # on-policy agent that will learn online there), but never learning.
        as_tested = evaluation_params(params, agent, learn=not config.freeze)
        run_params = {**as_tested, "learn": False}
        metrics = evaluate(cls, run_params, train_slice, split.start, config, annual)
        selector.offer(episode, metrics)
        scores = {"val_sharpe": metrics["sharpe"], "val_return": metrics["total_return"]}
        if on_episode is not None:
            stopped[0] = bool(on_episode(episode, scores))
        return scores

    with episode_progress(progress) as start_bar, training_log(config, cls) as live:
        if contract.trains_itself:
            log = train_in_env(cls, params, agent, split.fit, config, steps, start_bar, validate,
                               live, stop=lambda: stopped[0])
        else:
            log = train_agent(cls, params, agent, split.fit, config, start_bar, validate, live,
                              stop=lambda: stopped[0])
    chosen = selector.restore(len(log))  # the last episode run (all of them unless stopped)
    selection: dict[str, Any] = {"val": config.val if split.start is not None else 0.0}
    if steps:
        selection["timesteps"] = sum(steps)
    if not config.freeze and not learns_online(agent):
        selector.notes.append("This agent does not learn online: the test slice ran frozen, "
                              "as with --freeze.")
    if split.start is not None:
        log["selected"] = log["episode"] == chosen
        selection.update(val_start=_when(split.start), purge_bars=split.purge,
                         fit_bars=len(split.fit), select=selector.mode,
                         selected_episode=chosen, val_sharpe=float(
                             log.loc[log["episode"] == chosen, "val_sharpe"].iloc[0]))
    return Trained(agent, log, pretraining, checkpoint_bytes(agent), selection, selector.notes)


def _when(stamp: pd.Timestamp) -> str:
    """A date alone when the bar is at midnight (daily data), else date and time."""
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)


@contextmanager
def training_log(config: BacktestConfig, cls: type) -> Iterator[TrainingLog | None]:
    """The run's live TensorBoard log with ``--tensorboard`` (closed, and so
    flushed, however training ends); None without it."""
    if config.tensorboard is None or not config.episodes:
        yield None
        return
    live = open_training_log(config.tensorboard, cls, config.seed, config.tensorboard_run)
    try:
        yield live
    finally:
        live.close()


def evaluate(cls: type, params: dict[str, Any], frame: pd.DataFrame, start: pd.Timestamp,
             config: BacktestConfig, annual: Annualisation) -> dict[str, float]:
    """Metrics of one run of ``cls`` over ``frame`` from ``start`` (earlier bars: history)."""
    strat = run_strategy(cls, params, frame, start, config)
    return period_metrics(strat, equity_frame(strat, start), config.cash, annual)


def make_agent(cls: type, params: dict[str, Any], config: BacktestConfig) -> Any:
    """The agent of this run: loaded from ``config.load`` or built fresh."""
    owner: Any = cls  # a LearningStrategy (checked where it was resolved)
    if config.load:
        agent = owner.load_agent(config.load, params, device=config.device, threads=config.threads)
    else:
        agent = owner.build_agent(
            params, seed=config.seed, device=config.device, threads=config.threads
        )
    if config.save and not isinstance(agent, SavesItself):
        raise ConfigError(f"--save {config.save}: this strategy's agent has no save().")
    return agent


def train_agent(
    cls: type,
    params: dict[str, Any],
    agent: Any,
    frame: pd.DataFrame,
    config: BacktestConfig,
    start_bar: Callable[[str, int], EpisodeBar],
    after_episode: Callable[[int], dict[str, float]] | None = None,
    live: TrainingLog | None = None,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Run ``config.episodes`` exploring, learning passes over ``frame``.

    :param after_episode: called with the episode number after each pass; its
        figures (validation scores) join that episode's row.
    :param live: the TensorBoard log: per-update figures from strategies with a
        ``tensorboard`` param, each episode's row from here.
    :param stop: asked after each episode; True ends training there.
    :return: one row per episode: return, loss, q_mean, epsilon, final value, ...
    """
    rows = []
    for episode in range(1, config.episodes + 1):
        bar = start_bar(f"episode {episode}/{config.episodes}", len(frame))
        run_params = {**params, "agent": agent, "learn": True, "explore": True, "progress": bar}
        if live is not None and "tensorboard" in cls.params._getkeys():  # type: ignore[attr-defined]
            run_params["tensorboard"] = live
        # Training passes read only the episode stats: no analyzers (~17 us a bar).
        strat = run_strategy(cls, run_params, frame, None, config, analyzers=False)
        stats = strat.episode_stats()
        checked = after_episode(episode) if after_episode is not None else {}
        bar.finish({**stats, **checked})
        rows.append({"episode": episode, **stats, "final_value": strat.broker.getvalue(),
                     **checked})
        if live is not None:
            live.episode(episode, rows[-1], int(stats.get("bars", len(frame))))
        if stop is not None and stop():
            break
    return pd.DataFrame(rows)


STEPS_PER_FIT_BAR = 10
"""``--timesteps`` default: env steps per bar of the fit part (10 passes over it)."""


def episode_steps(config: BacktestConfig, fit_bars: int) -> list[int]:
    """Env steps of each episode: ``--timesteps`` (default ``STEPS_PER_FIT_BAR``
    per fit bar) split evenly, the first episodes taking the remainder."""
    total = config.timesteps or STEPS_PER_FIT_BAR * fit_bars
    if config.episodes and total < config.episodes:
        raise ConfigError(f"--timesteps {total} is fewer than --episodes {config.episodes}: "
                          "each episode needs at least one step.")
    share, extra = divmod(total, config.episodes) if config.episodes else (0, 0)
    return [share + (1 if i < extra else 0) for i in range(config.episodes)]


def train_in_env(
    cls: type,
    params: dict[str, Any],
    agent: Any,
    frame: pd.DataFrame,
    config: BacktestConfig,
    steps: list[int],
    start_bar: Callable[[str, int], EpisodeBar],
    after_episode: Callable[[int], dict[str, float]] | None = None,
    live: TrainingLog | None = None,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Like ``train_agent``, for a strategy that ``TrainsItself``: episode i
    trains ``steps[i]`` env steps on ``frame`` (the strategy's own loop; only
    the episode rows reach ``live``; ``stop`` as there)."""
    owner: Any = cls  # checked TrainsItself where it was resolved
    rows = []
    for episode, count in enumerate(steps, start=1):
        bar = start_bar(f"episode {episode}/{len(steps)}", count)
        run_params = params
        if live is not None and "tensorboard" in cls.params._getkeys():  # type: ignore[attr-defined]
            run_params = {**params, "tensorboard": live}  # its own logger writes beside rlbt's
        stats = owner.train_episode(agent, frame, run_params, config, count, bar)
        checked = after_episode(episode) if after_episode is not None else {}
        bar.finish({**stats, **checked})
        rows.append({"episode": episode, **stats, **checked})
        if live is not None:
            live.episode(episode, rows[-1], count)
        if stop is not None and stop():
            break
    return pd.DataFrame(rows)


def pretrain_agent(
    contract: StrategyContract, params: dict[str, Any], agent: Any, frame: pd.DataFrame
) -> pd.DataFrame:
    """Offline pre-training on the train slice, for strategies that offer it
    (``contracts.Pretrains``); empty otherwise."""
    if not contract.pretrains:
        return pd.DataFrame()
    owner: Any = contract.cls
    history: pd.DataFrame = owner.pretrain(agent, frame, params)
    return history


def evaluation_params(
    params: dict[str, Any], agent: Any, *, learn: bool
) -> dict[str, Any]:
    """Params of an evaluation run with ``agent``, learning online when ``learn``.

    Actions are greedy, except for an on-policy agent (``agent.on_policy``)
    that learns online: its gradient is valid only for actions drawn from its
    policy, so it samples them (seeded, so a run still repeats bit for bit).
    """
    learn = learn and learns_online(agent)
    return {**params, "agent": agent, "learn": learn,
            "explore": learn and samples_to_learn(agent)}


def learns_online(agent: Any) -> bool:
    """False for agents that declare ``learns_online = False`` (SB3 models:
    they learn only in their own training loop, never from the bridge)."""
    return bool(getattr(agent, "learns_online", True))


def samples_to_learn(agent: Any) -> bool:
    """True for on-policy agents (REINFORCE, A2C): they learn only from sampled actions."""
    return bool(getattr(agent, "on_policy", False))


def checkpoint_bytes(agent: Any) -> bytes | None:
    """The agent's checkpoint as it is now (None when it cannot save itself):
    kept before the test slice, so ``model.pt`` is the agent as trained."""
    if not isinstance(agent, SavesItself):
        return None
    with tempfile.TemporaryDirectory(prefix="rlbt-model-") as folder:
        path = Path(folder) / "model.pt"
        agent.save(path)
        return path.read_bytes()
