"""Runs that train together: K configs of one network shape as one stacked model.

:func:`run` trains a group of configs that ``actcli.sweep.stacking.stack_key`` puts in one
stack with :class:`actcli.engine.stack.StackedMLP` and writes every model's own run
folder, exactly the folder the config would leave trained alone (``"stack": K`` in its
summary.json).

Each model is the run its config describes: built from its own seed (so the same initial
weights), its own batch order (its own generator, seeded as the run alone seeds it), its
own dropout draws (the stream the run alone would draw from). Sums differ from the run
alone in the last bits only (batched against single matrix products). A model that
diverges stops with status ``diverged`` and its last finite figures; the rest train on.

A stack checkpoints as a run alone does (``train.checkpoint_seconds``,
``train.checkpoint_every``; the loop stops at a step, the checkpoint is written, the loop
goes on from its cursor: no number changes), into one file for all its models
(:class:`actcli.engine.checkpoints.StackState`; a compare keeps it in ``stacks/``). Interrupted
(Ctrl-C, SIGTERM), a stack stops after its current step, writes its checkpoint and records
every unfinished model as ``interrupted``; :func:`run` given that checkpoint continues the
stack from it, to the numbers it would have reached uninterrupted, bit for bit.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from actcli import devices, folders, locks
from actcli.components import losses
from actcli.config import Config, to_dict
from actcli.engine import checkpoints
from actcli.engine.loop import Cursor, FitResult, Orders, run_fit
from actcli.engine.model import per_layer
from actcli.engine.stack import StackedLoss, StackedMLP
from actcli.engine.stack_optim import StackedOptimizer
from actcli.errors import ActcliError
from actcli.tasks.base import Split
from actcli.training import experiment, outputs, tboard
from actcli.training.experiment import EVAL_BATCH, Prepared, RunResult, Tracker


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
    :class:`actcli.engine.loop.Engine` of a stack."""

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


def stack_order(configs: Sequence[Config]) -> list[int]:
    """The order a stack holds ``configs`` in: models with the same activations side by
    side (each layer calls each activation once, on a slice), else as given."""
    return sorted(range(len(configs)), key=lambda i: str(per_layer(
        configs[i].model.activation, configs[i].model.hidden_layers)))


def misfit(saved: checkpoints.StackState, configs: Sequence[Config], names: Sequence[str],
           passengers: Collection[int] = ()) -> str | None:
    """What keeps the checkpoint ``saved`` from continuing the stack of ``configs`` (model
    k in folder ``names[k]``; ``passengers`` as in :func:`run`), or None when it fits."""
    order = stack_order(configs)
    problem = checkpoints.stack_misfit(saved, [names[i] for i in order],
                                       [to_dict(configs[i]) for i in order],
                                       [i not in passengers for i in order])
    if problem is None:
        from actcli.engine import model as model_mod
        from actcli.tasks import TASKS

        config = configs[order[0]]
        task = TASKS.get(config.task.name).task
        want = model_mod.parameter_count(config.model, task.input_shape, task.n_outputs) * \
            len(configs)
        if saved.flat.numel() != want:
            problem = f"it holds {saved.flat.numel():,} parameters, not the stack's {want:,}"
    return problem


def run(configs: Sequence[Config], folders: Sequence[Path], *, command: str | None = None,
        figures: bool = False, checkpoint: Path | None = None,
        passengers: Collection[int] = (), resume: str = "actcli compare --resume"
        ) -> list[RunResult | None]:
    """Train ``configs`` (configs :func:`actcli.sweep.stacking.stack_key` puts in one stack) as one stack, model k into ``folders[k]``;
    one result per config, in order.

    ``checkpoint``: the stack's checkpoint file, written every ``train.checkpoint_seconds``
    and ``train.checkpoint_every`` epochs (of the first config: the stack key makes them
    one) and when the stack is interrupted, deleted when it ends. When it exists already
    the stack continues from it (:func:`misfit` says when it cannot: one ActcliError line)
    and each model's folder is made again from the checkpoint's record; otherwise the
    folders are new ones. ``passengers``: models whose folders are complete already: they
    train along so that the stack computes what it computed before, but nothing of them
    is written and their result is None. ``resume``: the command that continues an
    interrupted stack, for the summaries' reason.
    """
    if any(c.log.tensorboard for c in configs):
        tboard.require()
    order = stack_order(configs)
    names = [folders[i].name for i in order]
    saved = None
    if checkpoint is not None and checkpoint.exists():
        saved = checkpoints.read_stack(checkpoint, devices.resolve(configs[0].device))
        problem = misfit(saved, configs, [f.name for f in folders], passengers)
        if problem is not None:
            raise ActcliError(f"{checkpoint}: {problem}")
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
    orders = _orders(prepared)
    keeper = None if checkpoint is None else _Keeper(
        checkpoint, names, [to_dict(configs[i]) for i in order], engine, orders)
    flat = engine.stack.flat
    untrained = flat.clone() if saved is not None and figures else None
    if keeper is not None and saved is not None:  # before any folder is touched
        keeper.restore(saved)
    trained = flat.clone() if untrained is not None else None
    if untrained is not None:  # the "before" figures of a resumed model: untrained weights
        flat.copy_(untrained)
    trackers: list[Tracker | None] = []
    with contextlib.ExitStack() as held:  # every model's folder locked while it trains
        for position, (p, i) in enumerate(zip(prepared, order, strict=True)):
            if i in passengers:
                trackers.append(None)
                continue
            if saved is not None:
                _clear(folders[i])
            folder, summary, lock = experiment.start(p, folders[i].parent, folders[i],
                                                     command, figures, stack=len(configs))
            held.enter_context(lock)
            tracker = Tracker(p, folder, summary, figures=figures,
                              progress=saved.progress(position) if saved else None)
            if untrained is not None:
                tracker.record.weights_before = outputs.weights(p.parts.net)
            trackers.append(tracker)
        if trained is not None:
            flat.copy_(trained)
        if keeper is not None:
            keeper.trackers = trackers
        results = _train(prepared, engine, orders, trackers, keeper, saved, resume)
    return [results[order.index(i)] for i in range(len(configs))]


