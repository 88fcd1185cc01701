"""The backtrader shim: the ``collections`` aliases exist and the backtrader
code path that needs them runs."""

from __future__ import annotations

import collections
import subprocess
import sys

import numpy as np
import pytest
from price_series import make_prices

from rlbt.engine.compat import bt, install


def test_without_shim_python_lacks_the_alias() -> None:
    code = "import collections, sys; sys.exit(0 if hasattr(collections, 'Iterable') else 3)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3


def test_shim_restores_missing_aliases_and_keeps_existing_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("Iterable", "Mapping"):
        monkeypatch.delattr(collections, name, raising=False)
    sentinel = object()
    monkeypatch.setattr(collections, "Sequence", sentinel, raising=False)
    install()
    assert collections.Iterable is collections.abc.Iterable  # type: ignore[attr-defined]
    assert collections.Mapping is collections.abc.Mapping  # type: ignore[attr-defined]
    assert collections.Sequence is sentinel  # type: ignore[attr-defined]
    install()
    assert collections.Iterable is collections.abc.Iterable  # type: ignore[attr-defined]


class _Bound(bt.Indicator):
    """An indicator that binds lines: backtrader's bindlines uses collections.Iterable."""

    lines = ("same",)

    def __init__(self) -> None:
        self.lines.same = self.data.close * 1.0
        self.bind2lines()


class _UsesBound(bt.Strategy):
    def __init__(self) -> None:
        self.ind = _Bound(self.data)
        self.seen: list[float] = []

    def next(self) -> None:
        self.seen.append(self.ind.same[0])


def test_bindlines_runs_under_the_shim() -> None:
    frame = make_prices(np.linspace(10, 20, 30))
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(_UsesBound)
    strat = cerebro.run()[0]
    assert strat.seen == list(frame["close"])
