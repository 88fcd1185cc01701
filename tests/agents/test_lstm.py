"""LSTM forecaster: config, shapes, scaling with past statistics only, the online cadence,
non-finite data, the sine-wave acceptance check, fit, determinism, checkpoints, CUDA."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rlbt.agents.errors import AgentError, CheckpointError
from rlbt.agents.lstm.forecaster import LSTMConfig, LSTMForecaster

WINDOW = 20
SMALL: dict[str, Any] = {"n_features": 1, "window_size": WINDOW, "hidden_size": 16,
                         "batch_size": 32, "warmup": 32, "lr": 2e-3, "memory_size": 2_000}


def make(**overrides: Any) -> LSTMForecaster:
    return LSTMForecaster(LSTMConfig(**{**SMALL, **overrides}))


def sine_returns(n: int, period: int = 20) -> np.ndarray:
    """``n`` log returns of the noiseless price ``100 + 10 sin(2 pi t / period)``."""
    prices = 100 + 10 * np.sin(2 * np.pi * np.arange(n + 1) / period)
    return np.diff(np.log(prices))


def windows_of(returns: np.ndarray, n_features: int = 1) -> np.ndarray:
    """Row i: the window of returns ``i .. i + WINDOW - 1`` (it ends at bar ``i + WINDOW - 1``),
    with the return repeated as ``n_features`` features."""
    rows = np.lib.stride_tricks.sliding_window_view(returns, WINDOW)
    return np.repeat(rows[..., np.newaxis], n_features, axis=2)


def run_online(model: LSTMForecaster, returns: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Drive ``model`` as a strategy would, for bars ``start .. stop - 1``.

    At bar t the window ending at t - 1 gets its label (the return of bar t),
    the model steps, then it forecasts the next return from the window ending at t.

    :return: the forecasts made at each bar (of the return of bar t + 1).
    """
    rows = windows_of(returns, model.n_features)
    forecasts = []
    for t in range(start, stop):
        model.add_example(rows[t - WINDOW], returns[t])
        model.step()
        forecasts.append(model.predict(rows[t - WINDOW + 1]))
    return np.array(forecasts)


def rmse_ratio(forecasts: np.ndarray, returns: np.ndarray, start: int) -> float:
    """Forecast RMSE over the last-value forecast's RMSE, for forecasts made at bars start.."""
    t = np.arange(start, start + forecasts.size)
    target, last_value = returns[t + 1], returns[t]
    model_rmse = np.sqrt(np.mean((forecasts - target) ** 2))
    return float(model_rmse / np.sqrt(np.mean((last_value - target) ** 2)))


def weights(model: LSTMForecaster) -> list[torch.Tensor]:
    return [p.detach().cpu().clone() for p in model.network.parameters()]


# --------------------------------------------------------------------------- config and inputs


@pytest.mark.parametrize(
    ("field", "value"),
    [("n_features", 0), ("window_size", 0), ("horizon", 0), ("hidden_size", 2.0),
     ("num_layers", 0), ("dropout", 1.0), ("dropout", 0.2), ("lr", 0.0), ("lr", math.nan),
     ("loss", "mae"), ("batch_size", 0), ("batch_size", 20_000), ("memory_size", 0),
     ("learn_every", 0), ("gradient_steps", 0), ("warmup", -1), ("max_grad_norm", 0.0),
     ("scale_label", 1), ("seed", -1), ("device", 0)],
)
def test_config_rejects_bad_values_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(AgentError, match=f"LSTMConfig.{field}"):
        LSTMConfig(**{"n_features": 2, field: value})  # type: ignore[arg-type]


def test_defaults_are_valid_and_dropout_works_between_layers() -> None:
    assert LSTMConfig(n_features=3).window_size == 32
    model = make(num_layers=2, dropout=0.3)
    assert (model.n_features, model.window_size) == (1, WINDOW)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_asking_for_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(AgentError, match="no CUDA device; use device='cpu'"):
        make(device="cuda")


