"""A sum tree over non-negative leaves: the index behind prioritized replay.

Levels of node sums are stacked over the leaves, each node summing
``branching`` children, until a level has at most ``scan_size`` nodes: the top.
All levels are views into one float64 array (so the state is one array), and
padding past ``capacity`` stays 0. A node is always recomputed from its
children, never patched with a delta, so rounding cannot drift.

A prefix search scans the top once (``cumsum``, cached until the next update,
then ``searchsorted``) and descends the other levels, choosing among a node's
children with one ``cumsum`` over a ``[B, branching]`` block. Both searches
and updates are vectorised over the batch, one set of NumPy calls per level
and no Python loop over the samples. NumPy's per-call overhead, not the
arithmetic, dominates at replay batch sizes, so the wide nodes (16 children,
two levels under a top of 391 nodes for 100k leaves) beat a binary tree's 17
levels by about two to one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from agents.errors import AgentError, CheckpointError

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]


class SumTree:
    """Leaf values ``v[0..capacity)`` with batched O(log n) updates and prefix search."""

    def __init__(self, capacity: int, branching: int = 16, scan_size: int = 1024) -> None:
        """:param capacity: number of leaves, >= 1.
        :param branching: children per node, >= 2 (a speed knob: results do not change).
        :param scan_size: most nodes in the top level, >= 1 (a speed knob as well).
        """
        for name, value, least in (("capacity", capacity, 1), ("branching", branching, 2),
                                   ("scan_size", scan_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
                raise AgentError(f"sum tree {name} must be an integer >= {least}, got {value!r}")
        self._capacity = int(capacity)
        self._k = int(branching)
        nodes = [self._capacity]  # nodes per level, leaves first
        while nodes[-1] > scan_size:
            nodes.append(-(-nodes[-1] // self._k))
        # each level but the top is padded to fill whole blocks of its parents' children
        self._lengths = [n * self._k for n in nodes[1:]] + [nodes[-1]]
        self._set_flat(np.zeros(sum(self._lengths), dtype=np.float64))

    def _set_flat(self, flat: FloatArray) -> None:
        self._flat = flat
        ends = np.cumsum(self._lengths)
        self._levels = [flat[end - n:end] for n, end in zip(self._lengths, ends, strict=True)]
        self._leaves = self._levels[0]
        self._prefix: FloatArray | None = None  # [0, cumsum(top)], cached until an update

    @property
    def capacity(self) -> int:
        """Number of leaves."""
        return self._capacity

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._top_prefix()[-1])

    def get(self, indices: npt.ArrayLike) -> FloatArray:
        """Leaf values at ``indices``.

        :param indices: leaf indices in ``[0, capacity)``.
        """
        return self._leaves.take(self._check_indices(indices))

    def update(self, indices: npt.ArrayLike, values: npt.ArrayLike) -> None:
        """Set leaves ``indices`` to ``values`` and refresh their ancestors.

        When an index repeats, its last value wins (as if assigned one by one).

        :param indices: 1-D leaf indices in ``[0, capacity)``.
        :param values: 1-D finite values >= 0, one per index.
        """
        idx = self._check_indices(indices)
        val = np.asarray(values, dtype=np.float64)
        if val.shape != idx.shape:
            raise AgentError(f"got {idx.shape[0]} indices but values of shape {val.shape}")
        if not np.isfinite(val).all() or (val < 0).any():
            raise AgentError("sum tree values must be finite and >= 0")
        if idx.size > 1:
            # NumPy leaves the winner of a repeated fancy assignment unspecified: keep the last
            _, last_in_reversed = np.unique(idx[::-1], return_index=True)
            keep = idx.size - 1 - last_in_reversed
            idx, val = idx[keep], val[keep]
        self._leaves[idx] = val
        node = idx
        for child_level, level in zip(self._levels, self._levels[1:]):
            node = node // self._k
            # a repeated parent is written twice with the same sum of its final children
            level[node] = child_level.reshape(-1, self._k).take(node, axis=0).sum(axis=1)
        self._prefix = None

    def find_prefix(
        self, targets: npt.ArrayLike, limit: int | None = None
    ) -> tuple[IndexArray, FloatArray]:
        """For each ``x`` the leaf ``i`` with ``sum(v[:i]) <= x < sum(v[:i+1])``, and ``v[i]``.

        Leaves of value 0 are not returned for ``x`` in ``[0, total)`` (up to rounding
        at exact boundaries). An ``x`` at or past ``total`` walks to the last leaf of
        its block, so ``limit`` clamps the result to the filled leaves.

        :param targets: prefix sums to look up, in ``[0, total)``.
        :param limit: return leaves below ``limit`` only (default ``capacity``).
        :return: leaf indices (int64) and their values.
        """
        remaining = np.array(targets, dtype=np.float64, ndmin=1)
        prefix = self._top_prefix()
        node = np.searchsorted(prefix, remaining, side="right")
        node -= 1  # the top node whose span holds x (targets >= 0, so never -1)
        np.minimum(node, prefix.size - 2, out=node)
        remaining -= prefix.take(node)
        k = self._k
        row_start = np.arange(remaining.size) * (k + 1)
        for level in reversed(self._levels[:-1]):
            children = level.reshape(-1, k).take(node, axis=0)  # [B, k]
            before = np.zeros((remaining.size, k + 1))  # [0, c0, c0+c1, ...] per row
            np.cumsum(children, axis=1, out=before[:, 1:])
            child = (before[:, 1:] <= remaining[:, None]).sum(axis=1)
            np.minimum(child, k - 1, out=child)  # a rounding overshoot stays in this block
            remaining -= before.ravel().take(row_start + child)
            node *= k
            node += child
        np.minimum(node, (self._capacity if limit is None else limit) - 1, out=node)
        return node, self._leaves.take(node)

    def state_dict(self) -> dict[str, Any]:
        """A copy of all levels as one array."""
        return {"tree": self._flat.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned.

        :param state: a dict holding ``tree``, from a tree of the same capacity and shape.
        """
        flat = np.array(state["tree"], dtype=np.float64)
        if flat.shape != self._flat.shape:
            raise CheckpointError(
                f"sum tree state has shape {flat.shape}, expected {self._flat.shape}: "
                "it was saved from a buffer of another capacity"
            )
        self._set_flat(flat)

    def _top_prefix(self) -> FloatArray:
        if self._prefix is None:
            top = self._levels[-1]
            prefix = np.empty(top.size + 1, dtype=np.float64)
            prefix[0] = 0.0
            np.cumsum(top, out=prefix[1:])
            self._prefix = prefix
        return self._prefix

    def _check_indices(self, indices: npt.ArrayLike) -> IndexArray:
        idx = np.asarray(indices)
        if idx.ndim != 1 or not (idx.dtype.kind in "iu" or idx.size == 0):
            raise AgentError(f"indices must be a 1-D integer array, got {idx.dtype} {idx.shape}")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < 0 or idx.max() >= self._capacity):
            raise AgentError(
                f"indices must lie in [0, {self._capacity}), got [{idx.min()}, {idx.max()}]"
            )
        return idx
