"""Feature rows for sequence forecasters: pure functions of bar t and bar t-1.

Per bar: the log return of the close, the log range (high / low), the log
change of volume, and the date encoded as points on circles (sin, cos) so
that December sits next to January: day of year, day of month, month and
weekday.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np

N_FEATURES = 11
_TAU = 2.0 * math.pi


def feature_row(
    close: float, prev_close: float, high: float, low: float, volume: float,
    prev_volume: float, when: datetime,
) -> np.ndarray:
    """The feature vector of one bar (float32, length ``N_FEATURES``)."""
    row = np.empty(N_FEATURES, dtype=np.float32)
    row[0] = math.log(close / prev_close)
    row[1] = math.log(high / low)
    row[2] = math.log1p(volume) - math.log1p(prev_volume)  # 0 when volume is absent
    row[3:] = date_features(when)
    return row


def date_features(when: datetime) -> np.ndarray:
    """(sin, cos) of day of year, day of month, month and weekday."""
    day_of_year = when.timetuple().tm_yday - 1
    angles = (
        _TAU * day_of_year / 365.25,
        _TAU * (when.day - 1) / 31.0,
        _TAU * (when.month - 1) / 12.0,
        _TAU * when.weekday() / 7.0,
    )
    return np.array([f(a) for a in angles for f in (math.sin, math.cos)], dtype=np.float32)


def forecast_label(close_then: float, close_now: float) -> float:
    """The label of the window that ended ``horizon`` bars ago: the log return
    from that bar's close to this bar's."""
    return math.log(close_now / close_then)
