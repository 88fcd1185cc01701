"""The DQN gradient step by hand: NumPy forward/backward and one fused Adam call.

``DQNAgent._gradient_step`` (torch autograd) is the reference; this module
computes the same update (same TD target, loss, gradient clipping and Adam)
for the common case, a plain MLP on the CPU, at several times its speed
(``benchmarks/test_bench_update.py``; ``tests/agents/test_fast_paths.py``
checks that both paths give the same weights).

Where the time goes, B=64, MLP 32-64-64-3, one thread: the matmuls are about
half of it; the rest is ~40 NumPy calls of about a microsecond each, the
replay sample and one fused Adam call. The reference path spends most of its
time in torch's per-op dispatch, autograd bookkeeping and the optimizer's
Python loop.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from rlbt.agents.errors import AgentError
from rlbt.agents.fast.blas import OneBlasThread
from rlbt.agents.fast.mlp import Array, NumpyMLP, flat_views, supports
from rlbt.agents.networks import QNetwork
from rlbt.agents.replay.buffer import Batch

_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


def fast_path_available(network: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    """True when ``FastQStep`` can train ``network`` with ``optimizer``.

    Needs a plain ``QNetwork`` on the CPU, a default-settings Adam with one param
    group, and torch's fused CPU Adam kernel (torch >= 2.4).
    """
    if not (supports(network) and hasattr(torch, "_fused_adam_")):
        return False
    if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    return (group["weight_decay"] == 0 and not group["amsgrad"] and not group["maximize"]
            and not isinstance(group["lr"], torch.Tensor))


class StepResult(NamedTuple):
    """What one hand-written gradient step found (before applying it)."""

    loss: float
    """Mean (weighted) loss of the batch; NaN / inf means the step must be skipped."""
    q_mean: float
    """Mean Q-value of the actions taken."""
    td_errors: Array
    """``td_target - q`` per row, float32 ``[B]``."""
    grad_norm: float
    """Global L2 norm of the gradient (NaN when the loss was not finite)."""


class FusedAdam:
    """``torch.optim.Adam``'s update on one flat buffer, its state kept in the optimizer.

    The moments live in two flat tensors; ``optimizer.state[p]`` holds views of
    them and its own ``step`` tensor, exactly the layout torch's Adam builds, so
    ``optimizer.state_dict()`` and checkpoints are unchanged and either path can
    resume the other's training.
    """

    def __init__(self, optimizer: torch.optim.Adam, flat: Array) -> None:
        """:param optimizer: the agent's Adam over the network's parameters.
        :param flat: the flat parameter buffer the parameters are views of.
        """
        self.optimizer = optimizer
        self.params: list[torch.Tensor] = list(optimizer.param_groups[0]["params"])
        self.param = torch.from_numpy(flat)
        self.grad_array = np.zeros_like(flat)
        self.grad = torch.from_numpy(self.grad_array)  # the same memory
        self.exp_avg = torch.zeros_like(self.param)
        self.exp_avg_sq = torch.zeros_like(self.param)
        self.adopt_state()

    def _views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(flat, [p.numel() for p in self.params]))

    def adopt_state(self) -> None:
        """Copy the optimizer's current state (fresh, loaded or deep-copied) into the flat
        moments and point the optimizer's state at views of them."""
        state = self.optimizer.state
        present = [p in state and len(state[p]) > 0 for p in self.params]
        self.exp_avg.zero_()
        self.exp_avg_sq.zero_()
        # one element per parameter, so one add_ counts every parameter's step
        self._steps = torch.zeros(len(self.params), dtype=torch.float32)
        self._started = any(present)
        if not self._started:
            return
        if not all(present):
            raise ValueError("Adam state covers only some of the Q-network's parameters")
        steps = {float(state[p]["step"]) for p in self.params}
        if len(steps) != 1:
            raise ValueError("Adam state has different step counts per parameter")
        self._steps.fill_(steps.pop())
        avg_views, sq_views = self._views(self.exp_avg), self._views(self.exp_avg_sq)
        for p, avg, sq in zip(self.params, avg_views, sq_views, strict=True):
            avg.copy_(state[p]["exp_avg"].reshape(-1))
            sq.copy_(state[p]["exp_avg_sq"].reshape(-1))
        self._bind(avg_views, sq_views)

    def _bind(self, avg_views: list[torch.Tensor], sq_views: list[torch.Tensor]) -> None:
        """Point ``optimizer.state`` at views of the flat moments and step counts."""
        for i, (p, avg, sq) in enumerate(zip(self.params, avg_views, sq_views, strict=True)):
            self.optimizer.state[p] = {
                "step": self._steps[i], "exp_avg": avg.view_as(p), "exp_avg_sq": sq.view_as(p),
            }
        self._started = True
        self._first = self.optimizer.state[self.params[0]]

    def _bound(self) -> bool:
        """True while the optimizer's state is still ours (a load replaces it)."""
        if not self._started:
            return not self.optimizer.state
        return self.optimizer.state.get(self.params[0]) is self._first

    def step(self) -> None:
        """Apply Adam to the parameters with the gradient in ``grad_array``."""
        if not self._bound():
            self.adopt_state()
        if not self._started:  # what torch's Adam creates on its first step: zero moments
            self._bind(self._views(self.exp_avg), self._views(self.exp_avg_sq))
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        self._steps.add_(1.0)
        # One fused kernel over the whole flat buffer instead of ~10 ops per parameter.
        torch._fused_adam_(
            [self.param], [self.grad], [self.exp_avg], [self.exp_avg_sq], [], [self._steps[:1]],
            lr=float(group["lr"]), beta1=float(beta1), beta2=float(beta2), weight_decay=0.0,
            eps=float(group["eps"]), amsgrad=False, maximize=False,
        )


