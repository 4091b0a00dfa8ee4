"""Runs that train together: K configs of one network shape as one stacked model.

:func:`stack_key` says which configs can share a stack: same task and data, same layer
shapes, output, loss, batch size, epochs, schedule and logging. They may differ in
activation (per layer), initializer, seed, dropout rate and optimizer (sgd, adam, adamw,
rmsprop, with any options): the stack holds all of these per model. :func:`run` trains
such a group with :class:`actcli.stack.StackedMLP` and writes every model's own run
folder, exactly the folder the config would leave trained alone (``"stack": K`` in its
summary.json).

Each model is the run its config describes: built from its own seed (so the same initial
weights), its own batch order (its own generator, seeded as the run alone seeds it), its
own dropout draws (the stream the run alone would draw from). Sums differ from the run
alone in the last bits only (batched against single matrix products). A model that
diverges stops with status ``diverged`` and its last finite figures; the rest train on.
Interrupted (Ctrl-C, SIGTERM), a stack stops after its current step and records every
unfinished model as ``interrupted``; there is no checkpoint: ``compare --resume`` trains
the unfinished cells of a stack again.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from actcli import checkpoints, experiment, tboard
from actcli.components import losses
from actcli.config import Config, to_dict
from actcli.experiment import EVAL_BATCH, Prepared, RunResult, Tracker
from actcli.model import per_layer
from actcli.stack import StackedLoss, StackedMLP
from actcli.stack_optim import STACKED, StackedOptimizer
from actcli.tasks.base import Split
from actcli.training import FitResult, Orders, run_fit

# per model, not part of the stack's key
PER_MODEL = ("name", "compare", "log", "train.seed", "model.activation", "model.init",
             "model.dropout", "optimizer")


def stack_key(config: Config) -> str | None:
    """Configs with equal keys can train in one stack; None: this config trains alone
    (a CNN, batch norm, a learned activation, an optimizer other than those of
    :data:`STACKED`, or periodic checkpoints, which a stack does not take)."""
    model = config.model
    if model.kind != "mlp" or model.batch_norm or config.train.checkpoint_every is not None:
        return None
    if any(ref.name == "prelu" for ref in per_layer(model.activation, model.hidden_layers)):
        return None
    if config.optimizer.name not in STACKED:
        return None
    document = to_dict(config)
    for key in PER_MODEL:
        *parents, last = key.split(".")
        node = document
        for part in parents:
            node = node.get(part, {})
        node.pop(last, None)
    return json.dumps(document, sort_keys=True)


# Splitting a stack between worker processes pays when each part trains well over what
# starting a worker costs here (importing torch and actcli, about 3 s): measured with
# benchmarks/compare_speed.py (compare_beans, about 2 s of training, runs faster as one
# stack; eleven Fashion-MNIST MLPs for 3 epochs, about 30 s, faster split in two).
SPLIT_SECONDS = 10.0
FLOPS = 5e10  # multiply-adds x 2 per second one core does here in float32 matrix products


def seconds_estimate(config: Config, models: int) -> float:
    """A rough time for ``models`` runs of ``config`` in one stack on one core: their
    matrix products' arithmetic (forward and backward, about 6 flops per parameter and
    sample) over every epoch."""
    from actcli import model as model_mod
    from actcli.tasks import TASKS

    task = TASKS.get(config.task.name).task
    parameters = model_mod.parameter_count(config.model, task.input_shape, task.n_outputs)
    samples = task.train_size(config.task) * config.train.epochs
    return 6 * parameters * samples * models / FLOPS


def groups(configs: Sequence[Config]) -> list[list[int]]:
    """Indices of the ``configs`` that can train together, one list per stack key, in
    first-seen order (a list of one where a config is the only one of its key); configs
    that cannot join a stack are in none."""
    found: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        key = stack_key(config)
        if key is not None:
            found.setdefault(key, []).append(i)
    return list(found.values())


def _dropout_generator(config: Config, device: torch.device) -> torch.Generator:
    """The stream the run alone draws its dropout masks from: torch's global generator
    right after its network was built (prepare seeds it with the run's seed)."""
    if device.type == "cpu":
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
        return generator
    # on a GPU the run alone draws from the device's generator, which building the network
    # (on the CPU) did not touch since prepare seeded it
    return torch.Generator(device=device).manual_seed(config.train.seed)


class StackEngine:
    """The stack, its optimizer, loss and readers, over K prepared runs: the
    :class:`actcli.training.Engine` of a stack."""

    def __init__(self, prepared: Sequence[Prepared],
                 generators: Sequence[torch.Generator]) -> None:
        first = prepared[0]
        self.k = len(prepared)
        self.stack = StackedMLP([p.parts.net for p in prepared], generators)
        self.optimizer = StackedOptimizer([p.config.optimizer for p in prepared],
                                          self.stack.models())
        self.loss: StackedLoss = losses.stacked(first.config.loss, first.parts.net.output,
                                                first.data.n_outputs)
        self.closed_form = losses.stacked_logit_gradient(first.config.loss)
        self.score = first.parts.score
        self.cosine = first.config.train.lr_schedule == "cosine"
        self.epochs = first.config.train.epochs
        self.scale = 1.0  # the schedule's factor of every learning rate this epoch

    def train_mode(self) -> None:
        pass  # the stack draws dropout in training steps only

    def batch(self, x: Tensor, y: Tensor, stacked: bool, alive: Tensor
              ) -> tuple[Tensor, Tensor | None, Tensor]:
        ys = y if stacked else y.expand(self.k, *y.shape)
        saved = self.stack.forward(x, training=True, stacked=stacked)
        found = self.stack.gradients(saved, ys, self.loss, self.closed_form)
        finite = self.stack.finite(found)
        if not bool((finite | ~alive).all()):  # these stop now: never stepped again
            self.optimizer.freeze((alive & ~finite).nonzero().flatten().tolist())
        self.optimizer.step(self.scale)
        return found, self.correct(saved.logits, ys), finite

    def epoch_end(self, epoch: int) -> None:
        if self.cosine:  # torch's CosineAnnealingLR (eta_min 0) after ``epoch`` steps
            self.scale = (1 + math.cos(math.pi * epoch / self.epochs)) / 2

    def correct(self, z: Tensor, y: Tensor) -> Tensor:
        """[K] right answers of each model (z [K, B, C], y [K, B, ...])."""
        if z.shape[-1] == 1:
            return ((self.score(z) > 0.5).to(y.dtype) == y).sum(dim=(1, 2))
        return (z.argmax(dim=-1) == y).sum(dim=1)

    def measure(self, split: Split) -> tuple[list[float], list[float]]:
        """Each model's (loss, accuracy) on ``split``, in large batches, no dropout."""
        loss = torch.zeros(self.k, dtype=torch.float64, device=split.x.device)
        right = torch.zeros_like(loss)
        with torch.no_grad():
            for begin in range(0, len(split), EVAL_BATCH):
                x, y = split.x[begin:begin + EVAL_BATCH], split.y[begin:begin + EVAL_BATCH]
                z = self.stack.forward(x, training=False, backward=False).logits
                ys = y.expand(self.k, *y.shape)
                loss += self.loss(z, ys).double() * len(y)
                right += self.correct(z, ys).double()
        n = max(len(split), 1)
        return (loss / n).tolist(), (right / n).tolist()


def run(configs: Sequence[Config], folders: Sequence[Path], *, command: str | None = None,
        figures: bool = False) -> list[RunResult]:
    """Train ``configs`` (one :func:`stack_key`) as one stack, model k into ``folders[k]``
    (new folders); one result per config, in order."""
    if len({stack_key(c) for c in configs}) != 1 or stack_key(configs[0]) is None:
        raise ValueError("the configs of a stack must share one stack key")
    if any(c.log.tensorboard for c in configs):
        tboard.require()
    # models with the same activations side by side: each layer calls each once, on a slice
    order = sorted(range(len(configs)), key=lambda i: str(per_layer(
        configs[i].model.activation, configs[i].model.hidden_layers)))
    experiment.check_memory(configs[order[0]], len(configs))
    prepared: list[Prepared] = []
    generators: list[torch.Generator] = []
    data = None
    for config in (configs[i] for i in order):
        p = experiment.prepare(config, data=data, alone=False)
        generators.append(_dropout_generator(config, p.parts.device))
        prepared.append(p)
        data = p.data
    engine = StackEngine(prepared, generators)
    trackers = []
    with contextlib.ExitStack() as held:  # every model's folder locked while it trains
        for p, i in zip(prepared, order, strict=True):
            folder, summary, lock = experiment.start(p, folders[i].parent, folders[i],
                                                     command, figures, stack=len(configs))
            held.enter_context(lock)
            trackers.append(Tracker(p, folder, summary, figures=figures))
        results = _train(prepared, engine, trackers)
    return [results[order.index(i)] for i in range(len(configs))]


def _train(prepared: Sequence[Prepared], engine: StackEngine, trackers: list[Tracker]
           ) -> list[RunResult]:
    first = prepared[0]
    config = first.config
    # models with the same seed draw the same batch order: one permutation serves them
    seeds = sorted({p.config.train.seed for p in prepared})
    generators = [next(p.generator for p in prepared if p.config.train.seed == seed)
                  for seed in seeds]
    orders = Orders(generators, [seeds.index(p.config.train.seed) for p in prepared])
    held_out = first.val if first.val is not None else first.test  # on the device
    names = first.data.monitored[1:]
    probe_x, probe_y = trackers[0].probe()
    diagnosed: list[dict[str, float]] = []  # every model's diagnostics, this logged epoch

    def evaluate() -> list[dict[str, float]]:
        loss, accuracy = engine.measure(held_out)
        # one stacked pass measures every model (the weights are those on_epoch sees)
        diagnosed[:] = engine.stack.diagnose(probe_x, probe_y, engine.loss)
        return [{names[0]: loss[i], names[1]: accuracy[i]} for i in range(engine.k)]

    def on_epoch(i: int, epoch: int, train_loss: float, row: dict[str, float] | None) -> None:
        trackers[i].log(epoch, train_loss, row, diagnosed[i] if row is not None else None)

    start = time.perf_counter()
    crash: BaseException | None = None
    results: list[FitResult] = []
    done = []
    with checkpoints.StopRequests() as stop:
        try:
            results = run_fit(engine, first.train.x, first.train.y,
                              epochs=config.train.epochs, batch_size=config.train.batch_size,
                              orders=orders, evaluate=evaluate,
                              log_every=config.train.log_every, on_epoch=on_epoch, stop=stop)
        except (KeyboardInterrupt, Exception) as err:  # a second Ctrl-C, or any crash
            crash = err
        seconds = time.perf_counter() - start
        # from here on a Ctrl-C only leaves out the figures not drawn yet
        with stop.held():
            for i, tracker in enumerate(trackers):
                if crash is not None:
                    status = "interrupted" if isinstance(crash, KeyboardInterrupt) \
                        else "failed"
                    reason = "interrupted twice" if status == "interrupted" else \
                        f"{type(crash).__name__}: {crash}"
                    epochs = tracker.history[-1]["epoch"] if tracker.history else 0
                else:
                    status, reason, epochs = (results[i].status, results[i].reason,
                                              results[i].epochs)
                if status == "interrupted":
                    reason += "; actcli compare --resume trains it again"
                tracker.summary["stack_seconds"] = round(seconds, 3)
                # the stack's time is shared: each model is given its share of it
                done.append(tracker.finish(status, reason, int(epochs), seconds / engine.k,
                                           stop=stop))
    if crash is not None:
        raise crash
    return done
