"""The engine of networks a dense stack cannot express (CNNs, batch norm): torch autograd.

:class:`AutogradStep` is one optimisation step of any network: forward, ``loss.backward()``,
the optimizer's step; it returns ``(loss, logits)`` of the batch, detached, or ``None`` when
the loss or a gradient is not finite (the step is then skipped, so the weights stay
finite). :class:`AutogradEngine` is the :class:`actcli.engine.loop.Engine` of one such
network: its step, its optimizer and schedule, and the readers (held-out loss and
accuracy, diagnostics). Plain MLPs train in :mod:`actcli.engine.dense` instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from actcli.engine import diagnostics
from actcli.engine.model import Network
from actcli.tasks.base import Split

Objective = Callable[[Tensor, Tensor], Tensor]  # (logits, targets) -> scalar loss
# (logits, targets[, the split's target variance, for a regression's R²]) -> number right
Correct = Callable[..., Tensor]
Outcome = tuple[Tensor, Tensor] | None  # (loss, logits), None when not finite
EVAL_BATCH = 8192  # samples per forward pass when measuring (no gradients: memory is small)


class AutogradStep:
    """Forward, ``backward()``, optimizer step: any network, any loss."""

    def __init__(self, model: nn.Module, objective: Objective,
                 penalty: Callable[[], Tensor] | None = None, bf16: bool = False) -> None:
        # penalty: the regularisation term added to the loss minimised (not to the loss
        # returned, which is the data loss a run records); bf16: the forward under
        # torch.autocast to bfloat16 (the weights and the step stay float32)
        self.model, self.objective, self.penalty = model, objective, penalty
        self.bf16 = bf16

    def parameters(self) -> list[Tensor]:
        """What the optimizer must update."""
        return list(self.model.parameters())

    def __call__(self, optimizer: Any, x: Tensor, y: Tensor) -> Outcome:  # Update, torch
        optimizer.zero_grad(set_to_none=True)
        with autocast(x.device, self.bf16):
            z = self.model(x)
            loss = self.objective(z.float(), y)
        minimised = loss + self.penalty() if self.penalty is not None else loss
        minimised.backward()
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not _all_finite(minimised, grads):
            return None
        optimizer.step()
        return loss.detach(), z.detach()


def r2_terms(predicted: Tensor, y: Tensor, spread: float) -> Tensor:
    """Each sample's ``1 - (y - p)² / spread``: their mean over a split whose targets have
    variance ``spread`` is its R² (a regression's "right answers")."""
    error = predicted - y
    return 1 - error * error / spread


def autocast(device: torch.device, bf16: bool) -> Any:  # a context manager
    """torch.autocast to bfloat16 on ``device`` when ``bf16``, else nothing."""
    import contextlib

    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _all_finite(loss: Tensor, grads: list[Tensor]) -> bool:
    """Loss and every gradient finite: a step with a NaN would poison the weights."""
    if not torch.isfinite(loss):
        return False
    if not grads:
        return True
    # one fused call for all gradients: a norm is inf/NaN exactly when an entry is
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all())


def measure(net: nn.Module, objective: Objective, correct: Correct, split: Split,
            bf16: bool = False) -> tuple[float, float]:
    """(loss, accuracy) of ``net`` on ``split``, in large batches, no gradients."""
    net.eval()
    loss = torch.zeros((), dtype=torch.float64)
    right = torch.zeros((), dtype=torch.float64)
    spread = split.spread()
    with torch.inference_mode():
        for start in range(0, len(split), EVAL_BATCH):
            x, y = split.x[start:start + EVAL_BATCH], split.y[start:start + EVAL_BATCH]
            with autocast(x.device, bf16):
                z = net(x).float()
            loss += objective(z, y).double().cpu() * len(y)
            right += correct(z, y, spread).double().cpu()
    n = max(len(split), 1)
    return float(loss) / n, float(right) / n


