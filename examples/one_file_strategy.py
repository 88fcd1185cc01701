"""A plain backtrader strategy that knows nothing of rlbt.

Run it through rlbt by path (it is imported under a private module name):

    rlbt run examples/one_file_strategy.py:RsiReversion --data orcl --param oversold=25
"""

import backtrader as bt


class RsiReversion(bt.Strategy):
    """Buy when RSI is oversold, sell when it is overbought (95% of equity)."""

    params = (("period", 14), ("oversold", 30.0), ("overbought", 70.0))

    def __init__(self):
        self.rsi = bt.indicators.RSI(self.data.close, period=self.p.period)

    def next(self):
        if not self.position and self.rsi[0] < self.p.oversold:
            self.order_target_percent(target=0.95)
        elif self.position and self.rsi[0] > self.p.overbought:
            self.order_target_percent(target=0.0)
