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

from actcli import plots, runs
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


def write(folder: Path, config: Config, task: Any, data: TaskData,
          net: nn.Module, predict: Callable[[Tensor], Tensor], record: Record,
          metrics: dict[str, Any], status: str, figures: bool = True) -> None:
    """Every file above that the run's status and record call for; the PNGs only with
    ``figures`` (fit.gif is asked for on its own)."""
    if record.history:
        runs.write_csv(folder / "metrics.csv", record.history)
        if figures:
            runs.save_figure(plots.learning_curves(record.history, config.name or ""),
                             folder / "learning_curves.png")
    if record.diagnosed:
        runs.write_csv(folder / "diagnostics.csv", record.diagnosed)
    before = record.picture_before
    if record.frames and before is not None:
        runs.write_bytes(folder / "fit.gif", plots.fit_animation(
            before.x, record.frames, before.data_x, before.data_y, before.x_label,
            config.name or ""))
    if status == "failed":
        return
    runs.save_state({k: v.cpu() for k, v in net.state_dict().items()}, folder / "model.pt")
    if not figures:
        return
    after = task.picture(config.task, data, predict)
    if isinstance(after, FitPicture) and before is not None:
        label = "after training" if status == "completed" else f"after training ({status})"
        figure = plots.fit_curve(
            after.data_x, after.data_y,
            plots.Curve("before training", before.x, before.score),
            plots.Curve(label, after.x, after.score),
            metrics.get(task.extra_name), after.x_label,
            title=f"{config.name}: {config.model.output} output, {config.loss.name}, "
                  f"{config.optimizer.name} lr={config.optimizer.kwargs['lr']:g}",
        )
        runs.save_figure(figure, folder / "fit.png")
    elif isinstance(after, ClassesPicture):
        runs.save_figure(plots.confusion_matrix(after.confusion, after.classes),
                         folder / "confusion_matrix.png")
        names = after.classes
        titles = [f"true {names[t]}\npred {names[p]}"
                  for t, p in zip(after.wrong_true, after.wrong_pred, strict=True)]
        runs.save_figure(plots.image_grid(after.wrong_images, titles,
                                          "misclassified test images"),
                         folder / "misclassified.png")
    if record.weights_before is not None:
        runs.save_figure(plots.weight_histograms(record.weights_before, weights(net)),
                         folder / "weights.png")