class FastQStep:
    """The DQN loss, gradient and Adam step of ``DQNAgent`` in NumPy (see module doc)."""

    def __init__(
        self, q_network: QNetwork, target_network: QNetwork, optimizer: torch.optim.Adam
    ) -> None:
        """Binds both networks' parameters to flat NumPy buffers (they become views).

        :param q_network: the online network, trained here.
        :param target_network: the target network (read only here).
        :param optimizer: Adam over ``q_network.parameters()``.
        """
        self.online = NumpyMLP(q_network)
        self.target = NumpyMLP(target_network)
        self.adam = FusedAdam(optimizer, self.online.flat)
        self.grads = flat_views(self.adam.grad_array, self.online.shapes)
        self._rows: dict[int, np.ndarray] = {}  # arange(B), reused
        self._one_blas_thread = OneBlasThread()

    def greedy(self, obs: Array) -> int:
        """The online network's greedy action for one observation."""
        return self.online.greedy(obs)

    def loss_and_grad(self, batch: Batch, *, double: bool, huber: bool) -> StepResult:
        """Compute the loss and write its gradient into ``adam.grad_array``.

        The same quantities as the reference: ``td_target = r + discount * (1 - term)
        * Q_target(s', a*)`` with ``a*`` from the online network when ``double``;
        loss = mean(weights * huber(q - td_target)) (or squared error).
        """
        # NaN / inf are reported through the result; BLAS threads only hurt at these sizes
        with np.errstate(all="ignore"), self._one_blas_thread:
            return self._loss_and_grad(batch, double, huber)

    def _loss_and_grad(self, batch: Batch, double: bool, huber: bool) -> StepResult:
        n = batch.actions.shape[0]
        rows = self._rows.get(n)
        if rows is None:
            rows = self._rows[n] = np.arange(n)
        # obs and next_obs through the online network in one pass: same rows, half the calls
        outs = self.online.forward_cached(np.concatenate((batch.obs, batch.next_obs)))
        q_all = outs[-1]
        target_q = self.target.forward(batch.next_obs)
        # double DQN: the online network picks a*, the target network values it
        next_q = (target_q[rows, q_all[n:].argmax(axis=1)] if double
                  else target_q.max(axis=1))
        # only termination zeroes the bootstrap; truncation still bootstraps
        td_target = batch.rewards + batch.discounts * (_ONE - batch.terminated) * next_q
        q = q_all[rows, batch.actions]
        diff = q - td_target
        if huber:  # smooth L1 with beta 1: c * (d - c/2) with c = clip(d, -1, 1); d/dd = c
            slope = np.minimum(np.maximum(diff, -_ONE), _ONE)
            per_row = slope * (diff - _HALF * slope)
        else:
            slope = diff + diff
            per_row = diff * diff
        per_row *= batch.weights
        loss = float(np.add.reduce(per_row)) / n  # ndarray.mean's wrapper costs 3 us
        if not math.isfinite(loss):
            return StepResult(loss, math.nan, -diff, math.nan)
        slope *= batch.weights
        slope *= np.float32(1.0 / n)
        grad_q = np.zeros_like(q_all[:n])
        grad_q[rows, batch.actions] = slope
        self.online.backward(outs, grad_q, n, self.grads)
        g = self.adam.grad_array
        grad_norm = math.sqrt(float(np.dot(g, g)))
        return StepResult(loss, float(np.add.reduce(q)) / n, -diff, grad_norm)

    def apply(self, grad_norm: float, max_norm: float) -> None:
        """Clip the gradient as ``clip_grad_norm_`` does, then take the Adam step."""
        coef = max_norm / (grad_norm + 1e-6)
        if coef < 1.0:
            self.adam.grad_array *= np.float32(coef)
        self.adam.step()



