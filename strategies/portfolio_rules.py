"""Rule-based portfolio strategies on the portfolio contract
(``PortfolioStrategy.target_weights``): the two benchmarks every portfolio run
is shown beside, and examples for plugin authors, each a few lines."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from rlbt.engine.params import Rule
from rlbt.strategies.portfolio import PortfolioStrategy


class EqualWeightHold(PortfolioStrategy):
    """1/N of the equity in each asset at the first open, then held (weights drift)."""

    def target_weights(self) -> Any:
        if self.targets:
            return None  # bought once: hold
        return np.full(self.n_assets, 1.0 / self.n_assets)


class EqualWeightRebalanced(PortfolioStrategy):
    """1/N in each asset, traded back to 1/N every ``every`` bars."""

    def target_weights(self) -> Any:
        return np.full(self.n_assets, 1.0 / self.n_assets)


def _log_returns(strategy: PortfolioStrategy, bars: int) -> np.ndarray:
    """``[bars, n_assets]`` log returns of the last ``bars`` bars (bars <= now)."""
    closes = np.array([d.close.get(size=bars + 1) for d in strategy.datas]).T
    return np.diff(np.log(closes), axis=0)


class InverseVolatility(PortfolioStrategy):
    """Weights proportional to 1 / volatility of the last ``lookback`` returns."""

    params: Any = (("lookback", 20), ("every", 21))
    param_rules: ClassVar[dict[str, Rule]] = {"lookback": Rule(low=2, integer=True)}
    lookback_params: ClassVar[tuple[str, ...]] = ("lookback",)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        return int(cls.with_defaults(params)["lookback"]) + 2

    def __init__(self) -> None:
        super().__init__()
        self.min_history = int(self.p.lookback) + 1

    def target_weights(self) -> Any:
        vol = _log_returns(self, int(self.p.lookback)).std(axis=0)
        inverse = np.where(vol > 0, 1.0 / np.maximum(vol, 1e-12), 0.0)
        total = inverse.sum()
        return inverse / total if total > 0 else np.full(self.n_assets, 1.0 / self.n_assets)


class MomentumTopK(PortfolioStrategy):
    """Equal weight in the ``k`` assets with the highest return over ``lookback`` bars."""

    params: Any = (("lookback", 63), ("k", 1), ("every", 21))
    param_rules: ClassVar[dict[str, Rule]] = {"lookback": Rule(low=1, integer=True),
                                              "k": Rule(low=1, integer=True)}
    lookback_params: ClassVar[tuple[str, ...]] = ("lookback",)

    @classmethod
    def lookback_bars(cls, params: dict[str, Any]) -> int:
        return int(cls.with_defaults(params)["lookback"]) + 2

    def __init__(self) -> None:
        super().__init__()
        self.min_history = int(self.p.lookback) + 1

    def target_weights(self) -> Any:
        momentum = _log_returns(self, int(self.p.lookback)).sum(axis=0)
        k = min(int(self.p.k), self.n_assets)
        best = np.argsort(-momentum, kind="stable")[:k]
        weights = np.zeros(self.n_assets)
        weights[best] = 1.0 / k
        return weights
