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
from actcli.training import log_epochs

# per model, not part of the stack's key
PER_MODEL = ("name", "compare", "log", "train.seed", "model.activation", "model.init",
             "model.dropout", "optimizer")


def stack_key(config: Config) -> str | None:
    """Configs with equal keys can train in one stack; None: this config trains alone
    (a CNN, batch norm, a learned activation, an optimizer the stack does not write out,
    or periodic checkpoints, which a stack does not take)."""
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


class _Engine:
    """The stack, its optimizer, loss and readers, over K prepared runs."""

    def __init__(self, prepared: Sequence[Prepared],
                 generators: Sequence[torch.Generator]) -> None:
        first = prepared[0]
        self.k = len(prepared)
        self.stack = StackedMLP([p.parts.net for p in prepared], generators)
        self.optimizer = StackedOptimizer([p.config.optimizer for p in prepared],
                                          self.stack.flat, self.stack.grad)
        self.loss: StackedLoss = losses.stacked(first.config.loss, first.parts.net.output,
                                                first.data.n_outputs)
        self.score = first.parts.score

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
    prepared: list[Prepared] = []
    generators: list[torch.Generator] = []
    data = None
    for config in (configs[i] for i in order):
        p = experiment.prepare(config, data=data, alone=False)
        generators.append(_dropout_generator(config, p.parts.device))
        prepared.append(p)
        data = p.data
    engine = _Engine(prepared, generators)
    trackers = []
    for p, i in zip(prepared, order, strict=True):
        folder, summary = experiment.start(p, folders[i].parent, folders[i], command,
                                           figures, stack=len(configs))
        trackers.append(Tracker(p, folder, summary, figures=figures))
    results = _train(prepared, engine, trackers)
    return [results[order.index(i)] for i in range(len(configs))]


def _cosine(epoch: int, epochs: int) -> float:
    """torch's CosineAnnealingLR factor (eta_min 0) for the epoch after ``epoch`` steps."""
    return (1 + math.cos(math.pi * epoch / epochs)) / 2


