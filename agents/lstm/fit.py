"""Supervised pre-training of an ``LSTMForecaster`` on a table of consecutive examples.

The table is the train slice turned into sliding windows: row i holds the
window ending at bar i and its label, known at bar ``i + horizon``. The split
is in time: the last ``val_fraction`` of rows is validation, never shuffled
with the rest. With ``horizon > 1`` the last ``horizon - 1`` training rows
have labels known only after the first validation window ends, so they are
left out of training (a purge gap) rather than leak the validation future.

Only the training rows enter the running statistics before the epochs, so the
validation loss is measured with statistics of the past, as online. After
the epochs every finite row (purge gap and validation too) joins the
statistics and the memory, in time order: the online phase that follows
knows the whole table as its past.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from rlbt.agents.base import is_int, is_real
from rlbt.agents.errors import AgentError

if TYPE_CHECKING:  # lstm imports this module; only the type is needed here
    from rlbt.agents.lstm.forecaster import LSTMForecaster

VAL_CHUNK = 1024  # validation rows per forward pass: bounded memory on long tables


def fit_table(
    model: LSTMForecaster, windows: np.ndarray, labels: np.ndarray, epochs: int,
    val_fraction: float,
) -> list[dict[str, float]]:
    """Train ``model`` for ``epochs`` passes over the table's training part.

    :param model: the forecaster; its memory, statistics and counters are updated.
    :param windows: raw float32 ``(N, window_size, n_features)``, checked by the caller.
    :param labels: ``(N,)``.
    :param epochs: passes over the training rows (0 only loads the table).
    :param val_fraction: the last fraction of rows held out, in [0, 1).
    :return: per epoch ``epoch``, ``train_loss``, ``val_loss`` (scaled units).
    """
    n = windows.shape[0]
    if labels.shape != (n,):
        raise AgentError(f"labels have shape {labels.shape}, expected ({n},) (one per window)")
    if not (is_int(epochs) and epochs >= 0):
        raise AgentError(f"epochs={epochs!r}: expected an integer >= 0")
    if not (is_real(val_fraction) and 0 <= val_fraction < 1):
        raise AgentError(f"val_fraction={val_fraction!r}: expected a number in [0, 1)")
    finite = np.isfinite(windows).all(axis=(1, 2)) & np.isfinite(labels)
    model.skipped_examples += int(n - finite.sum())
    val_start = n - int(n * val_fraction)
    train_end = val_start - (model.config.horizon - 1) if val_start < n else n
    rows = np.arange(n)
    train = rows[(rows < train_end) & finite]
    val = rows[(rows >= val_start) & finite]
    if epochs and train.size == 0:
        raise AgentError(f"fit() has no finite training rows among {n} (val_fraction "
                         f"{val_fraction}, horizon {model.config.horizon}); pass a longer table")
    _add_rows(model, windows, labels, train)
    history = [_epoch(model, windows, labels, train, val, epoch) for epoch in range(epochs)]
    _add_rows(model, windows, labels, rows[(rows >= train_end) & finite])
    return history


def _add_rows(model: LSTMForecaster, windows: np.ndarray, labels: np.ndarray,
              rows: np.ndarray) -> None:
    """Add finite table rows to the statistics and the memory, as ``add_example`` would."""
    if rows.size == 0:
        return
    model.feature_norm.update(windows[rows].reshape(-1, model.n_features))
    model.label_norm.update(labels[rows])
    model.memory.add_batch(windows[rows], labels[rows])
    model.examples += int(rows.size)


def _epoch(model: LSTMForecaster, windows: np.ndarray, labels: np.ndarray, train: np.ndarray,
           val: np.ndarray, epoch: int) -> dict[str, float]:
    """One shuffled pass over the training rows, then the validation loss."""
    order = model.rng.permutation(train)  # the forecaster's own generator
    batch = model.config.batch_size
    losses = []
    for start in range(0, order.size, batch):
        rows = order[start:start + batch]
        step = model.gradient_step(*model.scaled_batch(windows[rows], labels[rows]))
        if step is not None:
            losses.append(step[0])  # (loss, grad_norm): the epoch table keeps the loss
    return {
        "epoch": float(epoch + 1),
        "train_loss": float(np.mean(losses)) if losses else float("nan"),
        "val_loss": _validation_loss(model, windows, labels, val),
    }


def _validation_loss(model: LSTMForecaster, windows: np.ndarray, labels: np.ndarray,
                     val: np.ndarray) -> float:
    """Mean loss over the validation rows in eval mode (no dropout); NaN without rows."""
    if val.size == 0:
        return float("nan")
    model.network.eval()
    total = 0.0
    with torch.inference_mode():
        for start in range(0, val.size, VAL_CHUNK):
            rows = val[start:start + VAL_CHUNK]
            x, y = model.scaled_batch(windows[rows], labels[rows])
            total += float(model.loss_fn(model.network(x), y).item()) * rows.size
    return total / val.size