def _clear(folder: Path) -> None:
    """Remove a model's earlier folder (its checkpoint holds all it recorded), unless a
    live process works in it."""
    if not folder.exists():
        return
    if locks.is_held(folder):
        raise locks.busy(folder)
    shutil.rmtree(folder)


def _orders(prepared: Sequence[Prepared]) -> Orders:
    """Each model's batch order: models with the same seed draw the same permutation, one
    generator serves them."""
    seeds = sorted({p.config.train.seed for p in prepared})
    generators = [next(p.generator for p in prepared if p.config.train.seed == seed)
                  for seed in seeds]
    return Orders(generators, [seeds.index(p.config.train.seed) for p in prepared])


class _Keeper:
    """Writes the stack's checkpoint, and loads one into a freshly built stack."""

    def __init__(self, path: Path, names: list[str], configs: list[dict[str, Any]],
                 engine: StackEngine, orders: Orders) -> None:
        self.path, self.names, self.configs = path, names, configs
        self.engine, self.orders = engine, orders
        self.trackers: Sequence[Tracker | None] = []  # each model's, None for a passenger

    def save(self, epoch: int, cursor: Cursor | None, alive: Tensor,
             stopped: Sequence[tuple[str, int] | None], seconds: float) -> None:
        """The checkpoint as of now, and each model's metrics.csv so far."""
        engine = self.engine
        state = checkpoints.StackState(
            self.names, self.configs, epoch, cursor, engine.stack.flat,
            engine.optimizer.state(), engine.scale,
            [g.get_state() for g in self.orders.generators],
            [g.get_state() for g in engine.stack.generators], alive.tolist(),
            [None if s is None else {"reason": s[0], "epochs": s[1]} for s in stopped],
            [None if t is None else {"history": t.history, "best": t.best,
                                     "diagnostics": t.diagnosed} for t in self.trackers],
            seconds)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folders.save_state(state.state(), self.path)
        for tracker in self.trackers:
            if tracker is not None and tracker.history:
                folders.write_csv(tracker.folder / "metrics.csv", tracker.history)

    def restore(self, saved: checkpoints.StackState) -> None:
        """Load ``saved`` (checked by :func:`misfit`) into the stack."""
        checkpoints.restore_stack(saved, self.path, self.engine.stack, self.engine.optimizer,
                                  self.orders.generators)
        self.engine.scale = saved.scale