@pytest.mark.parametrize("shape", [(WINDOW - 1, 1), (WINDOW, 2), (WINDOW,)])
def test_a_window_of_the_wrong_shape_is_an_error(shape: tuple[int, ...]) -> None:
    model = make()
    with pytest.raises(AgentError, match=r"expected \(20, 1\)"):
        model.predict(np.zeros(shape))
    with pytest.raises(AgentError, match=r"expected \(20, 1\)"):
        model.add_example(np.zeros(shape), 0.0)
    with pytest.raises(AgentError, match=r"expected \(k, 20, 1\)"):
        model.predict_batch(np.zeros(shape))
    assert model.examples == 0
    assert model.predict_batch(np.zeros((0, WINDOW, 1))).shape == (0,)


# --------------------------------------------------------------------------- scaling


def test_add_example_feeds_the_statistics_with_that_example_only() -> None:
    model = make(n_features=2)
    data = np.random.default_rng(0).normal(2.0, 3.0, size=(5, WINDOW, 2))
    labels = [0.5, -1.0, 4.0, 2.0, 1.0]
    for k in range(5):
        model.add_example(data[k], labels[k])
        rows = data[: k + 1].reshape(-1, 2)  # every row of every window added so far
        np.testing.assert_allclose(model.feature_norm.mean, rows.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(model.feature_norm.std, rows.std(axis=0), rtol=1e-5)
        assert model.label_norm.mean == pytest.approx(np.mean(labels[: k + 1]))
    assert (model.examples, len(model.memory)) == (5, 5)


@pytest.mark.parametrize("scale_label", [True, False])
def test_a_forecast_is_the_scaled_network_output_scaled_back(scale_label: bool) -> None:
    model = make(scale_label=scale_label)
    rng = np.random.default_rng(1)
    for _ in range(10):
        model.add_example(rng.normal(size=(WINDOW, 1)), float(rng.normal(50.0, 5.0)))
    window = rng.normal(size=(WINDOW, 1))
    x = torch.from_numpy(model.feature_norm.normalize(window)[np.newaxis])
    with torch.no_grad():
        output = float(model.network(x)[0])
    label_std, label_mean = float(model.label_norm.std), float(model.label_norm.mean)
    expected = output * label_std + label_mean if scale_label else output
    assert model.predict(window) == pytest.approx(expected, rel=1e-6)


def test_future_examples_never_change_past_forecasts() -> None:
    """The look-ahead check: cutting the future off leaves every earlier forecast as it was."""
    returns = sine_returns(300)
    full = run_online(make(), returns, WINDOW, 250)
    cut = run_online(make(), returns, WINDOW, 150)
    np.testing.assert_array_equal(full[: cut.size], cut)


# --------------------------------------------------------------------------- learning cadence


def test_trains_every_learn_every_bars_after_warmup() -> None:
    model = make(warmup=40, learn_every=3, gradient_steps=2)
    rows, returns = windows_of(sine_returns(100)), sine_returns(100)
    trained_at = []
    for t in range(WINDOW, 80):
        model.add_example(rows[t - WINDOW], returns[t])
        stats = model.step()
        if stats is not None:
            trained_at.append(model.examples)
            assert set(stats) == {"loss", "grad_norm", "updates", "skipped_nonfinite",
                                  "skipped_examples"}
    assert trained_at[0] >= 40 and set(np.diff(trained_at)) == {3}
    assert model.updates == 2 * len(trained_at) and model.bars == 60


def test_learn_before_a_batch_is_stored_is_an_error() -> None:
    with pytest.raises(AgentError, match="needs 32 stored examples"):
        make().learn()


def test_non_finite_examples_are_dropped_and_counted() -> None:
    model = make(warmup=0)
    window = np.ones((WINDOW, 1))
    assert model.add_example(window, 0.5)
    assert not model.add_example(window, math.nan)
    bad = window.copy()
    bad[3, 0] = math.inf
    assert not model.add_example(bad, 0.5)
    assert (model.examples, model.skipped_examples, len(model.memory)) == (1, 2, 1)
    assert model.label_norm.mean == 0.5 and model.feature_norm.count == WINDOW
    assert math.isnan(model.predict(bad))  # a forecast from a broken window says so
    returns = sine_returns(200)  # training goes on as usual
    run_online(model, returns, WINDOW, 150)
    assert model.updates > 0 and all(torch.isfinite(p).all() for p in weights(model))
    assert model.last_stats["skipped_examples"] == 2


def test_a_non_finite_loss_never_reaches_the_weights() -> None:
    model = make(scale_label=False, warmup=0, batch_size=4)
    for _ in range(4):  # finite float32 labels whose squared error overflows to inf
        model.add_example(np.ones((WINDOW, 1)), 3e38)
    before = weights(model)
    stats = model.learn()
    assert math.isnan(stats["loss"]) and stats["skipped_nonfinite"] == 1
    assert stats["updates"] == 0
    for got, want in zip(weights(model), before, strict=True):
        assert torch.equal(got, want)


# --------------------------------------------------------------------------- forecasting accuracy


def test_learns_a_sine_wave_online_ten_times_better_than_the_last_value() -> None:
    """Acceptance: online through add_example / step, the forecasts made over the last
    300 bars have at most a tenth of the last-value forecast's RMSE (about 1/100 here)."""
    returns = sine_returns(1_600)
    forecasts = run_online(make(), returns, WINDOW, 1_500)
    assert rmse_ratio(forecasts[-300:], returns, 1_200) < 0.1


def test_fit_then_online_learns_the_sine_wave() -> None:
    model = make()
    returns = sine_returns(1_400)
    rows = windows_of(returns)
    history = model.fit(rows[:800], returns[WINDOW:WINDOW + 800], epochs=10, val_fraction=0.2)
    assert [h["epoch"] for h in history] == list(range(1, 11))
    assert history[-1]["val_loss"] < 0.05 * history[0]["val_loss"]
    assert (model.examples, len(model.memory)) == (800, 800)
    forecasts = run_online(model, returns, WINDOW + 800, 1_300)
    assert rmse_ratio(forecasts[-200:], returns, 1_100) < 0.1


@pytest.mark.parametrize("horizon", [1, 3])
def test_fit_never_trains_on_validation_rows_or_the_purge_gap(horizon: int) -> None:
    returns = sine_returns(200)
    rows, labels = windows_of(returns)[:100], returns[WINDOW:WINDOW + 100].copy()
    changed = labels.copy()
    changed[80 - (horizon - 1):] += 1.0  # validation starts at row 80
    a, b = make(horizon=horizon), make(horizon=horizon)
    history_a = a.fit(rows, labels, epochs=2, val_fraction=0.2)
    history_b = b.fit(rows, changed, epochs=2, val_fraction=0.2)
    assert [h["train_loss"] for h in history_a] == [h["train_loss"] for h in history_b]
    assert history_a[-1]["val_loss"] != history_b[-1]["val_loss"]
    for got, want in zip(weights(a), weights(b), strict=True):
        assert torch.equal(got, want)
    assert a.examples == 100  # afterwards every row is the past of the online phase


def test_fit_rejects_bad_tables() -> None:
    model = make()
    rows = windows_of(sine_returns(100))
    with pytest.raises(AgentError, match=r"labels have shape \(3,\)"):
        model.fit(rows[:10], np.zeros(3), epochs=1)
    with pytest.raises(AgentError, match="val_fraction"):
        model.fit(rows[:10], np.zeros(10), epochs=1, val_fraction=1.0)
    with pytest.raises(AgentError, match=r"expected \(k, 20, 1\)"):
        model.fit(rows[:10, :5], np.zeros(10), epochs=1)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_forecasts_and_weights_different_seeds_differ() -> None:
    returns = sine_returns(200)
    runs = []
    for seed, global_seed in ((3, 0), (3, 1), (4, 0)):
        random.seed(global_seed)  # global random state is irrelevant
        np.random.seed(global_seed)
        torch.manual_seed(global_seed)
        model = make(seed=seed, num_layers=2, dropout=0.2)
        runs.append((run_online(model, returns, WINDOW, 150), weights(model)))
    (f_a, w_a), (f_b, w_b), (f_c, w_c) = runs
    np.testing.assert_array_equal(f_a, f_b)
    assert all(torch.equal(x, y) for x, y in zip(w_a, w_b, strict=True))
    assert not np.array_equal(f_a, f_c)


def test_global_random_state_is_never_touched() -> None:
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    python_state = random.getstate()
    model = make(num_layers=2, dropout=0.2)
    returns = sine_returns(150)
    model.fit(windows_of(returns)[:60], returns[WINDOW:WINDOW + 60], epochs=1)
    run_online(model, returns, WINDOW + 60, 140)
    assert model.updates > 0
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])  # type: ignore[index]
    assert random.getstate() == python_state


