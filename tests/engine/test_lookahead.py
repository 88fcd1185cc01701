"""The look-ahead harness finds a deliberately leaky strategy and passes honest ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rlbt.engine.data.validate import validate_prices
from rlbt.engine.lookahead import check_lookahead, mirror_future
from rlbt.strategies.exposure import ExposureStrategy


class PeeksAhead(ExposureStrategy):
    """Long when the close ``ahead`` bars later is higher: a leak."""

    params = (("ahead", 1),)

    def decide(self) -> int:
        if len(self.data) + self.p.ahead <= self.data.buflen():
            return int(self.data.close[self.p.ahead] > self.data.close[0])
        return 0


@pytest.mark.parametrize(
    ("ahead", "variants"),
    [(1, {"future replaced"}), (3, {"truncated", "future replaced"})],
)
def test_leaky_strategy_is_caught(wavy_prices: pd.DataFrame, ahead: int, variants: set) -> None:
    report = check_lookahead(PeeksAhead, wavy_prices, cuts=3, params={"ahead": ahead})
    assert not report.clean
    assert {leak.variant for leak in report.leaks} == variants
    for leak in report.leaks:
        assert leak.cut - pd.Timedelta(days=7) <= leak.bar < leak.cut


@pytest.mark.parametrize("strategy", ["sma-cross", "mean-forecast", "buy-and-hold"])
def test_baselines_are_clean(wavy_prices: pd.DataFrame, strategy: str) -> None:
    report = check_lookahead(strategy, wavy_prices, cuts=3)
    assert report.clean, [str(leak) for leak in report.leaks]
    assert len(report.cuts) == 3


def test_mirrored_future_is_valid_and_different(wavy_prices: pd.DataFrame) -> None:
    mirrored = mirror_future(wavy_prices, 300)
    validate_prices(mirrored, "mirrored")
    pd.testing.assert_frame_equal(mirrored.iloc[:300], wavy_prices.iloc[:300])
    up = np.sign(wavy_prices["close"].diff().iloc[301:])
    down = np.sign(mirrored["close"].diff().iloc[301:])
    assert (up == -down).all()
