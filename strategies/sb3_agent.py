"""``SB3Agent``: a Stable-Baselines3 model behind rlbt's Agent contract.

The bridge asks ``act(obs, explore)`` (``model.predict``); ``observe`` learns
nothing, because an SB3 model learns only inside its own ``learn`` loop
(``learns_online = False`` tells the runner, which then tests it frozen).
``state_dict`` / ``load_state_dict`` are the policy's, so ``--select best``
keeps the best episode's policy; ``save`` writes SB3's own zip.

With ``--tensorboard`` each ``learn`` call points SB3's own logger at the
run's folder (``DIR/<run>/sb3``), so SB3's native ``train/*``, ``rollout/*``
and ``time/*`` curves appear beside rlbt's; the logger only records, so the
model learns the same bits with or without it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from rlbt.agents.errors import CheckpointError
from rlbt.file_target import give_umask_mode, write_target

PROGRESS_EVERY = 64  # env steps between progress-bar updates


class SB3Agent:
    """An SB3 algorithm instance (``model``) acting for ``AgentStrategy``."""

    learns_online = False

    def __init__(self, model: Any) -> None:
        self.model = model
        self._log_carried: dict[str, Any] = {}  # SB3 figures not yet dumped (sb3_log)

    def act(self, obs: np.ndarray, explore: bool = False) -> int:
        """The model's action: sampled when ``explore``, else deterministic."""
        action, _ = self.model.predict(obs, deterministic=not explore)
        return int(np.asarray(action).reshape(-1)[0])

    def observe(
        self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray,
        terminated: bool, truncated: bool,
    ) -> dict[str, float]:
        """Nothing: SB3 learns in ``learn`` only (``learns_online``)."""
        return {}

    def learn(self, steps: int, progress: Any = None,
              tensorboard: Path | None = None) -> dict[str, float]:
        """``steps`` more env steps of the model's own training; the figures of them.

        :param tensorboard: a folder for SB3's own TensorBoard output; None: none.
        """
        counter = _Counter(progress)
        with sb3_log(self.model, tensorboard, self._log_carried):
            # reset_num_timesteps=False: later episodes continue the schedules and the env.
            self.model.learn(total_timesteps=steps, callback=counter, reset_num_timesteps=False,
                             progress_bar=False)
        return {"return": counter.reward_sum, "bars": float(counter.steps),
                "timesteps": float(self.model.num_timesteps)}

    def state_dict(self) -> dict[str, Any]:
        """The policy's tensors (``--select best`` keeps the best episode's)."""
        return self.model.policy.state_dict()  # type: ignore[no-any-return]

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.policy.load_state_dict(state)

    def save(self, path: str | Path) -> None:
        """SB3's zip at ``path``, atomically (temp file in the folder + rename)."""
        target = write_target(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".zip",
                                        dir=target.parent)
        os.close(fd)
        try:
            give_umask_mode(tmp_name)
            self.model.save(tmp_name)
            os.replace(tmp_name, target)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise CheckpointError(f"{target}: writing the model failed: {exc}") from exc
            raise


@contextmanager
def sb3_log(model: Any, folder: Path | None, carried: dict[str, Any]) -> Iterator[None]:
    """SB3's logger writing TensorBoard events into ``folder`` for one ``learn``
    call (a new event file each call, closed after it); nothing when ``folder``
    is None. SB3 dumps an update's figures at its next dump: ``carried`` keeps
    the ones not yet dumped for the next call, so the curves continue as in one
    long ``learn`` (same steps, none twice) and no writer is left open."""
    if folder is None:
        yield
        return
    from stable_baselines3.common.logger import Logger, configure

    logger = configure(str(folder), ["tensorboard"])
    for name in _PENDING:
        getattr(logger, name).update(carried.get(name, {}))
    model.set_logger(logger)
    try:
        yield
    finally:
        carried.update({name: dict(getattr(logger, name)) for name in _PENDING})
        logger.close()
        model.set_logger(Logger(folder=None, output_formats=[]))  # never a closed writer


_PENDING = ("name_to_value", "name_to_count", "name_to_excluded")
"""The parts of an SB3 ``Logger`` that hold figures recorded but not yet dumped."""


class _Counter(BaseCallback):
    """Sums the rewards and counts the steps of one ``learn`` call, and feeds
    rlbt's progress bar."""

    def __init__(self, progress: Any) -> None:
        super().__init__()
        self.progress, self.steps, self.reward_sum = progress, 0, 0.0

    def _on_step(self) -> bool:
        self.steps += 1
        self.reward_sum += float(np.sum(self.locals.get("rewards", 0.0)))
        if self.progress is not None and self.steps % PROGRESS_EVERY == 0:
            self.progress(PROGRESS_EVERY, {"return": self.reward_sum})
        return True
