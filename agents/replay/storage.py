"""The replay ring: transitions in preallocated NumPy arrays, each observation stored once.

Layout
------
Transition number ``e`` (counting every write) lives in slot ``e % capacity``.
Its scalars sit in two packed arrays, ``ints`` (action, next-obs row) and
``floats`` (reward, terminated, discount), so that sampling gathers them all
with two ``take`` calls whose rows come out C-contiguous. Observations live in
one array of rows::

    rows = [ slot rows (capacity) | pending rows (lag) | side rows (grows) ]

``obs`` of slot ``s`` is row ``s``; ``next_obs`` is whichever row ``ints[1, s]``
names. In a continuous stream ``next_obs`` of transition ``e`` is the ``obs`` of
transition ``e + lag`` (``lag`` is the n-step length, 1 for one-step), so:

1. Writing ``e`` puts its ``next_obs`` in pending row ``e % lag`` and points ``e``
   at it: its future slot row may still hold a live transition.
2. Writing ``e + lag`` compares its ``obs`` bytes with that pending row. Equal:
   the new slot row holds the same bits, so ``e`` is re-pointed there and the
   pending row is reused. Different (an episode ended, the stream broke): the
   pending row is copied to the next side row and ``e`` points there.

Only the bytes decide, so any sequence of writes is stored exactly (tests check
it against a plain list); continuity only saves memory. Side rows are taken in
FIFO order and are free once their transition has left the ring; when the
oldest is still live the side area doubles (never past ``capacity`` rows, and
never in a continuous stream). Pointers always go to a transition written
later, which leaves the ring later, so no live row is ever overwritten.

Memory, ``capacity = 1M`` and 32 float32 features: rows 130 MB (one side row per
64 transitions to start), ints 16 MB, floats 12 MB, about 158 MB in all,
against 264 MB with a separate ``next_obs`` array.

Speed. ``write`` is the per-bar hot path: it stores through ``memoryview``s of
the arrays (a byte-slice copy per row, an item store per scalar), several
times cheaper than NumPy's indexing, which parses its index on every call.
``gather`` is four ``take`` calls. (A packed 20-byte record per slot was
measured too: one cache line per sampled transition made 1M-capacity samples
10-15% faster at B >= 256, but the extra transpose and widening calls made
every sample at 100k, and B=32 at 1M, 15-25% slower.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlbt.agents.errors import AgentError, CheckpointError

_DEAD = -(2**62)  # owner of an unused pending or side row: older than any live transition
_ARRAYS = ("rows", "ints", "floats", "side_owner", "pending_owner")


def _flat_view(array: np.ndarray) -> Any:
    """A 1-D ``memoryview`` of a C-contiguous array's items (Any: its item type varies)."""
    return memoryview(array.reshape(-1))  # type: ignore[arg-type]