def _train(prepared: Sequence[Prepared], engine: _Engine, trackers: list[Tracker]
           ) -> list[RunResult]:
    config = prepared[0].config
    k, stack = engine.k, engine.stack
    epochs, batch_size = config.train.epochs, config.train.batch_size
    x, y = prepared[0].train.x, prepared[0].train.y
    n = len(y)
    size = n if batch_size is None else min(batch_size, n)
    # models with the same seed draw the same batch order: one permutation serves them
    seeds = sorted({p.config.train.seed for p in prepared})
    order_of = {seed: next(p.generator for p in prepared if p.config.train.seed == seed)
                for seed in seeds}
    row_of = torch.tensor([seeds.index(p.config.train.seed) for p in prepared],
                          device=x.device)
    held_out = prepared[0].val if prepared[0].val is not None else prepared[0].test
    names = ("val_loss", "val_accuracy") if prepared[0].val is not None \
        else ("test_loss", "accuracy")
    probe_x, probe_y = trackers[0].probe()
    every = log_epochs(epochs, config.train.log_every)
    alive = torch.ones(k, dtype=torch.bool, device=x.device)
    ended: dict[int, tuple[str, str, int, float]] = {}  # model -> status, reason, epochs, s
    done_epochs = 0
    start = time.perf_counter()
    crash: BaseException | None = None
    try:
        with checkpoints.StopRequests() as stop:
            for epoch in range(1, epochs + 1):
                scale = _cosine(epoch - 1, epochs) if config.train.lr_schedule == "cosine" \
                    else 1.0
                orders = None if size == n else torch.stack(
                    [torch.randperm(n, generator=order_of[s]) for s in seeds]).to(x.device)
                total = torch.zeros(k, dtype=torch.float64, device=x.device)
                right = torch.zeros_like(total)
                position = 0
                while position < n:
                    stacked = orders is not None and len(seeds) > 1
                    if orders is None:
                        xb, yb = x, y
                    elif not stacked:
                        idx = orders[0, position:position + size]
                        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
                    else:
                        idx = orders[:, position:position + size].index_select(0, row_of)
                        xb = x.index_select(0, idx.flatten()).view(k, idx.shape[1], *x.shape[1:])
                        yb = y.index_select(0, idx.flatten()).view(k, idx.shape[1], *y.shape[1:])
                    ys = yb if stacked else yb.expand(k, *yb.shape)
                    saved = stack.forward(xb, training=True, stacked=stacked)
                    batch_losses = stack.gradients(saved, ys, engine.loss)
                    ok = stack.finite(batch_losses) & alive
                    if not bool(ok.all()):
                        stopped_now = (alive & ~ok).nonzero().flatten().tolist()
                        for i in stopped_now:
                            ended[i] = ("diverged", f"loss or gradient not finite at epoch "
                                        f"{epoch}", epoch - 1, time.perf_counter() - start)
                        engine.optimizer.freeze(stopped_now)
                        alive = ok
                    engine.optimizer.step(scale)
                    total += batch_losses.double() * ys.shape[1]
                    right += engine.correct(saved.logits, ys).double()
                    position += ys.shape[1]
                    if position < n and stop():
                        break
                if position < n:  # stopped inside the epoch
                    _stop_all(ended, alive, f"stopped during epoch {epoch}", epoch - 1, start)
                    break
                if not bool(alive.any()):
                    break
                done_epochs = epoch
                _log(engine, trackers, alive, epoch, epochs, every, total / n, right / n,
                     held_out, names, probe_x, probe_y)
                if epoch < epochs and stop():
                    _stop_all(ended, alive, f"stopped after epoch {epoch}", epoch, start)
                    break
    except KeyboardInterrupt as err:  # a second Ctrl-C
        crash = err
        _stop_all(ended, alive, "interrupted twice", done_epochs, start)
    except Exception as err:  # any crash: every model still training failed with it
        crash = err
        for i in alive.nonzero().flatten().tolist():
            ended.setdefault(i, ("failed", f"{type(err).__name__}: {err}", done_epochs,
                                 time.perf_counter() - start))
    seconds = time.perf_counter() - start
    results = []
    for i, tracker in enumerate(trackers):
        status, reason, finished, _ = ended.get(i, ("completed", "", epochs, seconds))
        if status == "interrupted":
            reason += "; actcli compare --resume trains it again"
        tracker.summary["stack_seconds"] = round(seconds, 3)
        # the stack's time is shared: each model is given its share of it
        results.append(tracker.finish(status, reason, finished, seconds / k))
    if crash is not None:
        raise crash
    return results


def _stop_all(ended: dict[int, tuple[str, str, int, float]], alive: Tensor, reason: str,
              epochs: int, start: float) -> None:
    for i in alive.nonzero().flatten().tolist():
        ended.setdefault(i, ("interrupted", reason, epochs, time.perf_counter() - start))


def _log(engine: _Engine, trackers: list[Tracker], alive: Tensor, epoch: int, epochs: int,
         every: int, train_loss: Tensor, train_accuracy: Tensor, held_out: Split,
         names: tuple[str, str], probe_x: Tensor, probe_y: Tensor) -> None:
    """Every living model's epoch: its metrics.csv row and diagnostics on logged epochs."""
    losses_, accuracies = train_loss.tolist(), train_accuracy.tolist()
    logged = epoch == 1 or epoch % every == 0 or epoch == epochs
    rows: list[dict[str, float] | None] = [None] * engine.k
    diagnoses: list[dict[str, float] | None] = [None] * engine.k
    if logged:
        held_loss, held_accuracy = engine.measure(held_out)
        found = engine.stack.diagnose(probe_x, probe_y, engine.loss)
        for i in range(engine.k):
            rows[i] = {"epoch": epoch, "train_loss": losses_[i],
                       "train_accuracy": accuracies[i], names[0]: held_loss[i],
                       names[1]: held_accuracy[i]}
            diagnoses[i] = found[i]
    for i in alive.nonzero().flatten().tolist():
        trackers[i].log(epoch, losses_[i], rows[i], diagnoses[i])

