"""Compatibility shim for backtrader 1.9.78 on current Python.

backtrader is unmaintained. On Python >= 3.10 its ``lineiterator.py`` still
looks up ``collections.Iterable`` (moved to ``collections.abc`` in 3.3,
removed from ``collections`` in 3.10), which raises ``AttributeError`` when a
strategy or indicator is created with several data feeds. The aliases are
restored here, in one place, before anything touches backtrader. Everything in
rlbt imports backtrader as ``from rlbt.engine.compat import bt``.

``cerebro.plot()`` is not used anywhere: rlbt draws its own plots with
matplotlib (``rlbt.engine.output.report``), so backtrader's broken plotting never runs.
"""

from __future__ import annotations

import collections
import collections.abc

_ALIASES = ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable")


def install() -> None:
    """Restore the ``collections`` ABC aliases backtrader expects; idempotent."""
    for name in _ALIASES:
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


install()

import backtrader as bt  # noqa: E402  (must follow the shim)

__all__ = ["bt", "install"]