class TransitionStore:
    """A ring of ``capacity`` transitions; writes in order, gathers by slot."""

    def __init__(
        self, capacity: int, obs_shape: tuple[int, ...], obs_dtype: np.dtype[Any], lag: int
    ) -> None:
        """:param capacity: transitions kept (validated by the caller).
        :param obs_shape: shape of one observation.
        :param obs_dtype: storage dtype of observations.
        :param lag: writes between a transition and the one whose obs is its next_obs.
        """
        self.capacity = capacity
        self._shape = obs_shape
        self._dtype = obs_dtype
        self._to_float32 = obs_dtype != np.float32  # decided once: a dtype compare is slow
        self._lag = lag
        self._side_base = capacity + lag
        side = min(capacity, max(16, capacity // 64))
        self._set_rows(np.zeros((self._side_base + side, *obs_shape), obs_dtype))
        self._set_scalars(np.zeros((2, capacity), dtype=np.int64),  # action, next-obs row
                          np.zeros((3, capacity), dtype=np.float32))  # reward, terminated, disc.
        self._side_owner = np.full(side, _DEAD, dtype=np.int64)
        self._side_head = 0
        self._pend_owner = [_DEAD] * lag
        self._pend_bytes = [b""] * lag
        self.written = 0  # transitions written so far
        self.cursor = 0  # the next slot: written % capacity
        self.size = 0  # min(written, capacity)

    def __getstate__(self) -> dict[str, Any]:
        # memoryviews cannot be pickled or deep-copied: rebuilt from the arrays instead
        return {k: v for k, v in self.__dict__.items() if not isinstance(v, memoryview)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._set_rows(self._rows)
        self._set_scalars(self._ints, self._floats)

    @property
    def nbytes(self) -> int:
        """Bytes held by the rows, the scalars and the side-row owners."""
        return self._rows.nbytes + self._ints.nbytes + self._floats.nbytes + \
            self._side_owner.nbytes

    def _set_rows(self, rows: np.ndarray) -> None:
        self._rows = rows
        self._row_bytes = rows[0].nbytes
        self._rows_mv = _flat_view(rows.view(np.uint8))  # flat bytes, for write

    def _set_scalars(self, ints: np.ndarray, floats: np.ndarray) -> None:
        self._ints, self._floats = ints, floats
        # flat item views: ints_mv[k * capacity + slot] is ints[k, slot]
        self._ints_mv = _flat_view(ints)
        self._floats_mv = _flat_view(floats)

    def write(
        self, o: np.ndarray, action: int, reward: float, nx: np.ndarray, terminated: bool,
        discount: float,
    ) -> None:
        """Write one transition at the cursor (the hot path of ``add``).

        ``o`` and ``nx`` must have the store's dtype and shape (``ReplayBuffer.add`` casts).
        """
        e = self.written
        slot = self.cursor
        cap = self.capacity
        j = e % self._lag
        pending = cap + j
        ints, floats = self._ints_mv, self._floats_mv
        try:
            ints[slot] = action  # first: a bad action leaves the store as it was
        except TypeError:
            raise AgentError(f"action must be an integer, got {action!r}") from None
        ob, nb = o.tobytes(), nx.tobytes()
        owner = self._pend_owner[j]
        if owner > e - cap:  # the transition waiting on pending row j stays live
            if ob == self._pend_bytes[j]:
                ints[cap + owner % cap] = slot  # its next_obs is this obs
            else:
                self._copy_to_side(self._rows[pending][None], np.array([owner]), e + 1)
        size = self._row_bytes
        self._rows_mv[slot * size:slot * size + size] = ob
        self._rows_mv[pending * size:pending * size + size] = nb
        self._pend_bytes[j] = nb
        self._pend_owner[j] = e
        ints[cap + slot] = pending
        floats[slot] = reward
        floats[cap + slot] = terminated
        floats[2 * cap + slot] = discount
        self.written = e + 1
        self.cursor = slot + 1 if slot + 1 < self.capacity else 0
        if self.size < self.capacity:
            self.size += 1

    def write_batch(
        self, o: np.ndarray, act: np.ndarray, rew: np.ndarray, nx: np.ndarray, term: np.ndarray,
        discount: float,
    ) -> None:
        """The same as ``write`` row by row, vectorised (lag 1 only; k >= 1 rows)."""
        cap = self.capacity
        skip = max(0, len(act) - cap)  # rows that this very call would overwrite
        o, act, rew, nx, term = o[skip:], act[skip:], rew[skip:], nx[skip:], term[skip:]
        k = len(act)
        e0 = self.written + skip
        end = e0 + k  # transitions written once this call is done
        slots = (e0 + np.arange(k)) % cap
        owner = self._pend_owner[0]
        if owner >= end - cap:  # the transition before this batch stays live
            if o[0].tobytes() == self._pend_bytes[0]:
                self._ints[1, owner % cap] = slots[0]
            else:
                self._copy_to_side(self._rows[cap][None], np.array([owner]), end)
        next_rows = np.empty(k, dtype=np.int64)
        next_rows[:-1] = slots[1:]
        next_rows[-1] = cap  # the pending row
        flat_o = o.reshape(k, -1).view(np.uint8)
        flat_nx = nx.reshape(k, -1).view(np.uint8)
        breaks = np.flatnonzero((flat_o[1:] != flat_nx[:-1]).any(axis=1))
        if breaks.size:  # an episode ended (or the stream broke) inside the batch
            next_rows[breaks] = self._copy_to_side(nx[breaks], e0 + breaks, end)
        self._rows[slots] = o
        self._rows[cap] = nx[-1]
        self._pend_bytes[0] = nx[-1].tobytes()
        self._pend_owner[0] = end - 1
        self._ints[:, slots] = (act, next_rows)
        self._floats[:, slots] = (rew, term, np.full(k, discount, dtype=np.float32))
        self.written = end
        self.cursor = end % cap
        self.size = min(cap, self.size + skip + k)

    def gather(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        """``obs, actions, rewards, next_obs, terminated, discounts`` at slots ``indices``."""
        ints = self._ints.take(indices, axis=1)  # [2, B]: each row is C-contiguous
        floats = self._floats.take(indices, axis=1)
        obs = self._rows.take(indices, axis=0)
        next_obs = self._rows.take(ints[1], axis=0)
        if self._to_float32:
            obs, next_obs = obs.astype(np.float32), next_obs.astype(np.float32)
        return obs, ints[0], floats[0], next_obs, floats[1], floats[2]

    def _copy_to_side(self, values: np.ndarray, owners: np.ndarray, end: int) -> np.ndarray:
        """Store ``values`` in the next side rows and point transitions ``owners`` there.

        :param end: the written count once the current write is done; a side row
            whose owner is older than ``end - capacity`` is free.
        :return: the rows used.
        """
        need = len(owners)
        while True:
            size = len(self._side_owner)
            pos = (self._side_head + np.arange(need)) % size
            if need <= size and not (self._side_owner[pos] >= end - self.capacity).any():
                break
            if size >= self.capacity:  # at most capacity - 1 side rows are ever live
                raise RuntimeError("replay side rows exhausted: internal error")
            self._grow_side(min(self.capacity, max(2 * size, size + need)))
        rows = self._side_base + pos
        self._rows[rows] = values
        self._side_owner[pos] = owners
        self._ints[1, owners % self.capacity] = rows
        self._side_head = int((pos[-1] + 1) % len(self._side_owner))
        return rows

    def _grow_side(self, new_size: int) -> None:
        """Enlarge the side area, laying the old one out oldest first so FIFO order holds."""
        old = len(self._side_owner)
        order = (self._side_head + np.arange(old)) % old
        base = self._side_base
        rows = np.zeros((base + new_size, *self._shape), self._dtype)
        rows[:base] = self._rows[:base]
        rows[base:base + old] = self._rows[base + order]
        self._set_rows(rows)
        owner = np.full(new_size, _DEAD, dtype=np.int64)
        owner[:old] = self._side_owner[order]
        self._side_owner = owner
        next_rows = self._ints[1]
        moved = next_rows >= base
        next_rows[moved] = base + (next_rows[moved] - base - self._side_head) % old
        self._side_head = old

    def state_dict(self) -> dict[str, Any]:
        """Copies of the arrays and counters."""
        state: dict[str, Any] = {
            "rows": self._rows.copy(),
            "ints": self._ints.copy(),
            "floats": self._floats.copy(),
            "side_owner": self._side_owner.copy(),
            "pending_owner": np.array(self._pend_owner, dtype=np.int64),
        }
        return {**state, "side_head": self._side_head, "written": self.written}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (extra keys are ignored).

        :raises CheckpointError: when the state is from a store of another shape.
        """
        try:
            arrays = {key: np.array(state[key]) for key in _ARRAYS}
            side_head, written = int(state["side_head"]), int(state["written"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"replay state is incomplete or malformed: {exc!r}") from exc
        side = arrays["side_owner"].shape[0]
        expected = {
            "rows": (self._side_base + side, *self._shape), "ints": self._ints.shape,
            "floats": self._floats.shape, "side_owner": (side,), "pending_owner": (self._lag,),
        }
        for key, shape in expected.items():
            if arrays[key].shape != shape or not 0 < side <= self.capacity:
                raise CheckpointError(
                    f"replay state {key!r} has shape {arrays[key].shape}, expected {shape}: "
                    "build the buffer with the capacity, obs_shape and n_step it was saved with"
                )
        if arrays["rows"].dtype != self._dtype:
            raise CheckpointError(
                f"replay state stores {arrays['rows'].dtype} observations, "
                f"this buffer {self._dtype}"
            )
        self._set_rows(np.ascontiguousarray(arrays["rows"]))
        self._set_scalars(np.ascontiguousarray(arrays["ints"], dtype=np.int64),
                          np.ascontiguousarray(arrays["floats"], dtype=np.float32))
        self._side_owner = arrays["side_owner"].astype(np.int64, copy=False)
        self._side_head = side_head % side
        self._pend_owner = [int(x) for x in arrays["pending_owner"]]
        self._pend_bytes = [self._rows[self.capacity + j].tobytes() for j in range(self._lag)]
        self.written = written
        self.cursor = self.written % self.capacity
        self.size = min(self.written, self.capacity)
