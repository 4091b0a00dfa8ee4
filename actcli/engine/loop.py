"""The training loop: K models at once, batches, evaluation, NaN guard, stop requests.

One loop serves a run alone (K = 1) and a stack of K models. It drives an :class:`Engine`:
:class:`actcli.engine.dense.DenseEngine` for plain MLPs (a run alone is a stack of one),
:class:`actcli.engine.autograd.AutogradEngine` for a network a stack cannot express (CNN,
batch norm). Every model has its own batch order (models with one seed share one), its
own status: a model whose loss or gradient is not finite stops with status ``diverged``
(its weights keep the last finite step) and the rest train on. The loop neither prints nor
draws: it returns what happened and calls ``on_epoch`` for every model after every epoch.
A stop request (``stop()`` true) is honoured after the current step; the returned
:class:`Cursor` says exactly where the epoch stopped, so a resumed run continues with the
same batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import Tensor

from actcli import collector
from actcli.tasks.base import Split

Stop = Callable[[], bool]


class Engine(Protocol):
    """K models trained together, one batch at a time."""

    k: int  # how many models

    def train_mode(self) -> None: ...

    def batch(self, x: Tensor, y: Tensor, stacked: bool, alive: Tensor
              ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """One step of every model where ``alive``: ([K] losses, [K] right answers or None,
        [K] finite, or None when every step is known to be finite without reading the
        device). ``x``/``y``: one batch for all, or with ``stacked`` [K, B, ...]. Models
        whose loss or gradient is not finite are not updated."""
        ...

    def epoch_end(self, epoch: int) -> None:
        """After epoch ``epoch``: the learning-rate schedule's step."""
        ...

    def set_lr_scale(self, factor: float) -> None:
        """Every learning rate becomes its configured one times ``factor``."""
        ...

    def measure(self, split: Split) -> tuple[list[float], list[float]]:
        """Each model's (loss, accuracy) on ``split``, no dropout, no gradients."""
        ...

    def diagnose(self, x: Tensor, y: Tensor) -> list[dict[str, float]]:
        """Each model's diagnostics on the probe batch (actcli.engine.diagnostics)."""
        ...

    def state(self) -> dict[str, Any]:
        """What a checkpoint holds of the engine (plain tensors and containers)."""
        ...

    def load(self, state: dict[str, Any], alive: Sequence[bool]) -> None:
        """Restore :meth:`state` (models not ``alive`` stay frozen); ValueError, KeyError,
        RuntimeError or TypeError when it does not fit."""
        ...


@dataclass
class Orders:
    """Each model's batch order: one generator per distinct seed (models with one seed
    draw the same permutation), ``row[k]``: model k's generator."""

    generators: list[torch.Generator]
    row: list[int]

    @classmethod
    def one(cls, generator: torch.Generator) -> Orders:
        return cls([generator], [0])


@dataclass
class Cursor:
    """Where an interrupted epoch stopped: its batch orders, next batch, sums so far."""

    epoch: int  # the epoch in progress (1-based)
    order: Tensor | None  # permutations of the epoch, one per generator (None = full batch)
    position: int  # index of the next sample in ``order``
    loss_sum: Tensor  # float64 [K], summed loss * batch size so far
    right: Tensor  # float64 [K], correct predictions so far

    def state(self) -> dict[str, object]:
        return {"epoch": self.epoch, "order": self.order, "position": self.position,
                "loss_sum": self.loss_sum.cpu(), "right": self.right.cpu()}

    @classmethod
    def from_state(cls, state: dict[str, object], device: torch.device) -> Cursor:
        order, loss_sum, right = state["order"], state["loss_sum"], state["right"]
        assert isinstance(loss_sum, Tensor) and isinstance(right, Tensor)  # as state() wrote
        if isinstance(order, Tensor) and order.dim() == 1:  # one permutation (older files)
            order = order.unsqueeze(0)
        return cls(int(str(state["epoch"])),
                   order.to(device) if isinstance(order, Tensor) else None,
                   int(str(state["position"])), loss_sum.reshape(-1).to(device),
                   right.reshape(-1).to(device))


