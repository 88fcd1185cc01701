"""A portfolio rule in a few lines, on rlbt's portfolio contract.

    rlbt run examples/portfolio_rule.py:TrendFilter --data orcl,nvda,yhoo

At each bar ``target_weights()`` sees bars up to now of every asset
(``self.datas``, in ``--data`` order) and returns one weight per asset; the
rest is cash. rlbt sizes the targets at the next open, net of costs, sells
before it buys, and skips an asset that has no bar that day.
"""

from typing import Any

import numpy as np

from rlbt.strategies.portfolio import PortfolioStrategy


class TrendFilter(PortfolioStrategy):
    """Equal weight in the assets above their ``slow``-bar average; cash for the rest."""

    params: Any = (("slow", 50), ("every", 5))

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        return int(cls.with_defaults(params)["slow"]) + 1

    def __init__(self) -> None:
        super().__init__()
        self.min_history = int(self.p.slow)

    def target_weights(self) -> Any:
        above = np.array([d.close[0] > np.mean(d.close.get(size=int(self.p.slow)))
                          for d in self.datas])
        return above / self.n_assets
