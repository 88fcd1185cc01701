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
import pandas as pd

N_FEATURES = 11
_TAU = 2.0 * math.pi


def feature_row(
    close: float,
    prev_close: float,
    high: float,
    low: float,
    volume: float,
    prev_volume: float,
    when: datetime,
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


def feature_matrix(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    when: pd.DatetimeIndex,
) -> np.ndarray:
    """``feature_row`` for every bar at once (row 0, with no previous bar, is NaN).
    Row i uses bars i-1 and i only."""
    out = np.full((len(close), N_FEATURES), np.nan, dtype=np.float32)
    out[1:, 0] = np.diff(np.log(close))
    out[:, 1] = np.log(high / low)
    out[1:, 2] = np.diff(np.log1p(volume))
    out[:, 3:] = np.stack([date_features(t) for t in when.to_pydatetime()])
    out[0, 1:] = np.nan
    return out


def supervised_table(
    features: np.ndarray, close: np.ndarray, window: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows of feature rows and their labels, in time order: the
    window ending at bar t (rows t-window+1..t, from bar 1 on) and the log
    return from bar t to bar t + horizon."""
    ends = np.arange(window, len(close) - horizon)
    if len(ends) == 0:
        return np.zeros((0, window, features.shape[1]), np.float32), np.zeros(0)
    windows = np.lib.stride_tricks.sliding_window_view(features[1:], window, axis=0)
    windows = np.ascontiguousarray(windows.transpose(0, 2, 1))[ends - window]
    labels = np.log(close[ends + horizon] / close[ends])
    return windows, labels


def forecast_label(close_then: float, close_now: float) -> float:
    """The label of the window that ended ``horizon`` bars ago: the log return
    from that bar's close to this bar's."""
    return math.log(close_now / close_then)
