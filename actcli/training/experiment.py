"""One run end to end: task + model + components -> training -> run folder.

Everything that can be wrong with the input (device, data, sizes) is checked before the
run folder exists, so bad input never leaves a folder behind. From then on the folder
always holds a ``summary.json`` whose status says how far the run got.

When the task has a validation split, the model with the best validation accuracy is
kept (``model.pt``) and the final test metrics are measured on it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from actcli import config as config_mod
from actcli import devices, folders, locks, provenance
from actcli.components import losses, optimizers
from actcli.config import Config
from actcli.engine import checkpoints, diagnostics
from actcli.engine import model as model_mod
from actcli.engine.autograd import Step, step_for
from actcli.engine.loop import Cursor, fit
from actcli.errors import ActcliError, quote
from actcli.tasks import TASKS
from actcli.tasks.base import FitPicture, Split, TaskData
from actcli.training import outputs, tboard

CHECKPOINT = checkpoints.FILE
EVAL_BATCH = 8192  # samples per forward pass when measuring (no gradients: memory is small)


class Reporter(Protocol):
    """Progress of a run, for a progress bar or a log."""

    def start(self, run: Path, epochs: int) -> None: ...

    def epoch(self, epoch: int, train_loss: float) -> None: ...

    def finish(self) -> None: ...

    def download(self, name: str, done: int, total: int) -> None: ...

    def drawing(self, name: str, done: int, total: int) -> None:
        """Progress of a long figure after training (fit.gif's frames)."""


@dataclass
class RunResult:
    path: Path
    status: str
    metrics: dict[str, Any]
    seconds: float
    epochs: int
    reason: str = ""
    figures_skipped: list[str] = field(default_factory=list)  # left out on a Ctrl-C
    stopped: bool = False  # a stop was asked for while the folder was written


@dataclass
class Parts:
    """What a config builds for a task: the network and how it is trained and read."""

    net: model_mod.Network
    objective: Callable[[Tensor, Tensor], Tensor]
    score: Callable[[Tensor], Tensor]  # logits -> probabilities (or the raw output)
    correct: Callable[[Tensor, Tensor], Tensor]  # logits, targets -> number right
    device: torch.device

    def predict(self, x: Tensor) -> Tensor:
        """Scores for inputs ``x`` (any device), on the CPU, in eval mode."""
        self.net.eval()
        with torch.inference_mode():
            return self.score(self.net(x.to(self.device))).cpu()


def scorer(config: Config, net: model_mod.Network, n_outputs: int
           ) -> Callable[[Tensor], Tensor]:
    """Logits -> what the model predicts: probabilities (or the raw output)."""
    reads = losses.LOSSES.get(config.loss.name).reads
    if config.model.output == "identity" and reads != "output":
        # a logit loss with no output activation still predicts through its sigmoid/softmax
        return torch.sigmoid if n_outputs == 1 else (lambda z: torch.softmax(z, dim=-1))
    return net.output


def build_parts(config: Config, data: TaskData, device: torch.device,
                input_shape: tuple[int, ...]) -> Parts:
    """Seeded network, objective and readers for ``config`` on ``data``."""
    torch.manual_seed(config.train.seed)
    net = model_mod.build(config.model, input_shape, data.n_outputs).to(device)
    objective = losses.objective(config.loss, net.output, data.n_outputs)
    score = scorer(config, net, data.n_outputs)

    def correct(z: Tensor, y: Tensor) -> Tensor:  # called on every training batch
        if z.shape[1] == 1:
            return ((score(z) > 0.5).to(y.dtype) == y).sum()
        # every output activation keeps the order of the logits: no need to apply it
        return (z.argmax(dim=1) == y).sum()

    return Parts(net, objective, score, correct, device)


def measure(parts: Parts, split: Split) -> tuple[float, float]:
    """(loss, accuracy) of the network on ``split``, in large batches, no gradients."""
    parts.net.eval()
    loss = torch.zeros((), dtype=torch.float64)
    right = torch.zeros((), dtype=torch.float64)
    with torch.inference_mode():
        for start in range(0, len(split), EVAL_BATCH):
            x, y = split.x[start:start + EVAL_BATCH], split.y[start:start + EVAL_BATCH]
            z = parts.net(x)
            loss += parts.objective(z, y).double().cpu() * len(y)
            right += parts.correct(z, y).double().cpu()
    n = max(len(split), 1)
    return float(loss) / n, float(right) / n


def measured_on(data: TaskData) -> str:
    """What a run's final figures are measured on, in words."""
    return "the test split" if data.held_out else \
        "the training data (the task holds nothing out: task.test_fraction is 0)"


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Prepared:
    """Everything a run needs, built from its config before any folder exists."""

    config: Config
    task: Any
    data: TaskData
    parts: Parts
    # one optimisation step and the optimizer built over step.parameters(): a run alone's
    # (None in a run prepared to join a stack, which steps its own way)
    step: Step | None
    optimizer: torch.optim.Optimizer | None
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    generator: torch.Generator
    train: Split
    test: Split
    val: Split | None

    @property
    def held_out(self) -> Split:
        """What each logged epoch measures, on the device: validation, else test."""
        return self.val if self.val is not None else self.test

    @property
    def probe(self) -> tuple[Tensor, Tensor]:
        """The fixed batch diagnostics are measured on (the first training samples)."""
        return self.train.x[:diagnostics.PROBE], self.train.y[:diagnostics.PROBE]


def check_memory(config: Config, models: int = 1) -> None:
    """Refuse, before allocating, training that cannot fit in the device's memory (one
    line, exit 2): weights, gradients, optimizer state and the best-model copy, plus a
    batch's activations; ``models`` times, for a stack of that many. Reads no data."""
    task = TASKS.get(config.task.name).task
    device = devices.resolve(config.device)
    params = model_mod.parameter_count(config.model, task.input_shape, task.n_outputs)
    copies = 3 + optimizers.state_copies(config.optimizer)
    batch = config.train.batch_size or task.train_size(config.task)
    per_sample = 3 * (sum(config.model.hidden) + task.n_outputs)
    shape = task.input_shape
    for width in config.model.channels if config.model.kind == "cnn" else []:
        per_sample += 3 * width * shape[1] * shape[2]
        shape = (width, shape[1] // 2, shape[2] // 2)
    needed = 4 * (params * copies + batch * per_sample) * models  # float32
    stack = f"a stack of {models} (compare --no-fuse trains them one by one) of " \
        if models > 1 else ""
    devices.require_memory(device, needed, f"training {stack}this network ({params:,} "
                           f"parameters, {config.optimizer.name}, batch {batch:,})")


def prepare(config: Config, progress: Any = None, data: TaskData | None = None,
            alone: bool = True) -> Prepared:
    """Device, data, seeded network, optimizer: all input problems surface here.

    ``data``: the task's data when it is loaded already (runs of one stack share it).
    ``alone``: check the memory for this run and build its step and torch optimizer (a
    stack checks the memory for all its runs at once and has its own optimizer).
    Right after this, torch's global RNG is where the run's dropout draws start.
    """
    device = devices.resolve(config.device)
    task = TASKS.get(config.task.name).task
    if alone:
        check_memory(config)
    if data is None:
        data = task.load(config.task, progress=progress)
    parts = build_parts(config, data, device, task.input_shape)
    step, optimizer, scheduler = None, None, None
    if alone:
        # the dense step moves the network's parameters into one tensor: for training only
        step = step_for(parts.net, parts.objective, losses.logit_gradient(config.loss))
        optimizer = optimizers.build(config.optimizer, step.parameters())
    if optimizer is not None and config.train.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.train.epochs)
    return Prepared(config, task, data, parts, step, optimizer, scheduler,
                    torch.Generator().manual_seed(config.train.seed), data.train.to(device),
                    data.test.to(device), data.val.to(device) if data.val is not None else None)


def run(config: Config, out: Path, *, reporter: Reporter | None = None,
        animate_every: int | None = None, folder: Path | None = None,
        command: str | None = None, figures: bool = True) -> RunResult:
    """Train ``config`` and write its run folder under ``out``; return what happened.

    ``animate_every`` (1-D tasks): also save fit.gif with a frame every that many epochs.
    ``folder``: use exactly this new folder instead of ``out/<stamp>-<name>`` (compare cells).
    ``command``: the command line the run came from (default: this process's).
    ``figures``: draw the run's PNGs (compare cells leave them out unless asked).
    """
    if config.log.tensorboard:
        tboard.require()
    prepared = prepare(config, progress=reporter.download if reporter else None)
    if animate_every is not None and prepared.task.picture_type is not FitPicture:
        raise ActcliError(f"--animate draws a fit curve: task {config.task.name} has none "
                          "(it works for rice_cooker and beans)")
    folder, summary, lock = start(prepared, out, folder, command, figures)
    with lock:
        return _train(prepared, folder, summary, reporter, animate_every=animate_every,
                      figures=figures)


def start(prepared: Prepared, out: Path, folder: Path | None = None,
          command: str | None = None, figures: bool = True, stack: int = 1
          ) -> tuple[Path, dict[str, Any], locks.FolderLock]:
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
        "torch": torch.__version__, "seed": config.train.seed,
        "parameters": sum(p.numel() for p in prepared.parts.net.parameters()),
        "data": prepared.data.info, "measured_on": measured_on(prepared.data),
        "stack": stack, "figures": figures,
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
    prepared = prepare(config, progress=reporter.download if reporter else None)
    checkpoint = folders.load_state(run_dir / CHECKPOINT, prepared.parts.device)
    summary.pop("reason", None)
    return _train(prepared, run_dir, summary, reporter, checkpoint,
                  figures=bool(summary.get("figures", True)))


class Tracker:
    """What one run records while it trains and writes when it stops: history, diagnostics,
    best model, fit.gif frames, TensorBoard. A run alone has one; a stack one per model."""

    def __init__(self, p: Prepared, folder: Path, summary: dict[str, Any], *,
                 figures: bool = True, animate_every: int | None = None,
                 progress: checkpoints.Progress | None = None) -> None:
        self.p, self.folder, self.summary = p, folder, summary
        self.figures, self.animate_every = figures, animate_every
        task, parts = p.task, p.parts
        # the untrained network is the same on a resume: it is rebuilt from the same seed
        before = task.picture(p.config.task, p.data, parts.predict) \
            if task.picture_type is FitPicture and (figures or animate_every) else None
        weights_before = outputs.weights(parts.net) if progress is None and figures else None
        self.history: list[dict[str, float]] = progress.history if progress else []
        # diagnostics.csv: one row per logged epoch
        self.diagnosed: list[dict[str, float]] = progress.diagnostics if progress else []
        self.best: dict[str, Any] = progress.best if progress else \
            {"accuracy": -1.0, "epoch": 0, "state": None}
        self.record = outputs.Record(self.history, self.diagnosed, picture_before=before,
                                     weights_before=weights_before)
        self.board = tboard.Board(folder) if p.config.log.tensorboard else None

    def continue_from(self, progress: checkpoints.Progress) -> None:
        """Take up what a checkpoint recorded (a resume): history, diagnostics, best."""
        self.history[:] = progress.history
        self.diagnosed[:] = progress.diagnostics
        self.best = progress.best

    def monitor(self) -> dict[str, float]:
        """The held-out figures logged with an epoch: validation split if any, else test."""
        p = self.p
        loss_name, accuracy_name = p.data.monitored
        loss, accuracy = measure(p.parts, p.held_out)
        return {loss_name: loss, accuracy_name: accuracy}

    def probe(self) -> tuple[Tensor, Tensor]:
        """The fixed batch diagnostics are measured on."""
        return self.p.probe

    def diagnose(self) -> dict[str, float]:
        parts = self.p.parts
        return diagnostics.measure(parts.net, parts.objective, *self.probe())

    def log(self, epoch: int, train_loss: float, row: dict[str, float] | None,
            diagnosis: dict[str, float] | None = None) -> None:
        """After epoch ``epoch``: ``row`` is its metrics.csv row on a logged epoch (else
        None), ``diagnosis`` its diagnostics (measured here when not given)."""
        p = self.p
        if row is not None:
            self.history.append(row)
            if self.board is not None:
                self.board.log(row)
            found = self.diagnose() if diagnosis is None else diagnosis
            self.diagnosed.append({"epoch": epoch, **found})
            if p.val is not None and row["val_accuracy"] > self.best["accuracy"]:
                self.best.update(accuracy=row["val_accuracy"], epoch=epoch,
                                 state={k: v.detach().clone() for k, v in
                                        p.parts.net.state_dict().items()})
        every = self.animate_every
        if every is not None and (epoch % every == 0 or epoch == 1):
            self.record.frames.append((epoch, train_loss, p.task.picture(
                p.config.task, p.data, p.parts.predict).score))

    def progress(self, epoch: int, cursor: Cursor | None, seconds: float
                 ) -> checkpoints.Progress:
        return checkpoints.Progress(epoch, cursor, self.history, self.best, self.diagnosed,
                                    seconds)

    def finish(self, status: str, reason: str, epochs: int, seconds: float,
               first_error: BaseException | None = None,
               stop: Callable[[], bool] | None = None,
               drawing: outputs.Drawing | None = None) -> RunResult:
        """Write the run folder for how the run ended; re-raise ``first_error`` (the crash
        that ended training) after recording it, even when writing the folder fails too.
        Once ``stop()`` is true, the figures not drawn yet are left out (and named in the
        result and in summary.json)."""
        skipped: list[str] = []
        try:
            skipped = self._write(status, reason, epochs, seconds, stop, drawing)
        except Exception as err:
            if first_error is None:
                raise
            # a crashed run's wrap-up failed too: record both, but report why it crashed
            self.summary.update(status="failed", reason=f"{reason} (then, writing the run "
                                f"folder: {type(err).__name__}: {err})")
            folders.write_json(self.folder / folders.SUMMARY, self.summary)
        if first_error is not None:
            raise first_error
        return RunResult(self.folder, status, self.summary["metrics"],
                         self.summary["seconds"], epochs, reason, skipped,
                         stop is not None and stop() and status != "interrupted")

    def _write(self, status: str, reason: str, epochs: int, seconds: float,
               stop: Callable[[], bool] | None = None,
               drawing: outputs.Drawing | None = None) -> list[str]:
        p, folder, best = self.p, self.folder, self.best
        config, task, parts = p.config, p.task, p.parts
        loss_name, accuracy_name = task.final_names
        metrics: dict[str, Any] = {}
        if status == "completed":
            if best["state"] is not None:
                parts.net.load_state_dict(best["state"])
                metrics.update(best_epoch=best["epoch"], val_accuracy=best["accuracy"])
            loss, accuracy = measure(parts, p.test)
            metrics = {loss_name: loss, accuracy_name: accuracy, **metrics,
                       **task.extras(config.task, p.data, parts.predict)}
        elif self.history:  # the last finite figures logged before it stopped
            metrics = {k: v for k, v in self.history[-1].items() if k != "epoch"}
            metrics["last_logged_epoch"] = self.history[-1]["epoch"]
        self.summary.update(status=status, epochs=epochs, seconds=round(seconds, 3),
                            metrics={k: _finite_or_none(v) for k, v in metrics.items()})
        if reason:
            self.summary["reason"] = reason
        # the data first, then the summary that says what they are, then the pictures:
        # a wrap-up cut short (Ctrl-C, kill) leaves a run that is complete or resumes
        outputs.write_data(folder, parts.net, self.record, status)
        folders.write_json(folder / folders.SUMMARY, self.summary)
        if status == "completed":
            (folder / CHECKPOINT).unlink(missing_ok=True)
        skipped = outputs.draw(folder, config, task, p.data, parts.net, parts.predict,
                               self.record, metrics, status, self.figures, stop, drawing,
                               # a diverged run stopped in the epoch after its last one
                               epochs + 1 if status == "diverged" else None)
        if skipped:
            self.summary["figures_skipped"] = skipped
            folders.write_json(folder / folders.SUMMARY, self.summary)
        if self.board is not None:
            self.board.finish(config_mod.to_dict(config), self.summary["metrics"], epochs,
                              sorted(folder.glob("*.png")))
        return skipped


def _train(p: Prepared, folder: Path, summary: dict[str, Any], reporter: Reporter | None,
           checkpoint: dict[str, Any] | None = None,
           animate_every: int | None = None, figures: bool = True) -> RunResult:
    config, parts, optimizer = p.config, p.parts, p.optimizer
    assert p.step is not None and optimizer is not None  # prepared to train alone
    start_epoch, cursor, earlier = 0, None, 0.0
    every = config.train.checkpoint_every
    every_seconds = config.train.checkpoint_seconds
    with checkpoints.StopRequests() as stop:
        # the tracker first, from the network as its seed built it: fit.png's "before
        # training" curve and weights.png are the untrained network's on a resume too
        tracker = Tracker(p, folder, summary, figures=figures, animate_every=animate_every)
        if checkpoint is not None:
            progress = _restore(p, folder, checkpoint)
            tracker.continue_from(progress)
            start_epoch, earlier, cursor = progress.epoch, progress.seconds, progress.cursor
        start = time.perf_counter()
        due = [time.monotonic() + every_seconds] if every_seconds is not None else []

        def save(epoch: int, at: Cursor | None) -> None:
            """checkpoint.pt (and metrics.csv) as of now: a killed run resumes from here."""
            folders.save_state(checkpoints.state(
                parts.net, optimizer, p.scheduler, p.generator,
                tracker.progress(epoch, at, earlier + time.perf_counter() - start)),
                folder / CHECKPOINT)
            folders.write_csv(folder / "metrics.csv", tracker.history)
            if due:
                due[0] = time.monotonic() + (every_seconds or 0.0)

        def on_epoch(epoch: int, train_loss: float, row: dict[str, float] | None) -> None:
            tracker.log(epoch, train_loss, row)
            if every is not None and epoch % every == 0 and epoch < config.train.epochs:
                save(epoch, None)
            if reporter is not None:
                reporter.epoch(epoch, train_loss)

        def pause() -> bool:
            """Stop the loop where it is: asked to (Ctrl-C), or a checkpoint is due."""
            return stop() or bool(due and time.monotonic() >= due[0])

        if reporter is not None:
            reporter.start(folder, config.train.epochs)
        status, reason, epochs, stopped_at = "failed", "", start_epoch, None
        first_error: BaseException | None = None  # why training stopped, if it crashed
        try:
            while True:
                result = fit(p.step, optimizer, p.train.x, p.train.y,
                             epochs=config.train.epochs, batch_size=config.train.batch_size,
                             generator=p.generator, evaluate=tracker.monitor,
                             log_every=config.train.log_every, on_epoch=on_epoch,
                             start_epoch=start_epoch, correct=parts.correct,
                             scheduler=p.scheduler, stop=pause, cursor=cursor)
                status, reason, epochs, stopped_at = (result.status, result.reason,
                                                      result.epochs, result.cursor)
                if status != "interrupted" or stop():
                    break
                # a checkpoint was due: save it, then go on exactly where the loop stopped
                # (as a resume would: the same cursor, the same generators)
                save(epochs, stopped_at)
                start_epoch, cursor = epochs, stopped_at
        except KeyboardInterrupt as err:  # a second Ctrl-C: no checkpoint of this step
            status, reason = "interrupted", "interrupted twice: stopped without a checkpoint"
            first_error = err
        except Exception as err:  # any crash: recorded as "failed", re-raised after wrap-up
            reason = f"{type(err).__name__}: {err}"
            first_error = err
        # from here on a Ctrl-C only leaves out the figures not drawn yet
        with stop.held():
            if reporter is not None:
                reporter.finish()
            seconds = earlier + time.perf_counter() - start
            if status == "interrupted" and first_error is None:  # graceful: checkpoint it
                folders.save_state(checkpoints.state(
                    parts.net, optimizer, p.scheduler, p.generator,
                    tracker.progress(epochs, stopped_at, seconds)), folder / CHECKPOINT)
                reason = f"{reason}; resume with: actcli train --resume {folder}"
            return tracker.finish(status, reason, epochs, seconds, first_error, stop,
                                  reporter.drawing if reporter is not None else None)


def _restore(p: Prepared, folder: Path, checkpoint: dict[str, Any]) -> checkpoints.Progress:
    """Load a run alone's checkpoint into its freshly built parts, or one line saying why
    it cannot be."""
    assert p.optimizer is not None  # prepared to train alone
    try:
        progress = checkpoints.restore(checkpoint, p.parts.net, p.optimizer, p.scheduler,
                                       p.generator, p.parts.device)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
        raise ActcliError(f"{folder / CHECKPOINT}: damaged ({type(err).__name__}: "
                          f"{quote(str(err), 80)}); train the run again") from None
    epochs = p.config.train.epochs
    if not 0 <= progress.epoch <= epochs:
        raise ActcliError(
            f"{folder / CHECKPOINT}: it stopped at epoch {progress.epoch}, outside the "
            f"config's 1..{epochs} (train.epochs): config.yaml was changed or the "
            "checkpoint is another run's; restore config.yaml, or train again")
    return progress


def evaluate_run(run_dir: Path) -> dict[str, Any]:
    """Re-load a run's config and model (weights only) and measure it on the test set again.

    Returns the metrics now and the ones the run recorded, under ``measured``/``recorded``,
    and what they were measured on (``measured_on``).
    """
    recorded = folders.read_summary(run_dir)
    state_path = run_dir / "model.pt"
    if not state_path.exists():
        raise ActcliError(f"{run_dir}: no model.pt (run status: "
                          f"{locks.status(run_dir, recorded.get('status'))})")
    config = config_mod.load(run_dir / "config.yaml")
    folders.check_agree(run_dir, recorded, config.task.name, config.name)
    p = prepare(config)
    folders.load_weights(p.parts.net, state_path, p.parts.device)
    loss, accuracy = measure(p.parts, p.test)
    loss_name, accuracy_name = p.task.final_names
    return {"measured": {loss_name: loss, accuracy_name: accuracy},
            "measured_on": measured_on(p.data),
            "recorded": {k: recorded["metrics"].get(k) for k in (loss_name, accuracy_name)}}
