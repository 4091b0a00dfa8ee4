"""The training loop: batches, evaluation, NaN guard, stop requests.

Each batch goes through a step (``actcli.steps``: forward, loss, backward, optimizer
step; autograd for any network, written out for plain MLPs). The loop neither prints nor
draws: it returns what happened and calls ``on_epoch`` after every epoch (progress bars,
logging and checkpoints are the caller's business). A stop request (``stop()`` true) is
honoured after the current step; the returned :class:`Cursor` says exactly where the
epoch stopped, so a resumed run continues with the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

from actcli.steps import Step

Correct = Callable[[Tensor, Tensor], Tensor]  # (logits, targets) -> number right (0-dim)
Evaluate = Callable[[], dict[str, float]]  # metrics on held-out data, called on log epochs
OnEpoch = Callable[[int, float, "dict[str, float] | None"], None]  # epoch, train loss, row
Stop = Callable[[], bool]


@dataclass
class Cursor:
    """Where an interrupted epoch stopped: its batch order, next batch, sums so far."""

    epoch: int  # the epoch in progress (1-based)
    order: Tensor | None  # permutation of the epoch (None = full batch)
    position: int  # index of the next sample in ``order``
    loss_sum: Tensor  # float64, summed loss * batch size so far
    right: Tensor  # float64, correct predictions so far

    def state(self) -> dict[str, object]:
        return {"epoch": self.epoch, "order": self.order, "position": self.position,
                "loss_sum": self.loss_sum.cpu(), "right": self.right.cpu()}

    @classmethod
    def from_state(cls, state: dict[str, object], device: torch.device) -> Cursor:
        order, loss_sum, right = state["order"], state["loss_sum"], state["right"]
        assert isinstance(loss_sum, Tensor) and isinstance(right, Tensor)  # as state() wrote
        return cls(int(str(state["epoch"])),
                   order.to(device) if isinstance(order, Tensor) else None,
                   int(str(state["position"])), loss_sum.to(device), right.to(device))


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


def train_epoch(step: Step, optimizer: torch.optim.Optimizer,
                x: Tensor, y: Tensor, batch_size: int | None, generator: torch.Generator,
                correct: Correct | None = None, *, epoch: int = 1,
                stop: Stop | None = None, cursor: Cursor | None = None,
                ) -> tuple[float, float] | Cursor:
    """One pass over (x, y): (mean loss, accuracy) over its samples; NaN loss if it diverged.

    Full batch when ``batch_size`` is None or covers the set, else slices of a shuffled
    index, gathered from the tensors already on the device (no per-sample loading).
    The accuracy is counted on the fly from the training logits (NaN without ``correct``).
    Returns a Cursor instead when ``stop()`` turned true before the epoch's end;
    pass it back as ``cursor`` to finish the epoch exactly as it would have gone.
    """
    _check_optimizer(step, optimizer)
    step.model.train()
    n = len(y)
    size = n if batch_size is None else min(batch_size, n)
    if cursor is not None:
        order, position = cursor.order, cursor.position
        total, right = cursor.loss_sum, cursor.right
    else:
        order = None if size == n else torch.randperm(n, generator=generator).to(x.device)
        position = 0
        total = torch.zeros((), dtype=torch.float64, device=x.device)
        right = torch.zeros((), dtype=torch.float64, device=x.device)
    while position < n:
        if order is None:
            xb, yb = x, y
        else:
            idx = order[position:position + size]
            # index_select copies whole rows: several times faster than x[idx] here
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        outcome = step(optimizer, xb, yb)
        if outcome is None:  # loss or a gradient not finite: the step was skipped
            return math.nan, math.nan
        loss, z = outcome
        total += loss * len(yb)  # summed on the device: one sync per epoch
        if correct is not None:
            right += correct(z, yb)
        position += len(yb)
        if position < n and stop is not None and stop():
            return Cursor(epoch, order, position, total, right)
    return float(total) / n, (float(right) / n if correct is not None else math.nan)


def _check_optimizer(step: Step, optimizer: torch.optim.Optimizer) -> None:
    """The optimizer must update what the step computes gradients for."""
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if any(id(p) not in held for p in step.parameters()):
        raise ValueError("the optimizer must be built over step.parameters()")


def fit(step: Step, optimizer: torch.optim.Optimizer,
        x: Tensor, y: Tensor, *, epochs: int, batch_size: int | None,
        generator: torch.Generator, evaluate: Evaluate, log_every: int | None = None,
        on_epoch: OnEpoch | None = None, start_epoch: int = 0,
        correct: Correct | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        stop: Stop | None = None, cursor: Cursor | None = None) -> FitResult:
    """Train epochs ``start_epoch + 1 .. epochs``; log ``evaluate()`` every few epochs.

    Stops at once, with status ``diverged``, when the loss or a gradient is not finite,
    and with status ``interrupted`` (and a cursor) after the step where ``stop()`` is true.
    """
    every = log_epochs(epochs, log_every)
    result = FitResult("completed", start_epoch)
    for epoch in range(start_epoch + 1, epochs + 1):
        outcome = train_epoch(step, optimizer, x, y, batch_size, generator, correct,
                              epoch=epoch, stop=stop,
                              cursor=cursor if cursor is not None and cursor.epoch == epoch
                              else None)
        if isinstance(outcome, Cursor):
            result.status, result.cursor = "interrupted", outcome
            result.reason = f"stopped during epoch {epoch}"
            return result
        train_loss, train_accuracy = outcome
        if not math.isfinite(train_loss):
            result.status = "diverged"
            result.reason = f"loss or gradient not finite at epoch {epoch}"
            return result
        row = None
        if epoch == 1 or epoch % every == 0 or epoch == epochs:
            row = {"epoch": epoch, "train_loss": train_loss}
            if correct is not None:
                row["train_accuracy"] = train_accuracy
            row.update(evaluate())
            result.history.append(row)
        result.epochs = epoch
        if scheduler is not None:
            scheduler.step()
        if on_epoch is not None:
            on_epoch(epoch, train_loss, row)
        if epoch < epochs and stop is not None and stop():
            result.status, result.reason = "interrupted", f"stopped after epoch {epoch}"
            return result
    return result