def _train(prepared: Sequence[Prepared], engine: StackEngine, orders: Orders,
           trackers: list[Tracker | None], keeper: _Keeper | None,
           saved: checkpoints.StackState | None, resume: str) -> list[RunResult | None]:
    first = prepared[0]
    config = first.config
    held_out = first.held_out
    names = first.data.monitored
    probe_x, probe_y = first.probe
    diagnosed: list[dict[str, float]] = []  # every model's diagnostics, this logged epoch
    device = first.train.x.device
    alive = torch.ones(engine.k, dtype=torch.bool, device=device)
    # (why, epochs finished) of each model that stopped early; None while it trains
    stopped: list[tuple[str, int] | None] = [None] * engine.k
    start_epoch, cursor, earlier = 0, None, 0.0
    if saved is not None:
        alive = torch.tensor(saved.alive, dtype=torch.bool, device=device)
        stopped = [None if s is None else (str(s["reason"]), int(s["epochs"]))
                   for s in saved.stopped]
        start_epoch, cursor, earlier = saved.epoch, saved.cursor, saved.seconds
    every = config.train.checkpoint_every if keeper is not None else None
    every_seconds = config.train.checkpoint_seconds if keeper is not None else None
    due = [time.monotonic() + every_seconds] if every_seconds is not None else []
    epoch_due = [False]  # train.checkpoint_every: a checkpoint after this epoch

    def evaluate() -> list[dict[str, float]]:
        loss, accuracy = engine.measure(held_out)
        # one stacked pass measures every model (the weights are those on_epoch sees)
        diagnosed[:] = engine.stack.diagnose(probe_x, probe_y, engine.loss)
        return [{names[0]: loss[i], names[1]: accuracy[i]} for i in range(engine.k)]

    def on_epoch(i: int, epoch: int, train_loss: float, row: dict[str, float] | None) -> None:
        tracker = trackers[i]
        if tracker is not None:
            tracker.log(epoch, train_loss, row, diagnosed[i] if row is not None else None)
        if every is not None and epoch % every == 0 and epoch < config.train.epochs:
            epoch_due[0] = True

    def pause() -> bool:
        """Stop the loop where it is: asked to (Ctrl-C), or a checkpoint is due."""
        return stop() or epoch_due[0] or bool(due and time.monotonic() >= due[0])

    def save(epoch: int, at: Cursor | None) -> None:
        assert keeper is not None  # only called where the stack has a checkpoint file
        keeper.save(epoch, at, alive, stopped, earlier + time.perf_counter() - start)
        epoch_due[0] = False
        if due:
            due[0] = time.monotonic() + (every_seconds or 0.0)

    start = time.perf_counter()
    crash: BaseException | None = None
    results: list[FitResult] = [FitResult("completed", start_epoch) for _ in range(engine.k)]
    done: list[RunResult | None] = []
    with checkpoints.StopRequests() as stop:
        try:
            while True:
                results = run_fit(engine, first.train.x, first.train.y,
                                  epochs=config.train.epochs,
                                  batch_size=config.train.batch_size, orders=orders,
                                  evaluate=evaluate, log_every=config.train.log_every,
                                  on_epoch=on_epoch, start_epoch=start_epoch, stop=pause,
                                  cursor=cursor, alive=alive)
                living = alive.tolist()
                for i, result in enumerate(results):
                    if not living[i] and stopped[i] is None:
                        stopped[i] = (result.reason, result.epochs)
                going = [results[i] for i in range(engine.k) if living[i]]
                if not going or going[0].status != "interrupted" or stop():
                    break
                # a checkpoint was due: save it, then go on exactly where the loop stopped
                # (as a resume would: the same cursor, the same generators)
                start_epoch, cursor = going[0].epochs, going[0].cursor
                save(start_epoch, cursor)
        except (KeyboardInterrupt, Exception) as err:  # a second Ctrl-C, or any crash
            crash = err
        seconds = earlier + time.perf_counter() - start
        # from here on a Ctrl-C only leaves out the figures not drawn yet
        with stop.held():
            going = [results[i] for i in range(engine.k) if stopped[i] is None]
            paused = crash is None and bool(going) and going[0].status == "interrupted"
            if paused and keeper is not None:  # graceful: checkpoint it
                save(going[0].epochs, going[0].cursor)
            kept = keeper is not None and keeper.path.exists()
            for i, tracker in enumerate(trackers):
                if tracker is None:
                    done.append(None)
                    continue
                status, reason, epochs = _outcome(results[i], stopped[i], crash, tracker)
                if status == "interrupted":  # (twice: from the checkpoint written last)
                    reason += f"; {resume} " + (("continues it from its last checkpoint"
                                                 if crash else "continues it from its "
                                                 "checkpoint") if kept else "trains it again")
                tracker.summary["stack_seconds"] = round(seconds, 3)
                # the stack's time is shared: each model is given its share of it
                try:
                    done.append(tracker.finish(status, reason, int(epochs),
                                               seconds / engine.k, stop=stop))
                except Exception as err:  # this model's folder (a full disk): its own
                    # failure, with its own file named; the other models still write theirs
                    why = f"{type(err).__name__}: {err}".splitlines()[0]
                    done.append(RunResult(tracker.folder, "failed", {}, seconds / engine.k,
                                          int(epochs), why))
            if keeper is not None and crash is None and not paused:  # the stack has ended
                keeper.path.unlink(missing_ok=True)
    if crash is not None:
        raise crash
    return done


def _outcome(result: FitResult, stopped: tuple[str, int] | None, crash: BaseException | None,
             tracker: Tracker) -> tuple[str, str, int]:
    """How one model of the stack ended: (status, reason, epochs finished)."""
    if stopped is not None:
        return "diverged", stopped[0], stopped[1]
    if crash is not None:
        status = "interrupted" if isinstance(crash, KeyboardInterrupt) else "failed"
        # the whole stack stopped: its models share the reason (which may name another
        # model's file, so it says it is the stack's)
        reason = "interrupted twice" if status == "interrupted" else \
            f"the stack failed: {type(crash).__name__}: {crash}"
        return status, reason, int(tracker.history[-1]["epoch"]) if tracker.history else 0
    return result.status, result.reason, result.epochs
