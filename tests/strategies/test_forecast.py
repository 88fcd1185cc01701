"""The forecasting strategies: a sine wave the LSTM must nail, label timing,
forecast metrics by hand, and the forest baseline."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from price_series import make_prices

from rlbt.engine.cerebro import build_cerebro
from rlbt.engine.runner import backtest
from rlbt.strategies.forecast_features import date_features, feature_row
from rlbt.strategies.forecast_metrics import forecast_metrics, forecast_table
from rlbt.strategies.forecast_strategy import ForecastStrategy


def sine_prices(n: int = 900) -> pd.DataFrame:
    """Noiseless: the next price is a function of the recent ones."""
    return make_prices(100 + 10 * np.sin(2 * np.pi * np.arange(n) / 20))


def test_lstm_nails_a_sine_wave_and_beats_buy_and_hold() -> None:
    params = {
        "window_size": 20,
        "hidden_size": 16,
        "batch_size": 32,
        "lr": 2e-3,
        "warmup": 32,
        "compare_forest": False,
    }
    result = backtest("lstm", sine_prices(), episodes=2, params=params, split=0.6)
    forecast = result.test.extra_metrics["forecast"]
    assert forecast["model"]["rmse"] <= 0.1 * forecast["last_value"]["rmse"]
    assert forecast["model"]["directional_accuracy"] > 0.95
    assert result.test.metrics["total_return"] > result.test.benchmark["total_return"] + 0.5


class _Spy:
    """A forecaster that records what it is given, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []

    def predict(self, window: np.ndarray) -> float:
        self.events.append(("predict", window.copy(), None))
        return 0.0

    def add_example(self, window: np.ndarray, label: float) -> None:
        self.events.append(("add", window.copy(), label))


def _bar_of(window: np.ndarray) -> int:
    """Prices are 100 + t: the last row's log return tells which bar t it is."""
    r = math.exp(float(window[-1, 0]))
    return round((99 * r - 100) / (1 - r))


@pytest.mark.parametrize("horizon", [1, 3])
def test_no_example_carries_a_label_from_the_future(horizon: int) -> None:
    frame = make_prices(100.0 + np.arange(120))
    spy = _Spy()
    build_cerebro(
        frame,
        ForecastStrategy,
        {"agent": spy, "window_size": 5, "horizon": horizon},
        cash=1000.0,
        commission=0.0,
        slippage=0.0,
    ).run()
    current = None
    adds = 0
    for kind, window, label in reversed(spy.events):  # walk back to know the next predict
        if kind == "predict":
            current = _bar_of(window)
            continue
        window_bar = _bar_of(window)
        label_bar = round((100 + window_bar) * math.exp(label) - 100)
        assert label_bar == window_bar + horizon
        assert current is not None and label_bar <= current  # known by the bar it arrives
        assert label_bar == current  # ... and not held back longer than needed
        adds += 1
    assert adds > 100 - horizon


