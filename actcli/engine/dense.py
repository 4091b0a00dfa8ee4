"""The engine of dense networks: K plain MLPs (K = 1 for a run alone) trained as one stack.

:class:`DenseEngine` is the :class:`actcli.engine.loop.Engine` of every plain MLP, a run
alone included: the stack (:class:`actcli.engine.stack.StackedMLP`), its optimizer
(:class:`actcli.engine.stack_optim.StackedOptimizer`), the loss, the schedule, and the
readers that measure every model at once (held-out loss and accuracy, diagnostics). Its
:meth:`DenseEngine.state` is what a checkpoint holds of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components import Ref, losses
from actcli.components import optimizers as optimizers_mod
from actcli.engine.autograd import EVAL_BATCH, r2_terms
from actcli.engine.stack import StackedLoss, StackedMLP
from actcli.engine.stack_optim import StackedOptimizer
from actcli.tasks.base import Split


def dropout_generator(seed: int, device: torch.device) -> torch.Generator:
    """The stream a network's dropout masks are drawn from: torch's global generator right
    after the network was built (its run seeds it with ``seed`` just before), so a model
    draws the masks it would draw from the global stream."""
    if device.type == "cpu":
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
        return generator
    # on a GPU the masks come from the device's generator, which building the network (on
    # the CPU) did not touch since it was seeded
    return torch.Generator(device=device).manual_seed(seed)


class DenseEngine:
    """K dense networks of one shape, each with its own optimizer options, one loss.

    ``nets`` (on one device, equal layer shapes), ``optimizers[k]``: model k's optimizer
    section; ``generators[k]``: its dropout stream (:func:`dropout_generator`); ``score``:
    logits -> what the model predicts (its accuracy reads it for one output); ``epochs``
    and ``cosine``: the learning-rate schedule (torch's CosineAnnealingLR, eta_min 0).
    """

    def __init__(self, nets: Sequence[nn.Module], optimizers: Sequence[Ref], loss: Ref,
                 output: nn.Module, n_outputs: int, score: Callable[[Tensor], Tensor],
                 *, epochs: int, cosine: bool,
                 generators: Sequence[torch.Generator] | None = None,
                 regression: float | None = None, precision: str = "fp32") -> None:
        self.k = len(nets)
        # bf16: the stack's matrix products in bfloat16, everything else float32
        self.stack = StackedMLP(nets, generators,
                                torch.bfloat16 if precision == "bf16" else None)
        whole = (self.stack.flat, self.stack.grad) if self.k == 1 else None
        self.optimizer = StackedOptimizer(optimizers, self.stack.models(), whole)
        self.loss: StackedLoss = losses.stacked(loss, output, n_outputs)
        rates = [optimizers_mod.penalty_rates(ref) for ref in optimizers]
        self.l1, self.l2 = (
            torch.tensor(column, dtype=self.stack.dtype, device=self.stack.device)
            if any(column) else None for column in zip(*rates, strict=True))
        self.closed_form = losses.stacked_logit_gradient(loss)
        self.score = score
        # a regression's score is R²: the training targets' variance divides a batch's
        # squared errors (measure divides by the variance of the split it measures)
        self.spread = regression
        self.cosine, self.epochs = cosine, epochs
        self.scale = 1.0  # the schedule's factor of every learning rate this epoch

    def train_mode(self) -> None:
        pass  # the stack draws dropout in training steps only

    def batch(self, x: Tensor, y: Tensor, stacked: bool, alive: Tensor
              ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        ys = y if stacked else y.expand(self.k, *y.shape)
        with torch.no_grad():  # (the activations' own graphs switch it on where they need it)
            saved = self.stack.forward(x, training=True, stacked=stacked)
            found = self.stack.gradients(saved, ys, self.loss, self.closed_form)
            if self.l1 is not None or self.l2 is not None:
                self.stack.penalize(self.l1, self.l2)
        if self.k == 1:  # a run alone: its loss and gradient read as two numbers
            if not math.isfinite(float(found[0]) + float(self.stack.grad.sum())):
                # it stops here: never stepped again
                return found, None, torch.zeros(1, dtype=torch.bool, device=found.device)
            self.optimizer.step(self.scale)
            return found, self.correct(saved.logits, ys), None  # known finite
        finite = self.stack.finite(found)
        if not bool((finite | ~alive).all()):  # these stop now: never stepped again
            self.optimizer.freeze((alive & ~finite).nonzero().flatten().tolist())
        self.optimizer.step(self.scale)
        return found, self.correct(saved.logits, ys), finite

    def epoch_end(self, epoch: int) -> None:
        if self.cosine:  # torch's CosineAnnealingLR (eta_min 0) after ``epoch`` steps
            self.scale = (1 + math.cos(math.pi * epoch / self.epochs)) / 2

    def set_lr_scale(self, factor: float) -> None:
        """Every model's learning rate becomes its configured one times ``factor``."""
        self.scale = factor

    def correct(self, z: Tensor, y: Tensor, spread: float | None = None) -> Tensor:
        """[K] right answers of each model (z [K, B, C], y [K, B, ...]); on a regression
        the sum of 1 - (y - p)² / spread (``spread``: the targets' variance, the training
        split's by default), whose mean over a split is R²."""
        if self.spread is not None:
            return r2_terms(self.score(z), y, spread or self.spread).sum(dim=(1, 2))
        if z.shape[-1] == 1:
            return ((self.score(z) > 0.5).to(y.dtype) == y).sum(dim=(1, 2))
        return (z.argmax(dim=-1) == y).sum(dim=1)

    def measure(self, split: Split) -> tuple[list[float], list[float]]:
        """Each model's (loss, accuracy) on ``split``, in large batches, no dropout."""
        loss = torch.zeros(self.k, dtype=torch.float64, device=split.x.device)
        right = torch.zeros_like(loss)
        spread = split.spread() if self.spread is not None else None
        with torch.no_grad():
            for begin in range(0, len(split), EVAL_BATCH):
                x, y = split.x[begin:begin + EVAL_BATCH], split.y[begin:begin + EVAL_BATCH]
                z = self.stack.forward(x, training=False, backward=False).logits
                ys = y.expand(self.k, *y.shape)
                loss += self.loss(z, ys).double() * len(y)
                right += self.correct(z, ys, spread).double()
        n = max(len(split), 1)
        return (loss / n).tolist(), (right / n).tolist()

    def diagnose(self, x: Tensor, y: Tensor) -> list[dict[str, float]]:
        """Each model's diagnostics on the probe batch (x, y) (actcli.engine.diagnostics)."""
        return self.stack.diagnose(x, y, self.loss)

    def state(self) -> dict[str, Any]:
        """What a checkpoint holds of the engine (plain tensors and containers)."""
        return {"flat": self.stack.flat.detach().cpu(), "optimizer": self.optimizer.state(),
                "scale": self.scale,
                "dropout": [g.get_state() for g in self.stack.generators]}

    def load(self, state: dict[str, Any], alive: Sequence[bool]) -> None:
        """Restore what :meth:`state` gave, with the models not ``alive`` frozen again;
        ValueError (or RuntimeError, TypeError) when it does not fit this engine."""
        flat = state["flat"]
        if not isinstance(flat, Tensor) or flat.shape != self.stack.flat.shape:
            held = flat.numel() if isinstance(flat, Tensor) else 0
            raise ValueError(f"{held:,} parameters, not the stack's "
                             f"{self.stack.flat.numel():,}")
        with torch.no_grad():
            self.stack.flat.copy_(flat)
        dead = [k for k, living in enumerate(alive) if not living]
        if dead:  # frozen again: the optimizer's state holds the others only
            self.optimizer.freeze(dead)
        self.optimizer.load(state["optimizer"])
        dropout = state["dropout"]
        if len(dropout) != len(self.stack.generators):
            raise ValueError(f"{len(dropout)} dropout streams, not "
                             f"{len(self.stack.generators)}")
        for generator, saved in zip(self.stack.generators, dropout, strict=True):
            try:
                generator.set_state(saved)
            except RuntimeError:  # a CPU generator's state is not a GPU generator's
                raise ValueError(f"its dropout streams were saved on another kind of device "
                                 f"than {generator.device.type}: continue it on the device "
                                 "it trained on (the config's device)") from None
        self.scale = float(state["scale"])
