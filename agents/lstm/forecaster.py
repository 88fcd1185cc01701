"""An LSTM sequence forecaster that learns online, one complete example at a time.

The loop that drives it (a backtrader strategy, a test) does, at every bar t::

    forecaster.add_example(window_ending_at(t - horizon), label_known_at(t))
    forecaster.step()                       # trains every learn_every bars
    forecast = forecaster.predict(window_ending_at(t))

Nothing here reads the future: an example enters (memory and running
statistics) only once its label is known, inputs and labels are scaled with
the running mean / std of what was added so far (``rlbt.agents.normalizer``), and a
minibatch is drawn from complete stored examples (``rlbt.agents.lstm.sequence_memory``).
Stored windows are raw; a batch is scaled when drawn, with the same current
statistics a prediction uses.

Non-finite data: an example holding a NaN / inf (a label from a missing bar)
is dropped before it reaches the statistics or the memory, and counted in
``skipped_examples``: one NaN would stay in a running mean forever. A gradient
step whose loss or gradient norm is not finite is skipped and counted in
``skipped_nonfinite``, as in ``rlbt.agents.dqn``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from rlbt.agents.base import (
    CheckpointMixin,
    generator_state,
    guarded_step,
    is_int,
    is_real,
    is_seed,
    require,
    resolve_device,
    spawn_seeds,
    torch_seeded,
)
from rlbt.agents.checkpoint import arrays_to_tensors, tensors_to_arrays
from rlbt.agents.errors import AgentError
from rlbt.agents.lstm.fit import fit_table
from rlbt.agents.lstm.sequence_memory import SequenceMemory
from rlbt.agents.memory import check_memory
from rlbt.agents.memory_needs import lstm_needs
from rlbt.agents.normalizer import RunningNormalizer

FEATURE_CLIP = 10.0
"""Scaled features are clipped to +-this many running stds: one wild bar (a bad
tick, a volume spike) must not saturate the LSTM's gates for a whole window."""
LOSSES = ("mse", "huber")


@dataclasses.dataclass(frozen=True)
class LSTMConfig:
    """Settings of an ``LSTMForecaster``; validated on construction (``AgentError`` names
    the field)."""

    n_features: int
    """Features per bar."""
    window_size: int = 32
    """Bars per input window, oldest first."""
    horizon: int = 1
    """Bars ahead the label lies (used by ``fit`` to keep its validation part clean)."""
    hidden_size: int = 32
    """Width of the LSTM's hidden state."""
    num_layers: int = 1
    """Stacked LSTM layers."""
    dropout: float = 0.0
    """Dropout between LSTM layers (as torch does it), in [0, 1); needs num_layers >= 2."""
    lr: float = 1e-3
    """Adam learning rate."""
    loss: str = "mse"
    """Training loss: 'mse' or 'huber' (smooth L1)."""
    batch_size: int = 64
    """Examples per gradient step."""
    memory_size: int = 10_000
    """Examples kept in memory; the oldest are overwritten first."""
    learn_every: int = 1
    """Bars (calls to step) between training rounds."""
    gradient_steps: int = 1
    """Gradient steps per training round."""
    warmup: int = 64
    """Complete examples added before training starts."""
    max_grad_norm: float | None = 1.0
    """Clip the gradient's global norm to this; None to not clip."""
    scale_label: bool = True
    """Train on the label scaled by its running mean / std (predictions are scaled back)."""
    seed: int = 0
    """The one seed of everything random in the forecaster."""
    device: str = "cpu"
    """Torch device: 'cpu' or 'cuda'."""

    def __post_init__(self) -> None:
        def check(field: str, ok: bool, expected: str) -> None:
            require(ok, "LSTMConfig", field, getattr(self, field), expected)

        for name in ("n_features", "window_size", "horizon", "hidden_size", "num_layers",
                     "batch_size", "memory_size", "learn_every", "gradient_steps"):
            check(name, is_int(getattr(self, name)) and getattr(self, name) >= 1, "an integer >= 1")
        check("warmup", is_int(self.warmup) and self.warmup >= 0, "an integer >= 0")
        check("seed", is_seed(self.seed), "an integer in 0..2**32-1 (as --seed)")
        check("dropout", is_real(self.dropout) and 0 <= self.dropout < 1, "a number in [0, 1)")
        check("dropout", self.dropout == 0 or self.num_layers >= 2,
              "0 when num_layers == 1 (dropout acts only between stacked layers)")
        check("lr", is_real(self.lr) and self.lr > 0, "a finite number > 0")
        check("loss", self.loss in LOSSES, f"one of {LOSSES}")
        check("batch_size", self.batch_size <= self.memory_size, "<= memory_size")
        check("max_grad_norm", self.max_grad_norm is None
              or (is_real(self.max_grad_norm) and self.max_grad_norm > 0), "None or a number > 0")
        check("scale_label", isinstance(self.scale_label, bool), "True or False")
        check("device", isinstance(self.device, str), "a device name such as 'cpu' or 'cuda'")


