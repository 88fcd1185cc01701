"""Hand-made price series whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_prices(close: np.ndarray, start: str = "2020-01-01", freq: str = "B") -> pd.DataFrame:
    """An OHLCV frame around ``close``: open = previous close, high/low bracket both."""
    close = np.asarray(close, dtype=float)
    open_ = np.concatenate([[close[0]], close[:-1]])
    index = pd.date_range(start, periods=len(close), freq=freq, name="datetime")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": np.full(len(close), 1000.0),
        },
        index=index,
    )
