"""A plain Q-network MLP run by NumPy: forward, backward and greedy action, no autograd.

Why: at replay batch sizes (32 to 256 rows, 64 units) a torch op on the CPU
costs 2 to 7 us of dispatch before any arithmetic, and autograd adds a graph
on top; the matmuls themselves are a few microseconds. NumPy calls OpenBLAS
with less overhead, so a hand-written forward/backward of a small ReLU MLP is
several times faster than ``loss.backward()``.

The weights are not copied: ``bind_flat`` moves every parameter of the torch
module into one flat float32 NumPy buffer and makes the torch parameters views
of it. The torch module and ``NumpyMLP`` therefore always hold the same
numbers (no sync after an update), ``state_dict`` / ``load_state_dict`` work as
before (loading copies in place), and one flat gradient buffer with the same
layout lets a single fused optimizer call update everything.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from rlbt.agents.networks import QNetwork

Array = npt.NDArray[np.float32]
_ZERO = np.float32(0.0)


def bind_flat(module: nn.Module) -> Array:
    """Move ``module``'s parameters into one flat float32 buffer; they become views of it.

    :param module: a CPU module whose parameters are all float32.
    :return: the buffer, laid out in ``module.parameters()`` order.
    """
    params = list(module.parameters())
    flat = np.empty(sum(p.numel() for p in params), dtype=np.float32)
    flat_t = torch.from_numpy(flat)  # shares memory with `flat`
    offset = 0
    for p in params:
        view = flat_t[offset:offset + p.numel()].view_as(p)
        view.copy_(p.detach())
        p.data = view  # the Parameter object (and optimizer references) stay the same
        offset += p.numel()
    return flat


def flat_views(flat: Array, shapes: list[tuple[int, ...]]) -> list[Array]:
    """Views of ``flat`` with the given shapes, back to back."""
    views, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[offset:offset + size].reshape(shape))
        offset += size
    return views


def supports(network: nn.Module) -> bool:
    """True when ``NumpyMLP`` can run ``network``: a non-dueling float32 ``QNetwork`` on the CPU."""
    return (
        isinstance(network, QNetwork)
        and network.value is None
        and all(isinstance(m, nn.Linear | nn.ReLU) for m in network.trunk)
        and all(p.device.type == "cpu" and p.dtype == torch.float32
                for p in network.parameters())
    )


class NumpyMLP:
    """A ``QNetwork`` (ReLU trunk + linear head) evaluated and differentiated in NumPy.

    Layer ``i`` computes ``h_i = relu(h_{i-1} @ W_i.T + b_i)`` (no ReLU on the
    head), exactly as ``torch.nn.Linear`` stores ``W`` (``[out, in]``).
    """

    def __init__(self, network: QNetwork) -> None:
        """:param network: bound in place (``bind_flat``): its parameters become views."""
        if not supports(network):
            raise ValueError("NumpyMLP runs a plain (non-dueling) float32 QNetwork on the CPU")
        self.flat = bind_flat(network)
        shapes = [tuple(p.shape) for p in network.parameters()]
        views = flat_views(self.flat, shapes)
        self.weights: list[Array] = views[0::2]  # parameters() alternates weight, bias
        self.biases: list[Array] = views[1::2]
        self.shapes = shapes

    def greedy(self, obs: Array) -> int:
        """Index of the largest Q-value for one observation ``[obs_dim]`` (first on ties)."""
        h = obs
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = w @ h
            h += b
            if i < last:
                np.maximum(h, _ZERO, out=h)
        return int(h.argmax())

    def forward(self, x: Array) -> Array:
        """Q-values ``[B, n_actions]`` for observations ``[B, obs_dim]``."""
        return self.forward_cached(x)[-1]

    def forward_cached(self, x: Array) -> list[Array]:
        """``[x, h_1, ..., h_L, q]``: every layer's output, for ``backward``."""
        outs = [x]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = outs[-1] @ w.T
            h += b
            if i < last:
                np.maximum(h, _ZERO, out=h)
            outs.append(h)
        return outs

    def backward(self, outs: list[Array], grad_q: Array, rows: int, grads: list[Array]) -> None:
        """Write d loss / d parameters into ``grads`` (views like ``weights`` and ``biases``).

        :param outs: ``forward_cached`` output; only its first ``rows`` rows took part in the loss.
        :param grad_q: d loss / d q for those rows, ``[rows, n_actions]``.
        :param rows: how many leading rows of ``outs`` the loss used.
        :param grads: ``[gW_1, gb_1, ..., gW_L, gb_L]``, written in place.
        """
        delta = grad_q
        for i in range(len(self.weights) - 1, -1, -1):
            inputs = outs[i][:rows]  # leading rows of a C-contiguous array: no copy
            np.matmul(delta.T, inputs, out=grads[2 * i])
            np.add.reduce(delta, axis=0, out=grads[2 * i + 1])
            if i:
                delta = delta @ self.weights[i]
                # ReLU' is 1 where its output is > 0 (torch's threshold_backward does the same)
                delta *= inputs > _ZERO