# --------------------------------------------------------------------------- checkpoints


def test_save_load_round_trip_gives_identical_forecasts(tmp_path: Path) -> None:
    returns = sine_returns(200)
    model = make()
    run_online(model, returns, WINDOW, 120)
    model.save(tmp_path / "lstm.pt")
    window = windows_of(returns)[150]
    for restored in (LSTMForecaster.from_checkpoint(tmp_path / "lstm.pt"), make(seed=9)):
        if restored.config.seed == 9:
            restored.load(tmp_path / "lstm.pt")
        assert restored.predict(window) == model.predict(window)
        assert restored.label_norm.count == model.label_norm.count
        assert len(restored.memory) == 0  # the memory travels only with include_replay


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_resume_equals_uninterrupted_training_bit_for_bit(tmp_path: Path, dropout: float) -> None:
    returns = sine_returns(260)
    uninterrupted = make(num_layers=2, dropout=dropout)
    expected = run_online(uninterrupted, returns, WINDOW, 240)
    first = make(num_layers=2, dropout=dropout)
    head = run_online(first, returns, WINDOW, 130)
    first.save(tmp_path / "lstm.pt", include_replay=True)
    resumed = LSTMForecaster.from_checkpoint(tmp_path / "lstm.pt")
    tail = run_online(resumed, returns, 130, 240)
    np.testing.assert_array_equal(np.concatenate([head, tail]), expected)
    assert all(torch.equal(x, y) for x, y in
               zip(weights(resumed), weights(uninterrupted), strict=True))
    assert resumed.last_stats == uninterrupted.last_stats


def test_loading_into_a_forecaster_of_another_shape_fails_clearly(tmp_path: Path) -> None:
    make().save(tmp_path / "lstm.pt")
    with pytest.raises(CheckpointError, match="hidden_size: file has 16, agent has 8"):
        make(hidden_size=8).load(tmp_path / "lstm.pt")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda(tmp_path: Path) -> None:
    model = make(device="cuda", num_layers=2, dropout=0.1)
    returns = sine_returns(200)
    forecasts = run_online(model, returns, WINDOW, 150)
    assert model.updates > 0 and np.isfinite(forecasts).all()
    assert next(model.network.parameters()).device.type == "cuda"
    model.save(tmp_path / "lstm.pt", include_replay=True)
    on_cpu = LSTMForecaster.from_checkpoint(tmp_path / "lstm.pt", device="cpu")
    window = windows_of(returns)[160]
    forecast = model.predict(window)
    assert on_cpu.predict(window) == pytest.approx(forecast, rel=2e-2, abs=1e-4)  # cuDNN TF32
