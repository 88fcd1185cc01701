"""``SB3Agent``: a Stable-Baselines3 model behind rlbt's Agent contract.

The bridge asks ``act(obs, explore)`` (``model.predict``); ``observe`` learns
nothing, because an SB3 model learns only inside its own ``learn`` loop
(``learns_online = False`` tells the runner, which then tests it frozen).
``state_dict`` / ``load_state_dict`` are the policy's, so ``--select best``
keeps the best episode's policy; ``save`` writes SB3's own zip.
"""

from __future__ import annotations

import os
import tempfile
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

    def learn(self, steps: int, progress: Any = None) -> dict[str, float]:
        """``steps`` more env steps of the model's own training; the figures of them."""
        counter = _Counter(progress)
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
