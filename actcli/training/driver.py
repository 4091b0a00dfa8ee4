r"""The one driver: K prepared runs (K = 1 for a run alone) trained by their engine, each
into its own run folder.

:func:`run` is ``actcli train`` (a run alone: a stack of one for a plain MLP, autograd for a
CNN or batch norm), :func:`resume` is ``actcli train --resume``, :func:`run_stack` trains
the cells of a compare that share a stack. All three go through :func:`drive`: one loop over
K per-model :class:`actcli.training.tracker.Tracker`\ s, under
:class:`actcli.engine.checkpoints.StopRequests` (Ctrl-C, SIGTERM: stop after the current
step, checkpoint). Every ``train.checkpoint_seconds`` (and ``train.checkpoint_every``
epochs) the loop stops at a step, the checkpoint is written and the loop goes on from its
cursor, exactly as a resume would: no number changes. The wrap-up runs with signals held:
metrics.csv, diagnostics.csv, model.pt, summary.json, then the figures.

In a stack, each model is the run its config describes: built from its own seed, its own
batch order (models with one seed share a generator), its own dropout draws. Sums differ
from the run alone in the last bits only (batched against single matrix products). A
model that diverges stops with status ``diverged`` and its last finite figures; the rest
train on.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from actcli import config as config_mod
from actcli import devices, folders, locks, provenance
from actcli.config import Config, to_dict
from actcli.engine import checkpoints, loop
from actcli.engine import model as model_mod
from actcli.engine.dense import DenseEngine
from actcli.engine.loop import Cursor, Engine, FitResult, Orders, run_fit
from actcli.engine.model import per_layer
from actcli.errors import ActcliError
from actcli.tasks import TASKS
from actcli.tasks.base import FitPicture, PlanePicture
from actcli.training import tboard
from actcli.training.budget import check_memory
from actcli.training.parts import Prepared, engine_for, measured_on, orders, prepare
from actcli.training.tracker import CHECKPOINT, Reporter, RunResult, Tracker

RESUME = "actcli train --resume"


def run(config: Config, out: Path, *, reporter: Reporter | None = None,
        animate_every: int | None = None, folder: Path | None = None,
        command: str | None = None, figures: bool = True) -> RunResult:
    """Train ``config`` and write its run folder under ``out``; return what happened.

    ``animate_every`` (1-D and 2-D tasks): also save fit.gif (decision.gif) with a frame
    every that many epochs.
    ``folder``: use exactly this new folder instead of ``out/<stamp>-<name>`` (compare cells).
    ``command``: the command line the run came from (default: this process's).
    ``figures``: draw the run's PNGs (compare cells leave them out unless asked).
    """
    if config.log.tensorboard:
        tboard.require()
    p = prepare(config, progress=reporter.download if reporter else None)
    if animate_every is not None and p.task.picture_type not in (FitPicture, PlanePicture):
        raise ActcliError(f"--animate draws a fit curve or a decision map: task "
                          f"{config.task.name} has neither (it works for the 1-D and 2-D "
                          "tasks)")
    folder, summary, lock = start(p, out, folder, command, figures,
                                  animate_every=animate_every)
    with lock:
        engine, order = engine_for([p]), orders([p])
        tracker = Tracker(p, folder, summary, figures=figures, animate_every=animate_every)
        keeper = Keeper(folder / CHECKPOINT, [folder.name], [to_dict(config)], engine, order,
                        [tracker])
        (result,) = drive([p], engine, order, [tracker], keeper, None, alone=True,
                          reporter=reporter)
        assert result is not None  # a run alone is never a passenger
        return result


def start(prepared: Prepared, out: Path, folder: Path | None = None,
          command: str | None = None, figures: bool = True, stack: int = 1,
          animate_every: int | None = None) -> tuple[Path, dict[str, Any], locks.FolderLock]:
    """Make the run's folder (``folder`` exactly, else a new one under ``out``), take its
    lock (held until the caller releases it: the run is live while it is held), write its
    config.yaml and a summary.json that says "running"; return all three."""
    config = prepared.config
    if folder is None:
        folder = folders.create(out, config.name or prepared.task.name)
    else:
        folder.mkdir(parents=True)
    lock = locks.FolderLock(folder, "actcli train")
    lock.acquire()
    summary: dict[str, Any] = {
        "status": "running", "name": config.name, "task": config.task.name, "metrics": {},
        "epochs": 0, "seconds": 0.0, "device": str(prepared.parts.device),
        "precision": prepared.config.train.precision,
        "torch": torch.__version__, "seed": config.train.seed,
        "parameters": sum(p.numel() for p in prepared.parts.net.parameters()),
        "data": prepared.data.info, "measured_on": measured_on(prepared.data),
        "stack": stack, "figures": figures,
        **({"animate_every": animate_every} if animate_every is not None else {}),
        "provenance": provenance.collect(str(prepared.parts.device), torch.get_num_threads(),
                                         command=command),
    }
    try:
        folders.write_text(folder / "config.yaml", config_mod.dump(config))
        folders.write_json(folder / folders.SUMMARY, summary)
    except BaseException:
        lock.release()  # nobody will train here: the folder must not look busy
        raise
    return folder, summary, lock


def recorded_threads(run_dir: Path) -> int | None:
    """The torch threads a run recorded (its numbers depend on them), or None."""
    try:
        found = folders.read_summary(run_dir).get("provenance", {}).get("threads")
    except ActcliError:
        return None  # resume() itself says what is wrong with the folder
    return found if isinstance(found, int) and found >= 1 else None


def resume(run_dir: Path, *, reporter: Reporter | None = None) -> RunResult:
    """Continue an interrupted (or killed) run in its own folder from its checkpoint.
    Refused while another process works in the folder (its lock is held)."""
    summary = folders.read_summary(run_dir)
    with locks.FolderLock(run_dir, "actcli train --resume"):
        return _resume(run_dir, summary, reporter)


def _resume(run_dir: Path, summary: dict[str, Any], reporter: Reporter | None) -> RunResult:
    status = summary.get("status")
    if status == "completed":
        raise ActcliError(f"{run_dir}: the run has completed; nothing to resume")
    if not (run_dir / CHECKPOINT).exists() and run_dir.parent.name == "cells" \
            and (run_dir.parent.parent / "plan.json").exists():
        raise ActcliError(f"{run_dir}: a cell of a compare (its checkpoints are the "
                          f"compare's): actcli compare --resume {run_dir.parent.parent}")
    if not (run_dir / CHECKPOINT).exists():
        how = ("its process was killed before its first checkpoint (train.checkpoint_seconds "
               "sets how often one is written)" if status == "running"
               else f"status {status}")
        raise ActcliError(f"{run_dir}: no {CHECKPOINT} to resume from: {how}; train it again")
    config = config_mod.load(run_dir / "config.yaml")
    folders.check_agree(run_dir, summary, config.task.name, config.name)
    p = prepare(config, progress=reporter.download if reporter else None)
    saved = _read_alone(run_dir / CHECKPOINT, config, p)
    for stale in ("reason", "figures_skipped"):  # how the run stopped before: it goes on
        summary.pop(stale, None)
    engine, order = engine_for([p]), orders([p])
    # the tracker first, from the network as its seed built it: fit.png's "before
    # training" curve and weights.png are the untrained network's on a resume too
    tracker = Tracker(p, run_dir, summary, figures=bool(summary.get("figures", True)),
                      animate_every=summary.get("animate_every"), progress=saved.progress(0))
    keeper = Keeper(run_dir / CHECKPOINT, [run_dir.name], [to_dict(config)], engine, order,
                    [tracker])
    keeper.restore(saved, alone=True)
    (result,) = drive([p], engine, order, [tracker], keeper, saved, alone=True,
                      reporter=reporter)
    assert result is not None  # a run alone is never a passenger
    return result


def _read_alone(path: Path, config: Config, p: Prepared) -> checkpoints.Checkpoint:
    """A run alone's checkpoint (of this layout or an earlier one), checked against its
    config, or one line saying why it cannot continue."""
    saved = checkpoints.read(path, p.parts.device,
                             alone=(path.parent.name, to_dict(config), p.dense))
    if len(saved.names) != 1:
        raise ActcliError(f"{path}: the checkpoint of a stack of {len(saved.names)}, not of "
                          "a run alone; train the run again")
    epochs = config.train.epochs
    if not 0 <= saved.epoch <= epochs:
        raise ActcliError(
            f"{path}: it stopped at epoch {saved.epoch}, outside the config's 1..{epochs} "
            "(train.epochs): config.yaml was changed or the checkpoint is another run's; "
            "restore config.yaml, or train again")
    differ = checkpoints.first_difference(saved.configs[0], to_dict(config))
    if differ is not None:
        raise ActcliError(f"{path}: config.yaml is not the one the checkpoint was written "
                          f"with ({differ}); restore config.yaml, or train again")
    return saved


def stack_order(configs: Sequence[Config]) -> list[int]:
    """The order a stack holds ``configs`` in: models with the same activations side by
    side (each layer calls each activation once, on a slice), else as given."""
    return sorted(range(len(configs)), key=lambda i: str(per_layer(
        configs[i].model.activation, configs[i].model.hidden_layers)))


def misfit(saved: checkpoints.Checkpoint, configs: Sequence[Config], names: Sequence[str],
           passengers: Collection[int] = ()) -> str | None:
    """What keeps the checkpoint ``saved`` from continuing the stack of ``configs`` (model
    k in folder ``names[k]``; ``passengers`` as in :func:`run_stack`), or None when it
    fits."""
    order = stack_order(configs)
    problem = checkpoints.misfit(saved, [names[i] for i in order],
                                 [to_dict(configs[i]) for i in order],
                                 [i not in passengers for i in order])
    if problem is None:
        task = TASKS.get(configs[0].task.name).task
        input_shape, n_outputs = task.shape(configs[0].task)
        want = sum(model_mod.parameter_count(c.model, input_shape, n_outputs)
                   for c in configs)
        flat = saved.engine.get("flat")
        held = flat.numel() if isinstance(flat, Tensor) else 0
        if held != want:
            problem = f"it holds {held:,} parameters, not the stack's {want:,}"
    return problem


def run_stack(configs: Sequence[Config], run_folders: Sequence[Path], *,
              command: str | None = None, figures: bool = False,
              checkpoint: Path | None = None, passengers: Collection[int] = (),
              resume: str = "actcli compare --resume") -> list[RunResult | None]:
    """Train ``configs`` (plain MLPs that ``actcli.sweep.stacking.stack_key`` puts in one
    stack) as one stack, model k into ``run_folders[k]``; one result per config, in order.

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
    names = [run_folders[i].name for i in order]
    saved = None
    if checkpoint is not None and checkpoint.exists():
        saved = checkpoints.read(checkpoint, devices.resolve(configs[0].device))
        problem = misfit(saved, configs, [f.name for f in run_folders], passengers)
        if problem is not None:
            raise ActcliError(f"{checkpoint}: {problem}")
    check_memory(configs[order[0]], len(configs))
    prepared: list[Prepared] = []
    data = None
    for config in (configs[i] for i in order):
        p = prepare(config, data=data, alone=False)
        prepared.append(p)
        data = p.data
    if not all(p.dense for p in prepared):
        raise ValueError("only plain dense networks train in a stack")
    engine = engine_for(prepared)
    assert isinstance(engine, DenseEngine)  # plain dense networks, checked above
    order_of = orders(prepared)
    keeper = None if checkpoint is None else Keeper(
        checkpoint, names, [to_dict(configs[i]) for i in order], engine, order_of)
    flat = engine.stack.flat
    # the trackers see the untrained network (their "before" pictures, the learned
    # activations' start values) also when the stack continues from a checkpoint
    untrained = flat.clone() if saved is not None else None
    if keeper is not None and saved is not None:  # before any folder is touched
        keeper.restore(saved)
    trained = flat.clone() if untrained is not None else None
    if untrained is not None:  # the trackers are made from the untrained weights
        flat.copy_(untrained)
    trackers: list[Tracker | None] = []
    with contextlib.ExitStack() as held:  # every model's folder locked while it trains
        for position, (p, i) in enumerate(zip(prepared, order, strict=True)):
            if i in passengers:
                trackers.append(None)
                continue
            if saved is not None:
                _clear(run_folders[i])
            folder, summary, lock = start(p, run_folders[i].parent, run_folders[i],
                                          command, figures, stack=len(configs))
            held.enter_context(lock)
            trackers.append(Tracker(p, folder, summary, figures=figures,
                                    progress=saved.progress(position) if saved else None))
        if trained is not None:
            flat.copy_(trained)
        if keeper is not None:
            keeper.trackers = trackers
        results = drive(prepared, engine, order_of, trackers, keeper, saved, alone=False,
                        resume=resume)
    return [results[order.index(i)] for i in range(len(configs))]


def _clear(folder: Path) -> None:
    """Remove a model's earlier folder (its checkpoint holds all it recorded), unless a
    live process works in it."""
    if not folder.exists():
        return
    if locks.is_held(folder):
        raise locks.busy(folder)
    shutil.rmtree(folder)


class Keeper:
    """Writes the checkpoint of K models training together (a run alone: K = 1), and loads
    one into a freshly built engine."""

    def __init__(self, path: Path, names: list[str], configs: list[dict[str, Any]],
                 engine: Engine, order: Orders,
                 trackers: Sequence[Tracker | None] = ()) -> None:
        self.path, self.names, self.configs = path, names, configs
        self.engine, self.orders = engine, order
        self.trackers = trackers  # each model's, None for a passenger

    def save(self, epoch: int, cursor: Cursor | None, alive: Tensor,
             stopped: Sequence[tuple[str, int] | None], seconds: float) -> None:
        """The checkpoint as of now, and each model's metrics.csv so far."""
        state = checkpoints.Checkpoint(
            self.names, self.configs, epoch, cursor, self.engine.state(),
            [g.get_state() for g in self.orders.generators], alive.tolist(),
            [None if s is None else {"reason": s[0], "epochs": s[1]} for s in stopped],
            [None if t is None else t.progress_record() for t in self.trackers],
            seconds)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folders.save_state(state.state(), self.path)
        for tracker in self.trackers:
            if tracker is not None and tracker.history:
                folders.write_csv(tracker.folder / "metrics.csv", tracker.history)

    def restore(self, saved: checkpoints.Checkpoint, alone: bool = False) -> None:
        """Load ``saved`` (checked to be these models') into the engine and the batch
        orders; one ActcliError line when its tensors do not fit them."""
        try:
            self.engine.load(saved.engine, saved.alive)
            if len(saved.orders) != len(self.orders.generators):
                raise ValueError(f"{len(saved.orders)} batch orders, not "
                                 f"{len(self.orders.generators)}")
            for generator, state in zip(self.orders.generators, saved.orders, strict=True):
                generator.set_state(state)
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else \
                type(err).__name__
            if alone:
                raise ActcliError(
                    f"{CHECKPOINT}: its model or optimizer state does not fit the network "
                    f"this config builds (written by another actcli version?): {first}; "
                    "start the run again") from None
            raise ActcliError(f"{self.path}: does not fit the stack its configs build "
                              f"({first}); delete it to train the stack from zero") from None


def drive(prepared: Sequence[Prepared], engine: Engine, order: Orders,
          trackers: list[Tracker | None], keeper: Keeper | None,
          saved: checkpoints.Checkpoint | None, *, alone: bool,
          reporter: Reporter | None = None, resume: str = RESUME) -> list[RunResult | None]:
    """Train ``prepared`` (in engine order) from ``saved`` (or from the start) to their
    end, checkpointing through ``keeper``; write each model's folder through its tracker.

    ``alone``: a run alone (``actcli train``): a crash is re-raised after its folder is
    written, and the folder's own failure to be written is the command's. Otherwise (a
    stack) each model's folder fails on its own, and a crash is the stack's, re-raised
    after every folder is written. ``reporter``: progress of model 0.
    """
    first = prepared[0]
    config = first.config
    held_out = first.held_out
    names = first.data.monitored
    probe_x, probe_y = first.probe
    k = engine.k
    diagnosed: list[dict[str, float]] = []  # every model's diagnostics, this logged epoch
    device = first.train.x.device
    alive = torch.ones(k, dtype=torch.bool, device=device)
    # (why, epochs finished) of each model that stopped early; None while it trains
    stopped: list[tuple[str, int] | None] = [None] * k
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

    probed = loop.diagnosed(config.train.epochs, config.train.log_every)
    finished = [start_epoch]  # the last epoch finished

    def evaluate() -> list[dict[str, float]]:
        loss, accuracy = engine.measure(held_out)
        # one pass measures every model (the weights are those on_epoch sees); on the
        # epochs loop.diagnosed picks
        diagnosed[:] = engine.diagnose(probe_x, probe_y) if finished[0] + 1 in probed \
            else []
        return [{names[0]: loss[i], names[1]: accuracy[i]} for i in range(k)]

    def on_epoch(i: int, epoch: int, train_loss: float, row: dict[str, float] | None) -> None:
        finished[0] = epoch
        tracker = trackers[i]
        if tracker is not None:
            tracker.log(epoch, train_loss, row,
                        diagnosed[i] if row is not None and diagnosed else None)
        if every is not None and epoch % every == 0 and epoch < config.train.epochs:
            epoch_due[0] = True
        if reporter is not None and i == 0:
            reporter.epoch(epoch, train_loss)

    def pause() -> bool:
        """Stop the loop where it is: asked to (Ctrl-C), or a checkpoint is due."""
        return stop() or epoch_due[0] or bool(due and time.monotonic() >= due[0])

    def save(epoch: int, at: Cursor | None) -> None:
        assert keeper is not None  # only called where there is a checkpoint file
        keeper.save(epoch, at, alive, stopped, earlier + time.perf_counter() - begin)
        epoch_due[0] = False
        if due:
            due[0] = time.monotonic() + (every_seconds or 0.0)

    if reporter is not None and trackers[0] is not None:
        reporter.start(trackers[0].folder, config.train.epochs)
    begin = time.perf_counter()
    crash: BaseException | None = None
    results: list[FitResult] = [FitResult("completed", start_epoch) for _ in range(k)]
    done: list[RunResult | None] = []
    with checkpoints.StopRequests() as stop:
        try:
            while True:
                results = run_fit(engine, first.train.x, first.train.y,
                                  epochs=config.train.epochs,
                                  batch_size=config.train.batch_size, orders=order,
                                  evaluate=evaluate, log_every=config.train.log_every,
                                  on_epoch=on_epoch, start_epoch=start_epoch, stop=pause,
                                  cursor=cursor, alive=alive, score=first.data.score)
                living = alive.tolist()
                for i, result in enumerate(results):
                    if not living[i] and stopped[i] is None:
                        stopped[i] = (result.reason, result.epochs)
                going = [results[i] for i in range(k) if living[i]]
                if not going or going[0].status != "interrupted" or stop():
                    break
                # a checkpoint was due: save it, then go on exactly where the loop stopped
                # (as a resume would: the same cursor, the same generators)
                start_epoch, cursor = going[0].epochs, going[0].cursor
                save(start_epoch, cursor)
        except (KeyboardInterrupt, Exception) as err:  # a second Ctrl-C, or any crash
            crash = err
        seconds = earlier + time.perf_counter() - begin
        # from here on a Ctrl-C only leaves out the figures not drawn yet
        with stop.held():
            if reporter is not None:
                reporter.finish()
            going = [results[i] for i in range(k) if stopped[i] is None]
            paused = crash is None and bool(going) and going[0].status == "interrupted"
            if paused and keeper is not None:  # graceful: checkpoint it
                save(going[0].epochs, going[0].cursor)
            kept = keeper is not None and keeper.path.exists()
            for i, tracker in enumerate(trackers):
                if tracker is None:
                    done.append(None)
                    continue
                status, reason, epochs = _outcome(results[i], stopped[i], crash, tracker,
                                                  alone)
                if alone:
                    if status == "interrupted" and crash is None:
                        reason += f"; resume with: {resume} {tracker.folder}"
                    done.append(tracker.finish(status, reason, epochs, seconds, crash, stop,
                                               reporter.drawing if reporter else None))
                    continue
                if status == "interrupted":  # (twice: from the checkpoint written last)
                    reason += f"; {resume} " + (("continues it from its last checkpoint"
                                                 if crash else "continues it from its "
                                                 "checkpoint") if kept else "trains it again")
                tracker.summary["stack_seconds"] = round(seconds, 3)
                # the stack's time is shared: each model is given its share of it
                try:
                    done.append(tracker.finish(status, reason, epochs, seconds / k, stop=stop))
                except Exception as err:  # this model's folder (a full disk): its own
                    # failure, with its own file named; the other models still write theirs
                    why = f"{type(err).__name__}: {err}".splitlines()[0]
                    done.append(RunResult(tracker.folder, "failed", {}, seconds / k,
                                          epochs, why))
            if keeper is not None and crash is None and not paused:  # the models have ended
                keeper.path.unlink(missing_ok=True)
    if crash is not None:
        raise crash
    return done


def _outcome(result: FitResult, stopped: tuple[str, int] | None, crash: BaseException | None,
             tracker: Tracker, alone: bool) -> tuple[str, str, int]:
    """How one model ended: (status, reason, epochs finished)."""
    if stopped is not None:
        return "diverged", stopped[0], stopped[1]
    if crash is not None:
        interrupted = isinstance(crash, KeyboardInterrupt)
        epochs = int(tracker.history[-1]["epoch"]) if tracker.history else 0
        if alone:
            return ("interrupted", "interrupted twice: stopped without a checkpoint", epochs) \
                if interrupted else ("failed", f"{type(crash).__name__}: {crash}", epochs)
        # the whole stack stopped: its models share the reason (which may name another
        # model's file, so it says it is the stack's)
        return ("interrupted", "interrupted twice", epochs) if interrupted else \
            ("failed", f"the stack failed: {type(crash).__name__}: {crash}", epochs)
    return result.status, result.reason, result.epochs
