"""What one run records while it trains and writes when it stops.

A run alone has one :class:`Tracker`; a stack one per model. It keeps the history, the
diagnostics, the best model, fit.gif's frames and TensorBoard's log, and writes the run
folder for how the run ended (:meth:`Tracker.finish`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from actcli import config as config_mod
from actcli import folders
from actcli.components import activations
from actcli.engine import checkpoints
from actcli.tasks.base import FitPicture, PlanePicture, final_names
from actcli.training import outputs, tboard
from actcli.training.parts import Prepared

CHECKPOINT = checkpoints.FILE


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


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def frame(picture: FitPicture | PlanePicture) -> Any:
    """What an animation keeps of an epoch's picture: the fit curve, or the map's values
    (float32: enough to draw, half a checkpoint's frames)."""
    values = picture.score if isinstance(picture, FitPicture) else picture.values
    return np.asarray(values, dtype=np.float32)


def frame_epochs(epochs: int, every: int | None) -> set[int]:
    """The epochs --animate ``every`` takes a frame at: of epoch 1 and every ``every``-th,
    those the GIF shows (plots.frame_indices: at most its MAX_FRAMES, evenly spaced), so a
    long run neither computes nor keeps (in memory and in each checkpoint) the others."""
    if every is None:
        return set()
    from actcli.plots.animation import frame_indices  # (an animated run draws anyway)

    wanted = [e for e in range(1, epochs + 1) if e == 1 or e % every == 0]
    return {wanted[i] for i in frame_indices(len(wanted))}


class Tracker:
    """What one run records while it trains and writes when it stops: history, diagnostics,
    best model, fit.gif frames, TensorBoard. A run alone has one; a stack one per model."""

    def __init__(self, p: Prepared, folder: Path, summary: dict[str, Any], *,
                 figures: bool = True, animate_every: int | None = None,
                 progress: checkpoints.Progress | None = None) -> None:
        self.p, self.folder, self.summary = p, folder, summary
        self.figures, self.animate_every = figures, animate_every
        task, parts = p.task, p.parts
        # built before a checkpoint is loaded: the untrained network is the same on a
        # resume (it is rebuilt from the same seed)
        before = task.picture(p.config.task, p.data, parts.predict) \
            if task.picture_type in (FitPicture, PlanePicture) and (figures or animate_every) \
            else None
        weights_before = outputs.weights(parts.net) if figures else None
        self.history: list[dict[str, float]] = progress.history if progress else []
        # diagnostics.csv: one row per diagnosed epoch (engine.loop.diagnosed)
        self.diagnosed: list[dict[str, float]] = progress.diagnostics if progress else []
        self.best: dict[str, Any] = progress.best if progress else \
            {"accuracy": -math.inf, "epoch": 0, "state": None}  # (an R² has no floor)
        self.record = outputs.Record(self.history, self.diagnosed,
                                     list(progress.frames) if progress else [],
                                     picture_before=before, weights_before=weights_before)
        # what a learned activation starts from (the network as its seed built it)
        self.learned_start = activations.learned(parts.net)
        self.board = tboard.Board(folder) if p.config.log.tensorboard else None
        self.frame_epochs = frame_epochs(p.config.train.epochs, animate_every)

    def progress_record(self) -> dict[str, Any]:
        """What a checkpoint keeps of this run's progress (checkpoints.Checkpoint.records):
        its history, best and diagnostics, and an animated run's frames so far."""
        record: dict[str, Any] = {"history": self.history, "best": self.best,
                                  "diagnostics": self.diagnosed}
        if self.animate_every is not None:
            record["frames"] = [(epoch, loss, torch.as_tensor(picture))
                                for epoch, loss, picture in self.record.frames]
        return record

    def log(self, epoch: int, train_loss: float, row: dict[str, float] | None,
            diagnosis: dict[str, float] | None) -> None:
        """After epoch ``epoch``: ``row`` is its metrics.csv row and ``diagnosis`` its
        diagnostics on a logged epoch (else both None)."""
        p = self.p
        if row is not None:
            self.history.append(row)
            if self.board is not None:
                self.board.log(row)
            if diagnosis is not None:  # (on the epochs engine.loop.diagnosed picks)
                self.diagnosed.append({"epoch": epoch, **diagnosis})
            watched = row.get(p.data.monitored[1], math.nan)
            if p.val is not None and watched > self.best["accuracy"]:
                self.best.update(accuracy=watched, epoch=epoch,
                                 state={k: v.detach().clone() for k, v in
                                        p.parts.net.state_dict().items()})
        if epoch in self.frame_epochs:
            self.record.frames.append((epoch, train_loss, frame(p.task.picture(
                p.config.task, p.data, p.parts.predict))))

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
        loss_name, accuracy_name = final_names(task, config.task)
        metrics: dict[str, Any] = {}
        if status == "completed":
            if best["state"] is not None:
                parts.net.load_state_dict(best["state"])
                metrics.update({"best_epoch": best["epoch"],
                                p.data.monitored[1]: best["accuracy"]})
            loss, accuracy = parts.measure(p.test)
            metrics = {loss_name: loss, accuracy_name: accuracy, **metrics,
                       **task.extras(config.task, p.data, parts.predict)}
        elif self.history:  # the last finite figures logged before it stopped
            metrics = {k: v for k, v in self.history[-1].items() if k != "epoch"}
            metrics["last_logged_epoch"] = self.history[-1]["epoch"]
        self.summary.update(status=status, epochs=epochs, seconds=round(seconds, 3),
                            metrics={k: _finite_or_none(v) for k, v in metrics.items()})
        if reason:
            self.summary["reason"] = reason
        learned = activations.learned(parts.net)  # (the best state, when it is loaded)
        if learned:
            self.summary["learned_activations"] = {"start": self.learned_start, "end": learned}
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