class FastPathMixin:
    """What ``DQNAgent`` needs to use ``FastQStep``: building it, the gradient step with the
    reference's skips and counters, batched greedy actions, and copies that rebuild it."""

    config: Any
    q_network: QNetwork
    target_network: QNetwork
    optimizer: torch.optim.Adam
    device: torch.device
    obs_dim: int
    updates: int
    skipped_nonfinite: int
    _fast: FastQStep | None

    def _write_priorities(self, batch: Batch, td_errors: torch.Tensor | np.ndarray) -> None:
        raise NotImplementedError

    def _update_target(self) -> None:
        raise NotImplementedError

    def _make_fast_path(self) -> FastQStep | None:
        """The NumPy update when the config allows it (binds the weights to flat buffers)."""
        if not (self.config.fast and fast_path_available(self.q_network, self.optimizer)):
            return None
        return FastQStep(self.q_network, self.target_network, self.optimizer)

    def __getstate__(self) -> dict[str, Any]:
        # The fast path's NumPy arrays alias the torch tensors; a copy (deepcopy, pickle)
        # would split them apart, so it is rebuilt on the copy's own tensors instead.
        state = self.__dict__.copy()
        state["_fast"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fast = self._make_fast_path()

    def _fast_gradient_step(self, fast: FastQStep, batch: Batch
                            ) -> tuple[float, float, float] | None:
        """``DQNAgent._gradient_step`` through the NumPy path: the same skips, counters,
        priorities and target updates."""
        cfg = self.config
        result = fast.loss_and_grad(batch, double=cfg.double, huber=cfg.huber)
        if not math.isfinite(result.loss):  # a NaN/inf never reaches the weights
            self.skipped_nonfinite += 1
            self._write_priorities(batch, np.nan_to_num(result.td_errors, nan=0.0, posinf=0.0,
                                                        neginf=0.0))
            return None
        if not math.isfinite(result.grad_norm):
            self.skipped_nonfinite += 1
            return None
        fast.apply(result.grad_norm, cfg.max_grad_norm or math.inf)
        self.updates += 1
        self._write_priorities(batch, result.td_errors)
        if self.updates % cfg.target_every == 0:
            self._update_target()
        return result.loss, result.q_mean, result.grad_norm  # the norm before clipping

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """Greedy actions for many observations at once (``act(obs, explore=False)`` per row).

        For evaluation runs whose observations are known in advance (a frozen agent
        over a precomputed feature matrix): one batched forward instead of one per bar.

        :param observations: ``[N, obs_dim]``.
        :return: int64 ``[N]``.
        """
        array = np.ascontiguousarray(observations, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.obs_dim:
            raise AgentError(f"observations have shape {array.shape}, expected [N, {self.obs_dim}]")
        if self._fast is not None:
            return self._fast.online.forward(array).argmax(axis=1).astype(np.int64)
        with torch.inference_mode():
            q_values = self.q_network(torch.from_numpy(array).to(self.device))
            return q_values.argmax(dim=1).cpu().numpy().astype(np.int64)