class SequenceRegressor(nn.Module):
    """``nn.LSTM`` (batch first) and a linear head on the last time step's hidden state."""

    def __init__(self, n_features: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        """:param n_features: features per bar.
        :param hidden_size: LSTM hidden width.
        :param num_layers: stacked layers.
        :param dropout: dropout between layers.
        """
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """Map ``[B, window_size, n_features]`` to forecasts ``[B]``."""
        outputs, _ = self.lstm(windows)
        return self.head(outputs[:, -1]).squeeze(-1)


class LSTMForecaster(CheckpointMixin):
    """Forecasts a label from a window of bars, and keeps learning as labels arrive."""

    kind = "lstm"
    counter_stats = ("updates", "skipped_nonfinite", "skipped_examples")  # running totals
    config_class = LSTMConfig
    shape_fields = ("n_features", "window_size", "hidden_size", "num_layers", "scale_label")
    replay_fields = ("memory_size",)

    def __init__(self, config: LSTMConfig) -> None:
        """:param config: the forecaster's settings (``seed`` fixes everything random)."""
        check_memory("LSTMConfig", lstm_needs(config))
        self.config = config
        self.n_features = config.n_features
        self.window_size = config.window_size
        self.device = resolve_device(config.device)
        rng_seed, torch_seed, memory_seed, dropout_seed = spawn_seeds(config.seed, 4)
        self.rng = np.random.default_rng(rng_seed)  # shuffles fit()'s epochs
        with torch_seeded(torch_seed):  # the caller's global torch RNG is left untouched
            network = SequenceRegressor(config.n_features, config.hidden_size,
                                        config.num_layers, config.dropout)
        self.network = network.to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr)
        self.memory = SequenceMemory(config.memory_size, config.window_size, config.n_features,
                                     seed=memory_seed)
        self.feature_norm = RunningNormalizer((config.n_features,), clip=FEATURE_CLIP)
        self.label_norm = RunningNormalizer(())
        # dropout draws from torch's global generator: swap this private state in around it
        generator = torch.Generator(device=self.device).manual_seed(dropout_seed)
        self._dropout_state = generator.get_state()
        self.bars = 0
        self.examples = 0
        self.updates = 0
        self.skipped_nonfinite = 0
        self.skipped_examples = 0
        self.last_stats: dict[str, float] = {}

    # ----------------------------------------------------------------------- inference

    def predict(self, window: npt.ArrayLike) -> float:
        """Forecast the label of one window, in label units (scaled back).

        :param window: raw features ``(window_size, n_features)``, oldest bar first.
        :return: the forecast; NaN when the window holds a NaN or an inf.
        :raises AgentError: on a window of another shape.
        """
        return float(self.predict_batch(self._check_window(window)[np.newaxis])[0])

    def predict_batch(self, windows: npt.ArrayLike) -> np.ndarray:
        """Forecast many windows at once (e.g. a whole test table), in label units.

        :param windows: raw features ``(k, window_size, n_features)``.
        :return: float64 forecasts ``(k,)``; NaN for a window holding a NaN or an inf.
        """
        x = self._check_windows(windows)
        if x.shape[0] == 0:
            return np.zeros(0)
        self.network.eval()  # no dropout when forecasting
        with torch.inference_mode():
            scaled = self.network(self._to_device(self.feature_norm.normalize(x)))
        out = scaled.cpu().numpy().astype(np.float64)
        out = self.label_norm.denormalize(out) if self.config.scale_label else out
        # the feature clip would turn an inf into a plausible forecast: say it is unknown
        out[~np.isfinite(x).all(axis=(1, 2))] = np.nan
        return out

    # ----------------------------------------------------------------------- learning

    def add_example(self, window: npt.ArrayLike, label: float) -> bool:
        """Store a complete example: the window ending at bar t and its label, known at t + horizon.

        Its data (every row of the window, and the label) joins the running
        statistics; nothing else does.

        :param window: raw features ``(window_size, n_features)``, oldest bar first.
        :param label: the value to forecast for that window.
        :return: False when the example held a NaN / inf and was dropped (counted).
        """
        x = self._check_window(window)
        if not (np.isfinite(x).all() and math.isfinite(label)):
            self.skipped_examples += 1
            return False
        self.feature_norm.update(x)
        self.label_norm.update(label)
        self.memory.add(x, label)
        self.examples += 1
        return True

    def step(self) -> dict[str, float] | None:
        """Count one bar and train when it is time (every ``learn_every`` bars after warmup).

        :return: the ``learn()`` stats when it trained this bar, else None.
        """
        self.bars += 1
        cfg = self.config
        if (self.examples >= cfg.warmup and len(self.memory) >= cfg.batch_size
                and self.bars % cfg.learn_every == 0):
            return self.learn()
        return None

    def learn(self) -> dict[str, float]:
        """Take ``gradient_steps`` steps on minibatches drawn uniformly from memory, now.

        :return: ``loss`` (scaled units), ``grad_norm`` (before clipping): means over the
            finite steps, NaN if none; ``updates``, ``skipped_*`` (cumulative).
        :raises AgentError: when the memory holds fewer than ``batch_size`` examples.
        """
        cfg = self.config
        if len(self.memory) < cfg.batch_size:
            raise AgentError(
                f"learn() needs {cfg.batch_size} stored examples (batch_size), "
                f"the memory has {len(self.memory)}"
            )
        steps = []
        for _ in range(cfg.gradient_steps):
            windows, labels = self.memory.sample(cfg.batch_size)
            step = self.gradient_step(*self.scaled_batch(windows, labels))
            if step is not None:
                steps.append(step)
        loss, norm = ([float(np.mean(c)) for c in zip(*steps, strict=True)] if steps
                      else [math.nan] * 2)
        self.last_stats = {"loss": loss, "grad_norm": norm, **self._counters()}
        return self.last_stats

    def scaled_batch(
        self, windows: np.ndarray, labels: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw windows and labels as scaled tensors on the device (current statistics).

        :param windows: ``(B, window_size, n_features)``.
        :param labels: ``(B,)``.
        """
        x = self.feature_norm.normalize(windows)
        y = self.label_norm.normalize(labels) if self.config.scale_label else labels
        return self._to_device(x), self._to_device(np.asarray(y, dtype=np.float32))

    def loss_fn(self, forecasts: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The configured loss, averaged over the batch."""
        if self.config.loss == "huber":
            return F.smooth_l1_loss(forecasts, targets)
        return F.mse_loss(forecasts, targets)

    def gradient_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float] | None:
        """One Adam step on a scaled batch: its loss and gradient norm (before
        clipping); None when skipped as non-finite.

        :param x: scaled windows ``[B, window_size, n_features]``.
        :param y: scaled labels ``[B]``.
        """
        self.network.train()
        with self._own_dropout_rng():
            loss = self.loss_fn(self.network(x), y)
        norm = guarded_step(loss, self.optimizer, self.network.parameters(),
                            self.config.max_grad_norm)
        if norm is None:  # a NaN / inf never reached the weights
            self.skipped_nonfinite += 1
            return None
        self.updates += 1
        return float(loss.item()), norm

    def fit(
        self, windows: npt.ArrayLike, labels: npt.ArrayLike, epochs: int = 10,
        val_fraction: float = 0.2,
    ) -> list[dict[str, float]]:
        """Pre-train on a supervised table of consecutive examples (see ``rlbt.agents.lstm.fit``).

        :param windows: raw ``(N, window_size, n_features)``, one row per bar, in time order.
        :param labels: ``(N,)``; row i's label is known ``horizon`` bars after its window ends.
        :param epochs: passes over the training part.
        :param val_fraction: the last fraction of rows held out for validation, in [0, 1).
        :return: one dict per epoch: ``epoch``, ``train_loss``, ``val_loss`` (NaN without
            validation rows), in scaled units.
        """
        x = self._check_windows(windows)
        return fit_table(self, x, np.asarray(labels, dtype=np.float64), epochs, val_fraction)

    # ----------------------------------------------------------------------- state

    def _counters(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in self.counter_stats}

    def state_dict(self, include_replay: bool = False) -> dict[str, Any]:
        """Everything needed to resume: weights, optimizer, statistics, counters, RNG states.

        :param include_replay: also include the example memory, so that training
            resumes exactly.
        """
        state: dict[str, Any] = {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "feature_norm": arrays_to_tensors(self.feature_norm.state_dict()),
            "label_norm": arrays_to_tensors(self.label_norm.state_dict()),
            "counters": {name: getattr(self, name) for name in
                         ("bars", "examples", *self.counter_stats)},
            "rng": generator_state(self.rng),
            "dropout_rng": self._dropout_state.clone(),
        }
        if include_replay:
            state["replay"] = arrays_to_tensors(self.memory.state_dict())
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned (the memory too, when present).

        :param state: a dict from ``state_dict`` (or a checkpoint's ``state``).
        """
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.feature_norm.load_state_dict(tensors_to_arrays(state["feature_norm"]))
        self.label_norm.load_state_dict(tensors_to_arrays(state["label_norm"]))
        counters = state["counters"]
        for name in ("bars", "examples", *self.counter_stats):
            setattr(self, name, int(counters[name]))
        self.rng.bit_generator.state = dict(state["rng"])
        saved = state["dropout_rng"].to("cpu", torch.uint8)
        if saved.numel() == self._dropout_state.numel():
            self._dropout_state = saved.clone()
        # else it was saved on another device type (CPU and CUDA generator states differ):
        # the dropout stream restarts from this forecaster's seed
        if "replay" in state:
            self.memory.load_state_dict(tensors_to_arrays(state["replay"]))

    # ----------------------------------------------------------------------- helpers

    def _check_window(self, window: npt.ArrayLike) -> np.ndarray:
        x = np.asarray(window, dtype=np.float32)
        want = (self.window_size, self.n_features)
        if x.shape != want:
            raise AgentError(f"window has shape {x.shape}, expected {want} "
                             "(window_size bars x n_features, oldest first)")
        return x

    def _check_windows(self, windows: npt.ArrayLike) -> np.ndarray:
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim != 3 or x.shape[1:] != (self.window_size, self.n_features):
            raise AgentError(f"windows have shape {x.shape}, expected "
                             f"(k, {self.window_size}, {self.n_features})")
        return x

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    @contextmanager
    def _own_dropout_rng(self) -> Iterator[None]:
        """Run dropout on the forecaster's own RNG state; the global one is left as it was."""
        if self.config.dropout == 0:  # nothing random in the forward pass
            yield
            return
        cuda = self.device.type == "cuda"
        index = self.device.index if self.device.index is not None else 0
        with torch.random.fork_rng(devices=[index] if cuda else []):
            if cuda:
                torch.cuda.set_rng_state(self._dropout_state, index)
            else:
                torch.set_rng_state(self._dropout_state)
            yield
            self._dropout_state = torch.cuda.get_rng_state(index) if cuda else torch.get_rng_state()