def test_forecast_metrics_by_hand() -> None:
    when = pd.date_range("2020-01-01", periods=4, freq="D")
    records = [
        (when[0], 100.0, math.log(1.1), 99.0),
        (when[1], 110.0, 0.0, 105.0),
        (when[2], 99.0, math.log(1.0), 100.0),
        (when[3], 120.0, 0.0, 100.0),
    ]
    table = forecast_table(records, horizon=1)
    assert np.isnan(table["actual"].iloc[-1])
    metrics = forecast_metrics(table)
    # model predicts 110, 110, 99 for actual 110, 99, 120
    errors = np.array([0.0, 11.0, -21.0])
    assert metrics["model"]["rmse"] == pytest.approx(math.sqrt(np.mean(errors**2)))
    assert metrics["model"]["mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert metrics["last_value"]["rmse"] == pytest.approx(math.sqrt((100 + 121 + 441) / 3))
    ratio = np.mean(np.abs(np.log(np.array([110, 110, 99]) / np.array([110, 99, 120]))))
    assert metrics["model"]["mean_abs_log_ratio"] == pytest.approx(ratio)
    # directions: model up/flat/flat vs actual up/down/up
    assert metrics["model"]["directional_accuracy"] == pytest.approx(1 / 3)


def test_date_features_are_circular() -> None:
    a = date_features(pd.Timestamp("2020-12-31").to_pydatetime())
    b = date_features(pd.Timestamp("2021-01-01").to_pydatetime())
    # Day of year: New Year's Eve sits next to New Year's Day, not a year away.
    assert np.abs(a[:2] - b[:2]).max() < 0.02
    assert np.allclose(np.hypot(a[0::2], a[1::2]), 1.0)  # every pair is a point on a circle
    row = feature_row(110.0, 100.0, 111.0, 99.0, 0.0, 0.0, pd.Timestamp("2021-03-01"))
    assert row[0] == pytest.approx(math.log(1.1)) and row[2] == 0.0 and len(row) == 11


def test_forest_strategy_fits_on_the_train_slice() -> None:
    pytest.importorskip("sklearn")
    result = backtest(
        "forest", sine_prices(400), episodes=1, split=0.6, params={"trees": 20, "window_size": 10}
    )
    forecast = result.test.extra_metrics["forecast"]
    assert forecast["model"]["rmse"] < forecast["last_value"]["rmse"]
    assert len(result.test.tables["forecasts"]) > 100


def test_lstm_reports_the_forest_beside_it() -> None:
    pytest.importorskip("sklearn")
    result = backtest(
        "lstm",
        sine_prices(300),
        episodes=1,
        split=0.6,
        params={
            "window_size": 10,
            "hidden_size": 8,
            "forest_trees": 10,
            "warmup": 16,
            "batch_size": 16,
        },
    )
    assert set(result.test.extra_metrics["forecast"]) == {
        "model",
        "mean_20",
        "last_value",
        "forest",
    }


@pytest.mark.parametrize("episodes", [0, 1])
def test_comparison_forest_never_sees_a_window_it_is_scored_on(
    episodes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forest beside the LSTM is fitted on the train slice before any bar
    is scored, with or without training episodes: none of its training rows is
    a test window, and its test accuracy is that of a model scoring new data."""
    pytest.importorskip("sklearn")
    from sklearn.ensemble import RandomForestRegressor

    fitted: list[np.ndarray] = []
    fit = RandomForestRegressor.fit
    monkeypatch.setattr(RandomForestRegressor, "fit",
                        lambda self, x, y: (fitted.append(np.array(x)), fit(self, x, y))[1])
    scored: list[np.ndarray] = []
    compare = ForecastStrategy.period_extras

    def keep_windows(self: Any) -> Any:
        if self.p.trade_start is not None:
            scored.extend(w.reshape(-1) for w in self._windows)
        return compare(self)

    monkeypatch.setattr(ForecastStrategy, "period_extras", keep_windows)
    rng = np.random.default_rng(3)
    prices = make_prices(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))))
    result = backtest("lstm", prices, episodes=episodes, split=0.6,
                      params={"window_size": 10, "hidden_size": 4, "forest_trees": 10,
                              "warmup": 16, "batch_size": 16})
    assert len(fitted) == 1 and len(scored) > 100
    seen = {row.tobytes() for row in fitted[0].astype(np.float32)}
    assert not any(window.astype(np.float32).tobytes() in seen for window in scored)
    # a random walk: a forest that had seen its test windows would score ~0.9 here
    assert result.test.extra_metrics["forecast"]["forest"]["directional_accuracy"] < 0.7


def test_feature_matrix_matches_feature_rows() -> None:
    from rlbt.strategies.forecast_features import feature_matrix, supervised_table

    frame = make_prices(100 + 5 * np.sin(np.arange(40) / 3))
    frame["volume"] = np.arange(40) * 10.0
    matrix = feature_matrix(*(frame[c].to_numpy() for c in ("close", "high", "low", "volume")),
                            pd.DatetimeIndex(frame.index))
    assert np.isnan(matrix[0]).all()
    for i in range(1, 40):
        row = feature_row(frame["close"].iloc[i], frame["close"].iloc[i - 1],
                          frame["high"].iloc[i], frame["low"].iloc[i], frame["volume"].iloc[i],
                          frame["volume"].iloc[i - 1], frame.index[i].to_pydatetime())
        np.testing.assert_allclose(matrix[i], row, rtol=1e-5, atol=1e-6)
    windows, labels = supervised_table(matrix, frame["close"].to_numpy(), window=5, horizon=2)
    # The first window ends at bar 5 (rows 1..5) and is labelled with bars 5 -> 7.
    np.testing.assert_array_equal(windows[0], matrix[1:6])
    assert labels[0] == pytest.approx(math.log(frame["close"].iloc[7] / frame["close"].iloc[5]))
    assert len(windows) == len(labels) == 40 - 5 - 2


def test_lstm_pretraining_on_the_train_slice_is_logged(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from rlbt.engine.cli import main

    frame = sine_prices(400)
    path = tmp_path / "sine.csv"
    frame.to_csv(path)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "run", "lstm", "--data", str(path), "--episodes", "0", "--split", "0.6",
        "--param", "pretrain_epochs=3", "--param", "window_size=10", "--param", "hidden_size=8",
        "--param", "compare_forest=false", "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    log = pd.read_csv(out / "pretraining.csv")
    assert list(log["epoch"]) == [1, 2, 3] and set(log["period"]) == {"train"}
    assert log["val_loss"].notna().all() and log["train_loss"].iloc[-1] < log["train_loss"].iloc[0]