@dataclass
class FitResult:
    status: Literal["completed", "diverged", "interrupted"]
    epochs: int  # epochs finished
    history: list[dict[str, float]] = field(default_factory=list)  # one row per logged epoch
    reason: str = ""  # why a run stopped early
    cursor: Cursor | None = None  # where an interrupted epoch stopped


def log_epochs(epochs: int, log_every: int | None) -> int:
    """Epochs between logged rows: as asked, or about 200 rows over the run."""
    return log_every if log_every is not None else max(1, epochs // 200)


DIAGNOSED = 20  # diagnostics rows a run records at most


def logged(epochs: int, log_every: int | None) -> list[int]:
    """The epochs :func:`run_fit` logs: the first, every :func:`log_epochs`, the last."""
    every = log_epochs(epochs, log_every)
    return [e for e in range(1, epochs + 1) if e == 1 or e % every == 0 or e == epochs]


def diagnosed(epochs: int, log_every: int | None) -> set[int]:
    """The logged epochs whose diagnostics (a probe's forward and backward, as dear as a
    training step) are measured: all of them up to :data:`DIAGNOSED`, else that many
    evenly spaced, the first and the last among them. So a run of many cheap epochs (a
    full-batch stack) does not spend as long diagnosing as training."""
    rows = logged(epochs, log_every)
    if len(rows) <= DIAGNOSED:
        return set(rows)
    return {rows[i] for i in np.linspace(0, len(rows) - 1, DIAGNOSED).round().astype(int)}


@dataclass
class EpochResult:
    loss: Tensor  # [K] mean training loss (NaN for a model that stopped this epoch)
    accuracy: Tensor | None  # [K], None when the engine counts no right answers
    diverged: list[int]  # models that stopped this epoch


def run_epoch(engine: Engine, x: Tensor, y: Tensor, batch_size: int | None, orders: Orders,
              alive: Tensor, *, epoch: int = 1, stop: Stop | None = None,
              cursor: Cursor | None = None) -> EpochResult | Cursor:
    """One pass of every living model over (x, y), each in its own order.

    Full batch when ``batch_size`` is None or covers the set, else slices of each model's
    shuffled index, gathered from the tensors already on the device. ``alive`` [K] bool is
    updated in place: a model whose step is not finite stops. Returns a Cursor instead when
    ``stop()`` turned true before the epoch's end; pass it back as ``cursor`` to finish the
    epoch exactly as it would have gone.
    """
    engine.train_mode()
    n = len(y)
    size = n if batch_size is None else min(batch_size, n)
    k = engine.k
    if cursor is not None:
        order, position = cursor.order, cursor.position
        total, right = cursor.loss_sum, cursor.right
    else:
        order = None if size == n else torch.stack(
            [torch.randperm(n, generator=g) for g in orders.generators]).to(x.device)
        position = 0
        total = torch.zeros(k, dtype=torch.float64, device=x.device)
        right = torch.zeros(k, dtype=torch.float64, device=x.device)
    stacked = order is not None and len(order) > 1
    rows = torch.tensor(orders.row, device=x.device) if stacked else None
    diverged: list[int] = []
    counted = True
    while position < n:
        if order is None:
            xb, yb = x, y
        elif rows is None:
            idx = order[0, position:position + size]
            # index_select copies whole rows: several times faster than x[idx] here
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        else:
            idx = order[:, position:position + size].index_select(0, rows)
            xb = x.index_select(0, idx.flatten()).view(k, idx.shape[1], *x.shape[1:])
            yb = y.index_select(0, idx.flatten()).view(k, idx.shape[1], *y.shape[1:])
        losses, batch_right, finite = engine.batch(xb, yb, stacked, alive)
        if finite is not None:
            stopped = alive & ~finite
            if bool(stopped.any()):
                diverged += stopped.nonzero().flatten().tolist()
                alive &= finite
                if not bool(alive.any()):
                    break
        count = idx.shape[-1] if order is not None else n
        total += losses.double() * count  # summed on the device: one sync per epoch
        if batch_right is None:
            counted = False
        else:
            right += batch_right.double()
        position += count
        if position < n and stop is not None and stop():
            return Cursor(epoch, order, position, total, right)
    loss = torch.where(alive, total / n, torch.full_like(total, math.nan))
    return EpochResult(loss, right / n if counted else None, diverged)


ModelEpoch = Callable[[int, int, float, "dict[str, float] | None"], None]  # model, epoch, ...


def run_fit(engine: Engine, x: Tensor, y: Tensor, *, epochs: int, batch_size: int | None,
            orders: Orders, evaluate: Callable[[], Sequence[dict[str, float]]],
            log_every: int | None = None, on_epoch: ModelEpoch | None = None,
            start_epoch: int = 0, stop: Stop | None = None, cursor: Cursor | None = None,
            alive: Tensor | None = None, score: str = "accuracy") -> list[FitResult]:
    """Train epochs ``start_epoch + 1 .. epochs``; log ``evaluate()`` (one row per model)
    every few epochs; one result per model.

    A model stops, with status ``diverged``, at the step where its loss or a gradient is not
    finite; all stop with status ``interrupted`` (and a cursor) after the step where
    ``stop()`` is true. ``alive`` [K] bool (default: every model): the models that still
    train, updated in place as models stop (a stack continued from its cursor passes its
    own); the result of a model not alive at the start says nothing about it. ``score``:
    what the engine's right answers measure (``train_<score>`` in the rows: accuracy, r2).
    """
    collector.release()  # a long loop begins: collect its cycles (start-up's stay frozen)
    every = log_epochs(epochs, log_every)
    results = [FitResult("completed", start_epoch) for _ in range(engine.k)]
    if alive is None:
        alive = torch.ones(engine.k, dtype=torch.bool, device=x.device)
    for epoch in range(start_epoch + 1, epochs + 1):
        before = alive.clone() if engine.k > 1 else None  # who stops in a part of an epoch
        outcome = run_epoch(engine, x, y, batch_size, orders, alive, epoch=epoch, stop=stop,
                            cursor=cursor if cursor is not None and cursor.epoch == epoch
                            else None)
        if isinstance(outcome, Cursor):
            if before is not None:  # stopped in the epoch's part done, before the stop
                for i in (before & ~alive).nonzero().flatten().tolist():
                    results[i].status = "diverged"
                    results[i].reason = f"loss or gradient not finite at epoch {epoch}"
            return _interrupted(results, alive, f"stopped during epoch {epoch}", outcome)
        for i in outcome.diverged:
            results[i].status = "diverged"
            results[i].reason = f"loss or gradient not finite at epoch {epoch}"
        if not bool(alive.any()):
            return results
        losses = outcome.loss.tolist()
        accuracies = outcome.accuracy.tolist() if outcome.accuracy is not None else None
        logged = epoch == 1 or epoch % every == 0 or epoch == epochs
        held_out = evaluate() if logged else []
        engine.epoch_end(epoch)
        for i in alive.nonzero().flatten().tolist():
            row = None
            if logged:
                row = {"epoch": epoch, "train_loss": losses[i]}
                if accuracies is not None:
                    row[f"train_{score}"] = accuracies[i]
                row.update(held_out[i])
                results[i].history.append(row)
            results[i].epochs = epoch
            if on_epoch is not None:
                on_epoch(i, epoch, losses[i], row)
        if epoch < epochs and stop is not None and stop():
            return _interrupted(results, alive, f"stopped after epoch {epoch}", None)
    return results


def _interrupted(results: list[FitResult], alive: Tensor, reason: str,
                 cursor: Cursor | None) -> list[FitResult]:
    for i in alive.nonzero().flatten().tolist():
        results[i].status, results[i].reason, results[i].cursor = "interrupted", reason, cursor
    return results
