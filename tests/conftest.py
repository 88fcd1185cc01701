"""Shared fixtures: small, hand-made price frames whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices


@pytest.fixture
def rising_prices() -> pd.DataFrame:
    """A steadily rising price: the right answer is to be long throughout."""
    return make_prices(100.0 * 1.002 ** np.arange(300))


@pytest.fixture
def wavy_prices() -> pd.DataFrame:
    """A noisy sine wave with drift, so SMA crossings happen both ways."""
    rng = np.random.default_rng(7)
    t = np.arange(400)
    return make_prices(100 + 10 * np.sin(t / 15) + 0.05 * t + rng.normal(0, 0.5, len(t)))
