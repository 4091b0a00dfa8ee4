"""What a config builds before any folder exists: data, the seeded network, its readers,
and the engine that trains it.

Everything that can be wrong with the input (device, data, sizes) surfaces here, so bad
input never leaves a folder behind. :func:`engine_for` gives K prepared runs their engine:
the dense stack for plain MLPs (a run alone is a stack of one), autograd for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from actcli import devices
from actcli.components import losses, optimizers
from actcli.config import Config
from actcli.engine import autograd, diagnostics, updates
from actcli.engine import model as model_mod
from actcli.engine.autograd import AutogradEngine
from actcli.engine.dense import DenseEngine, dropout_generator
from actcli.engine.loop import Engine, Orders
from actcli.engine.stack import dense_layers
from actcli.errors import ConfigError
from actcli.tasks import TASKS
from actcli.tasks.base import Split, TaskData
from actcli.training.budget import check_memory


@dataclass
class Parts:
    """What a config builds for a task: the network and how it is trained and read."""

    net: model_mod.Network
    objective: Callable[[Tensor, Tensor], Tensor]
    score: Callable[[Tensor], Tensor]  # logits -> probabilities (or the raw output)
    correct: autograd.Correct  # logits, targets -> number right (R² terms: regression)
    device: torch.device
    spread: float | None = None  # a regression's training targets' variance (R²'s divisor)

    def predict(self, x: Tensor) -> Tensor:
        """Scores for inputs ``x`` (any device), on the CPU, in eval mode."""
        self.net.eval()
        with torch.inference_mode():
            return self.score(self.net(x.to(self.device))).cpu()

    def measure(self, split: Split) -> tuple[float, float]:
        """(loss, accuracy) of the network on ``split``, in large batches, no gradients."""
        return autograd.measure(self.net, self.objective, self.correct, split)


def scorer(config: Config, net: model_mod.Network, n_outputs: int
           ) -> Callable[[Tensor], Tensor]:
    """Logits -> what the model predicts: probabilities (or the raw output)."""
    reads = losses.LOSSES.get(config.loss.name).reads
    if config.model.output == "identity" and reads != "output":
        # a logit loss with no output activation still predicts through its sigmoid/softmax
        return torch.sigmoid if n_outputs == 1 else (lambda z: torch.softmax(z, dim=-1))
    return net.output


def set_precision(precision: str, device: torch.device) -> None:
    """TF32 matrix products (CUDA) on or off for this process as ``precision`` says;
    ConfigError for a precision the device does not have."""
    if precision == "tf32" and device.type != "cuda":
        raise ConfigError(f"train.precision: tf32 needs an NVIDIA GPU (device {device.type} "
                          "has no TF32 units); use fp32, or bf16 on this device")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"


def build_parts(config: Config, data: TaskData, device: torch.device,
                input_shape: tuple[int, ...]) -> Parts:
    """Seeded network, objective and readers for ``config`` on ``data``."""
    torch.manual_seed(config.train.seed)
    net = model_mod.build(config.model, input_shape, data.n_outputs).to(device)
    objective = losses.objective(config.loss, net.output, data.n_outputs)
    score = scorer(config, net, data.n_outputs)

    train_spread = data.train.spread() if data.regression else None

    def correct(z: Tensor, y: Tensor, spread: float | None = None) -> Tensor:
        """Right answers in the batch; on a regression the sum of 1 - (y - p)² / spread
        (the training targets' variance unless ``spread``), whose mean is R²."""
        if train_spread is not None:
            return autograd.r2_terms(score(z), y, spread or train_spread).sum()
        if z.shape[1] == 1:
            return ((score(z) > 0.5).to(y.dtype) == y).sum()
        # every output activation keeps the order of the logits: no need to apply it
        return (z.argmax(dim=1) == y).sum()

    return Parts(net, objective, score, correct, device, train_spread)


def measured_on(data: TaskData) -> str:
    """What a run's final figures are measured on, in words."""
    return "the test split" if data.held_out else \
        "the training data (the task holds nothing out: task.test_fraction is 0)"


@dataclass
class Prepared:
    """Everything a run needs, built from its config before any folder exists."""

    config: Config
    task: Any
    data: TaskData
    parts: Parts
    generator: torch.Generator  # the batch order's
    dropout: torch.Generator  # the dropout stream of a dense network (dropout_generator)
    train: Split
    test: Split
    val: Split | None

    @property
    def held_out(self) -> Split:
        """What each logged epoch measures, on the device: validation, else test."""
        return self.val if self.val is not None else self.test

    @property
    def probe(self) -> tuple[Tensor, Tensor]:
        """The fixed batch diagnostics are measured on: ``diagnostics.PROBE`` training
        samples evenly spaced over the set (all of them when it has no more), so a set
        stored in order (the rice cooker's temperatures, a CSV sorted by class) is probed
        over its whole range, not by its first rows."""
        x, y = self.train.x, self.train.y
        if len(x) <= diagnostics.PROBE:
            return x, y
        at = torch.as_tensor(np.linspace(0, len(x) - 1, diagnostics.PROBE).round(),
                             dtype=torch.long, device=x.device)
        return x.index_select(0, at), y.index_select(0, at)

    @property
    def dense(self) -> bool:
        """A plain dense network: it trains in the dense engine (in a stack)."""
        return dense_layers(self.parts.net) is not None


def prepare(config: Config, progress: Any = None, data: TaskData | None = None,
            alone: bool = True) -> Prepared:
    """Device, data, seeded network: all input problems surface here.

    ``data``: the task's data when it is loaded already (runs of one stack share it).
    ``alone``: check the memory for this run (a stack checks it for all its runs at once).
    """
    device = devices.resolve(config.device)
    set_precision(config.train.precision, device)
    task = TASKS.get(config.task.name).task
    if alone:
        check_memory(config)
    if data is None:
        data = task.load(config.task, progress=progress)
    parts = build_parts(config, data, device, task.shape(config.task)[0])
    # right after the network is built: where a run's dropout draws start
    dropout = dropout_generator(config.train.seed, device)
    return Prepared(config, task, data, parts,
                    torch.Generator().manual_seed(config.train.seed), dropout,
                    data.train.to(device), data.test.to(device),
                    data.val.to(device) if data.val is not None else None)


def engine_for(prepared: Sequence[Prepared]) -> Engine:
    """The engine that trains ``prepared`` together: one stack for plain MLPs (of one
    shape, one loss; a run alone is a stack of one), else autograd for one network."""
    first = prepared[0]
    config = first.config
    if all(p.dense for p in prepared):
        return DenseEngine([p.parts.net for p in prepared],
                           [p.config.optimizer for p in prepared], config.loss,
                           first.parts.net.output, first.data.n_outputs, first.parts.score,
                           epochs=config.train.epochs,
                           cosine=config.train.lr_schedule == "cosine",
                           generators=[p.dropout for p in prepared],
                           regression=first.parts.spread, precision=config.train.precision)
    if len(prepared) != 1:
        raise ValueError("only plain dense networks train in a stack")
    parts = first.parts
    optimizer = updates.make(config.optimizer, list(parts.net.parameters()))
    cosine = config.train.epochs if config.train.lr_schedule == "cosine" else None
    l1, l2 = optimizers.penalty_rates(config.optimizer)
    weights = [m.weight for m in parts.net.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    penalty = (lambda: optimizers.penalty(weights, l1, l2)) if l1 or l2 else None
    return AutogradEngine(parts.net, parts.objective, optimizer, parts.correct, cosine,
                          penalty, bf16=config.train.precision == "bf16")


def orders(prepared: Sequence[Prepared]) -> Orders:
    """Each model's batch order: models with the same seed draw the same permutation, one
    generator serves them."""
    seeds = sorted({p.config.train.seed for p in prepared})
    generators = [next(p.generator for p in prepared if p.config.train.seed == seed)
                  for seed in seeds]
    return Orders(generators, [seeds.index(p.config.train.seed) for p in prepared])
