"""What a run leaves in its folder besides ``summary.json`` and ``checkpoint.pt``.

``metrics.csv`` and ``learning_curves.png``, ``diagnostics.csv``, ``fit.gif`` (with
``--animate``); then, unless the run failed: ``model.pt``, the task's pictures (``fit.png``
for a 1-D task, ``confusion_matrix.png`` and ``misclassified.png`` for classes) and
``weights.png`` (per-layer weight histograms at the start and the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from actcli import folders, plots
from actcli.config import Config
from actcli.tasks.base import ClassesPicture, FitPicture, TaskData


@dataclass
class Record:
    """What a run records on the way for its folder."""

    history: list[dict[str, float]] = field(default_factory=list)  # metrics.csv rows
    diagnosed: list[dict[str, float]] = field(default_factory=list)  # diagnostics.csv rows
    frames: list[tuple[int, float, Any]] = field(default_factory=list)  # fit.gif frames
    picture_before: FitPicture | None = None  # a 1-D task's picture of the untrained net
    weights_before: dict[str, np.ndarray] | None = None  # None on a resume: no weights.png


def weights(net: nn.Module) -> dict[str, np.ndarray]:
    """Each weight matrix (not biases) as a flat numpy array, by parameter name."""
    return {name: p.detach().cpu().flatten().numpy().copy()
            for name, p in net.named_parameters() if name.endswith("weight") and p.dim() > 1}


Drawing = Callable[[str, int, int], None]  # file name, frames done, frames in all


class Skipped(Exception):
    """A figure left out because the run was asked to stop while it was drawn."""


def write_data(folder: Path, net: nn.Module, record: Record, status: str) -> None:
    """What a run cannot be without: metrics.csv, diagnostics.csv and (unless the run
    failed) model.pt. Written before any figure, so an interrupted wrap-up keeps them."""
    if record.history:
        folders.write_csv(folder / "metrics.csv", record.history)
    if record.diagnosed:
        folders.write_csv(folder / "diagnostics.csv", record.diagnosed)
    if status != "failed":
        # a copy of each tensor: a stacked model's are views of the whole stack's storage
        folders.save_state({k: v.detach().to("cpu", copy=True)
                         for k, v in net.state_dict().items()},
                        folder / "model.pt")


def draw(folder: Path, config: Config, task: Any, data: TaskData,
         net: nn.Module, predict: Callable[[Tensor], Tensor], record: Record,
         metrics: dict[str, Any], status: str, figures: bool = True,
         stop: Callable[[], bool] | None = None, drawing: Drawing | None = None,
         diverged_at: int | None = None) -> list[str]:
    """The run's pictures: the PNGs only with ``figures`` (fit.gif is asked for on its
    own, and says how far it got through ``drawing``). Once ``stop()`` is true the figures
    not drawn yet are left out; returns their file names. ``diverged_at``: the epoch a
    diverged run stopped at, marked on the learning curves."""
    jobs: list[tuple[str, Callable[[], object]]] = []
    if record.history and figures:
        jobs.append(("learning_curves.png", lambda: folders.save_figure(
            plots.learning_curves(record.history, config.name or "",
                                  diverged_at=diverged_at),
            folder / "learning_curves.png")))
    before = record.picture_before
    if record.frames and before is not None:
        def gif() -> None:
            def progress(done: int, total: int) -> None:
                stopping = stop is not None and stop()
                if drawing is not None:  # a stop closes the bar as a finish does
                    drawing("fit.gif", total if stopping else done, total)
                if stopping:
                    raise Skipped
            folders.write_bytes(folder / "fit.gif", plots.fit_animation(
                before.x, record.frames, before.data_x, before.data_y, before.x_label,
                config.name or "", progress=progress))
        jobs.append(("fit.gif", gif))
    if status != "failed" and figures:
        jobs += _pictures(folder, config, task, data, net, predict, record, metrics, status)
    skipped: list[str] = []
    for name, job in jobs:
        if skipped or (stop is not None and stop()):
            skipped.append(name)
            continue
        try:
            job()
        except Skipped:
            skipped.append(name)
    return skipped


def _pictures(folder: Path, config: Config, task: Any, data: TaskData, net: nn.Module,
              predict: Callable[[Tensor], Tensor], record: Record, metrics: dict[str, Any],
              status: str) -> list[tuple[str, Callable[[], object]]]:
    """The task's own pictures and weights.png, each as (file name, how to draw it)."""
    before = record.picture_before
    jobs: list[tuple[str, Callable[[], object]]] = []
    if task.picture_type is FitPicture and before is not None:
        def fit() -> None:
            after = task.picture(config.task, data, predict)
            assert isinstance(after, FitPicture)  # the task's picture_type says so
            label = "after training" if status == "completed" else \
                f"after training ({status})"
            folders.save_figure(plots.fit_curve(
                after.data_x, after.data_y,
                plots.Curve("before training", before.x, before.score),
                plots.Curve(label, after.x, after.score),
                metrics.get(task.extra_name), after.x_label,
                title=f"{config.name}: {config.model.output} output, {config.loss.name}, "
                      f"{config.optimizer.name} lr={config.optimizer.kwargs['lr']:g}",
            ), folder / "fit.png")
        jobs.append(("fit.png", fit))
    elif task.picture_type is ClassesPicture:
        found: list[ClassesPicture] = []

        def classes() -> ClassesPicture:
            if not found:
                after = task.picture(config.task, data, predict)
                assert isinstance(after, ClassesPicture)  # the task's picture_type says so
                found.append(after)
            return found[0]

        def confusion() -> None:
            after = classes()
            folders.save_figure(plots.confusion_matrix(after.confusion, after.classes),
                             folder / "confusion_matrix.png")

        def misclassified() -> None:
            after = classes()
            names = after.classes
            titles = [f"true {names[t]}\npred {names[p]}"
                      for t, p in zip(after.wrong_true, after.wrong_pred, strict=True)]
            folders.save_figure(plots.image_grid(after.wrong_images, titles,
                                              "misclassified test images"),
                             folder / "misclassified.png")
        jobs += [("confusion_matrix.png", confusion), ("misclassified.png", misclassified)]
    weights_before = record.weights_before
    if weights_before is not None:
        jobs.append(("weights.png", lambda: folders.save_figure(
            plots.weight_histograms(weights_before, weights(net)), folder / "weights.png")))
    return jobs
