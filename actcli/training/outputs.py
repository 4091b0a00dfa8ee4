"""What a run leaves in its folder besides ``summary.json`` and ``checkpoint.pt``.

``metrics.csv`` and ``learning_curves.png``, ``diagnostics.csv``, ``fit.gif`` or
``decision.gif`` (with ``--animate``); then, unless the run failed: ``model.pt``, the
task's pictures (``fit.png`` for a 1-D task; ``decision.png`` and ``units.png`` for a 2-D
one; ``confusion_matrix.png`` and ``misclassified.png`` for classes) and ``weights.png``
(per-layer weight histograms at the start and the end).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from torch import Tensor, nn

from actcli import folders
from actcli.config import Config
from actcli.tasks.base import ClassesPicture, FitPicture, PlanePicture, TaskData


@dataclass
class Record:
    """What a run records on the way for its folder."""

    history: list[dict[str, float]] = field(default_factory=list)  # metrics.csv rows
    diagnosed: list[dict[str, float]] = field(default_factory=list)  # diagnostics.csv rows
    frames: list[tuple[int, float, Any]] = field(default_factory=list)  # fit.gif frames
    # a 1-D or 2-D task's picture of the untrained net (fit.png, fit.gif, decision.gif)
    picture_before: FitPicture | PlanePicture | None = None
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
    if not figures and not record.frames:
        return []  # (a compare's cell): nothing to draw, matplotlib never imported
    from actcli import plots  # matplotlib: only when a figure is drawn

    jobs: list[tuple[str, Callable[[], object]]] = []
    if record.history and figures:
        jobs.append(("learning_curves.png", lambda: folders.save_figure(
            plots.learning_curves(record.history, config.name or "",
                                  diverged_at=diverged_at),
            folder / "learning_curves.png")))
    before = record.picture_before
    if record.frames and isinstance(before, PlanePicture):
        plane = before

        def decision_gif() -> None:
            def progress(done: int, total: int) -> None:
                stopping = stop is not None and stop()
                if drawing is not None:
                    drawing("decision.gif", total if stopping else done, total)
                if stopping:
                    raise Skipped
            folders.write_bytes(folder / "decision.gif", plots.decision_animation(
                plots.PlaneGrid(plane.xs, plane.ys), record.frames,
                plots.PlanePoints(plane.train_x, plane.train_y), regression=plane.regression,
                progress=progress))
        jobs.append(("decision.gif", decision_gif))
    elif record.frames and isinstance(before, FitPicture):
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
    from actcli import plots  # matplotlib: only when a figure is drawn

    before = record.picture_before
    jobs: list[tuple[str, Callable[[], object]]] = []
    if task.picture_type is PlanePicture:
        jobs += _plane_pictures(folder, config, task, data, net, predict, metrics, status)
    elif task.picture_type is FitPicture and isinstance(before, FitPicture):
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
    elif task.picture_type is ClassesPicture and not data.regression:
        classes = _once(task, config, data, predict, ClassesPicture)

        def confusion() -> None:
            after = classes()
            folders.save_figure(plots.confusion_matrix(after.confusion, after.classes),
                             folder / "confusion_matrix.png")

        def misclassified() -> None:
            after = classes()
            if after.wrong_images is None or after.wrong_true is None \
                    or after.wrong_pred is None:
                return  # a table's samples are no images
            names = after.classes
            titles = [f"true {names[t]}\npred {names[p]}"
                      for t, p in zip(after.wrong_true, after.wrong_pred, strict=True)]
            folders.save_figure(plots.image_grid(after.wrong_images, titles,
                                              "misclassified test images"),
                             folder / "misclassified.png")
        jobs.append(("confusion_matrix.png", confusion))
        if getattr(task, "input_shape", None) == (1, 28, 28):
            jobs.append(("misclassified.png", misclassified))
    weights_before = record.weights_before
    if weights_before is not None:
        jobs.append(("weights.png", lambda: folders.save_figure(
            plots.weight_histograms(weights_before, weights(net)), folder / "weights.png")))
    return jobs


def _plane_pictures(folder: Path, config: Config, task: Any, data: TaskData, net: nn.Module,
                    predict: Callable[[Tensor], Tensor], metrics: dict[str, Any],
                    status: str) -> list[tuple[str, Callable[[], object]]]:
    """decision.png (the output over the plane, train and test points) and units.png (each
    hidden unit's output over the plane; none for a network without hidden layers)."""
    from actcli import plots  # matplotlib: only when a figure is drawn
    from actcli.engine.model import hidden_outputs
    from actcli.tasks.base import final_names

    picture = _once(task, config, data, predict, PlanePicture)

    def decision() -> None:
        after = picture()
        loss_name, score_name = final_names(task, config.task)
        score = metrics.get(score_name)
        shown = f", {score_name} {score:.3f}" if isinstance(score, float) else ""
        state = "" if status == "completed" else f" ({status})"
        folders.save_figure(plots.decision_map(
            plots.PlaneGrid(after.xs, after.ys), after.values,
            plots.PlanePoints(after.train_x, after.train_y),
            plots.PlanePoints(after.test_x, after.test_y) if len(after.test_x) else None,
            regression=after.regression,
            title=f"{config.name}{state}: {', '.join(getattr(config.task, 'features', ()))} -> "
                  f"{list(config.model.hidden)}{shown}",
            value_label="predicted value" if after.regression else "P(class 1)"),
            folder / "decision.png")

    def units() -> None:
        after = picture()
        side = len(after.xs)
        layers = [h.double().numpy().T.reshape(-1, side, side)
                  for h in hidden_outputs(net, after.inputs)]  # type: ignore[arg-type]
        folders.save_figure(plots.unit_maps(plots.PlaneGrid(after.xs, after.ys), layers),
                            folder / "units.png")

    jobs: list[tuple[str, Callable[[], object]]] = [("decision.png", decision)]
    if config.model.hidden:
        jobs.append(("units.png", units))
    return jobs


P = TypeVar("P", ClassesPicture, PlanePicture)


def _once(task: Any, config: Config, data: TaskData, predict: Callable[[Tensor], Tensor],
          kind: type[P]) -> Callable[[], P]:
    """The task's picture, computed at the first call only (several figures read it)."""
    @functools.cache
    def picture() -> P:
        after = task.picture(config.task, data, predict)
        assert isinstance(after, kind)  # the task's picture_type says so
        return after

    return picture