class AutogradEngine:
    """One network trained with autograd: its step, its optimizer and schedule.

    The optimizer must be built over ``net.parameters()``: an :class:`updates.Update` (as
    :func:`updates.make` builds it: torch's fused kernels without torch.optim's import of
    its compiler) or a torch optimizer. ``cosine``: the number of epochs of a cosine
    schedule (None: a constant learning rate), stepped as torch's CosineAnnealingLR steps
    (eta_min 0), to the bit.
    """

    k = 1

    def __init__(self, net: Network, objective: Objective, optimizer: Any,
                 correct: Correct | None = None, cosine: int | None = None,
                 penalty: Callable[[], Tensor] | None = None, bf16: bool = False) -> None:
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if any(id(p) not in held for p in net.parameters()):
            raise ValueError("the optimizer must be built over the network's parameters")
        self.net, self.objective = net, objective
        self.step = AutogradStep(net, objective, penalty, bf16)
        self.bf16 = bf16
        self.optimizer, self.correct, self.cosine = optimizer, correct, cosine
        self._base = [float(group["lr"]) for group in optimizer.param_groups]
        self._epoch = 0  # the schedule's steps so far (torch's last_epoch)

    def train_mode(self) -> None:
        self.net.train()

    def batch(self, x: Tensor, y: Tensor, stacked: bool, alive: Tensor
              ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        outcome = self.step(self.optimizer, x, y)
        if outcome is None:  # loss or a gradient not finite: the step was skipped
            nan = torch.full((1,), math.nan, dtype=torch.float64, device=x.device)
            return nan, None, torch.zeros(1, dtype=torch.bool, device=x.device)
        loss, z = outcome
        right = self.correct(z, y).reshape(1) if self.correct is not None else None
        return loss.reshape(1), right, None  # the step checked it: no second device read

    def epoch_end(self, epoch: int) -> None:
        if self.cosine is None:
            return
        # torch's CosineAnnealingLR.step (eta_min 0): its recursive form, in its order of
        # operations, so that the learning rates are those torch's scheduler gave
        self._epoch += 1
        e, t = self._epoch, self.cosine
        for group, base in zip(self.optimizer.param_groups, self._base, strict=True):
            if (e - 1 - t) % (2 * t) == 0:
                group["lr"] = group["lr"] + base * (1 - math.cos(math.pi / t)) / 2
            else:
                group["lr"] = (1 + math.cos(math.pi * e / t)) / (
                    1 + math.cos(math.pi * (e - 1) / t)) * (group["lr"] - 0) + 0

    def set_lr_scale(self, factor: float) -> None:
        """The learning rate becomes the configured one times ``factor``."""
        for group, base in zip(self.optimizer.param_groups, self._base, strict=True):
            group["lr"] = base * factor

    def measure(self, split: Split) -> tuple[list[float], list[float]]:
        """([loss], [accuracy]) on ``split``."""
        assert self.correct is not None  # an engine that measures counts right answers
        loss, accuracy = measure(self.net, self.objective, self.correct, split, self.bf16)
        return [loss], [accuracy]

    def diagnose(self, x: Tensor, y: Tensor) -> list[dict[str, float]]:
        """[the diagnostics on the probe batch (x, y)] (actcli.engine.diagnostics)."""
        return [diagnostics.measure(self.net, self.objective, x, y)]

    def state(self) -> dict[str, Any]:
        """What a checkpoint holds of the engine: weights, optimizer, schedule and torch's
        global generator (dropout draws from it)."""
        schedule = None if self.cosine is None else {  # as torch's scheduler names them
            "last_epoch": self._epoch, "T_max": self.cosine, "eta_min": 0.0}
        return {"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": schedule, "torch_rng": torch.get_rng_state()}

    def load(self, state: dict[str, Any], alive: Any = None) -> None:
        """Restore what :meth:`state` gave; KeyError/RuntimeError/ValueError when it does
        not fit this network."""
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])  # (its learning rates with it)
        if self.cosine is not None and state["scheduler"] is not None:
            self._epoch = int(state["scheduler"]["last_epoch"])  # ours, or torch's
        torch.set_rng_state(state["torch_rng"])
