"""``from rlbt.gym import BarEnv``: rlbt's backtrader market as a Gymnasium env
(the ``gym`` extra: ``pip install rlbt[gym]``). See ``rlbt.strategies.bar_env``."""

from __future__ import annotations

from rlbt.strategies.bar_env import PERIODS, BadAction, BarEnv

__all__ = ["PERIODS", "BadAction", "BarEnv"]
