"""Replay memory over preallocated NumPy rings: uniform (``buffer``),
prioritized (``prioritized``, over ``sum_tree``), the ring itself (``storage``)
and the n-step window (``nstep``)."""

from rlbt.agents.replay.buffer import Batch, ReplayBuffer
from rlbt.agents.replay.prioritized import PrioritizedReplayBuffer

__all__ = ["Batch", "PrioritizedReplayBuffer", "ReplayBuffer"]
