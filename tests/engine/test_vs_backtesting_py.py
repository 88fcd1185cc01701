"""Differential test against a peer: the same SMA crossover through rlbt and
through backtesting.py (fractional shares, fills at the next open), with and
without commission. Final equity and every closed trade must agree."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from rlbt.engine.cerebro import run_strategy
from rlbt.engine.config import BacktestConfig
from rlbt.engine.data.prices import load_prices
from rlbt.strategies.baselines import SmaCross
from rlbt.strategies.sizing import SIZING_MARGIN

backtesting = pytest.importorskip("backtesting")
from backtesting import Strategy  # noqa: E402
from backtesting.lib import FractionalBacktest  # noqa: E402

FAST, SLOW = 10, 30


def _sma(values: pd.Series, period: int) -> pd.Series:
    return pd.Series(values).rolling(period).mean()


class PeerSmaCross(Strategy):
    """Long (all equity) while the fast SMA is above the slow one, else flat."""

    def init(self) -> None:
        self.fast = self.I(_sma, self.data.Close, FAST)
        self.slow = self.I(_sma, self.data.Close, SLOW)

    def next(self) -> None:
        above = self.fast[-1] > self.slow[-1]
        if above and not self.position:
            self.buy(size=1 - SIZING_MARGIN)  # the fraction of equity rlbt sizes to
        elif not above and self.position:
            self.position.close()


def _peer(frame: pd.DataFrame, commission: float) -> tuple[float, pd.DataFrame]:
    data = frame.rename(columns=str.capitalize)[["Open", "High", "Low", "Close", "Volume"]]
    test = FractionalBacktest(data, PeerSmaCross, cash=10_000, commission=commission,
                              fractional_unit=1e-9, finalize_trades=False)
    with warnings.catch_warnings():  # "some trades remain open": compared as open, below
        warnings.simplefilter("ignore")  # and the peer's own pandas deprecations
        stats = test.run()
    return float(stats["Equity Final [$]"]), stats["_trades"]


@pytest.mark.parametrize("commission", [0.0, 0.001])
def test_same_equity_and_trades_as_backtesting_py(commission: float) -> None:
    frame = load_prices("orcl")
    config = BacktestConfig(commission=commission)
    # backtesting.py's first next() is one bar after its indicators warm up.
    first = frame.index[SLOW]
    strat = run_strategy(SmaCross, {"fast": FAST, "slow": SLOW}, frame, first, config)
    ours_final = strat.analyzers.equity.get_analysis()[-1][1]
    ours = pd.DataFrame(strat.analyzers.tradelog.get_analysis())
    ours = ours[ours["status"] == "closed"].reset_index(drop=True)
    peer_final, peer = _peer(frame, commission)
    assert len(ours) == len(peer) > 50
    assert ours_final == pytest.approx(peer_final, rel=1e-6)
    assert list(ours["entry_time"]) == list(peer["EntryTime"])
    assert list(ours["exit_time"]) == list(peer["ExitTime"])
    assert ours["entry_price"].to_numpy() == pytest.approx(peer["EntryPrice"].to_numpy(),
                                                           rel=1e-9)
    assert ours["exit_price"].to_numpy() == pytest.approx(peer["ExitPrice"].to_numpy(),
                                                          rel=1e-9)
