"""A run's own figures: learning curves, the 1-D fit, confusion matrix, image grid,
weight histograms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import _epoch_axis, _finite, _marker


def learning_curves(history: Sequence[Mapping[str, float]], title: str = "", *,
                    diverged_at: float | None = None) -> Figure:
    """Losses against epochs (log scale when they span decades), accuracies beside.

    Short histories get markers (one epoch is one visible point). Where a loss is not
    finite (a diverged run) the finite part is drawn and a red dashed line marks the first
    logged epoch with a NaN or infinite loss; or, if earlier or the only one,
    ``diverged_at``: the epoch where a diverged run stopped (its history may end before)."""
    epochs = _finite([row.get("epoch", np.nan) for row in history])
    loss_keys = [k for k in ("train_loss", "train_set_loss", "test_loss", "val_loss")
                 if history and k in history[0]]
    acc_keys = [k for k in history[0] if "accuracy" in k] if history else []
    # a regression's score: R² (at most 1, unbounded below)
    r2 = not acc_keys and bool(history) and any(k in ("r2", "train_r2", "val_r2")
                                                for k in history[0])
    if r2:
        acc_keys = [k for k in ("train_r2", "r2", "val_r2") if k in history[0]]
    fig = Figure(figsize=(10 if acc_keys else 5.5, 4), layout="constrained")
    axes = fig.subplots(1, 2 if acc_keys else 1, squeeze=False, sharex=True)[0]
    raw = {k: np.asarray([row.get(k, np.nan) for row in history], dtype=float)
           for k in loss_keys + acc_keys}
    marker = _marker(len(history))
    bad = np.zeros(len(history), dtype=bool)
    for key in loss_keys:
        bad |= ~np.isfinite(raw[key])
        axes[0].plot(epochs, _finite(raw[key]), marker=marker, markersize=4,
                     label=key.replace("_", " "))
    values = _finite(np.concatenate([raw[k] for k in loss_keys])) if loss_keys else np.array([])
    positive = values[values > 0]
    if positive.size and positive.max() / positive.min() > 100:
        axes[0].set_yscale("log")
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    if acc_keys:
        for key in acc_keys:
            axes[1].plot(epochs, _finite(raw[key]), marker=marker, markersize=4,
                         label=key.replace("_", " "))
        if r2:
            low = float(np.nanmin(_finite(np.concatenate([raw[k] for k in acc_keys])),
                                  initial=0.0))
            axes[1].set(xlabel="epoch", ylabel="R²", title="R² (1 = perfect)",
                        ylim=(max(low, -1.0) - 0.02, 1.02))
        else:
            axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy",
                        ylim=(-0.02, 1.02))
    marks = [float(epochs[np.argmax(bad)])] if bad.any() else []
    marks += [diverged_at] if diverged_at is not None and np.isfinite(diverged_at) else []
    if marks:
        at = min(marks)
        for i, ax in enumerate(axes):
            ax.axvline(at, color="tab:red", ls="--", lw=1.2,
                       label=f"loss not finite from epoch {at:g}" if i == 0 else None)
    _epoch_axis(axes[0], epochs)  # the panels share it
    for ax in axes:
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


@dataclass(frozen=True)
class Curve:
    """A 1-D curve: inputs, values, and optional derivatives (autograd, textbook)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    dy: np.ndarray | None = None
    dy_analytic: np.ndarray | None = None


def fit_curve(data_x: np.ndarray, data_y: np.ndarray, before: Curve, after: Curve,
              threshold: float | None, x_label: str, title: str = "") -> Figure:
    """The labelled samples and the model's prediction before and after training."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.scatter(data_x, data_y, s=6, c=data_y, cmap="coolwarm", alpha=0.5, label="samples",
               rasterized=len(data_x) > 5000)
    ax.plot(before.x, _finite(before.y), "--", color="grey", label=before.label,
            marker=_marker(len(before.x)))
    ax.plot(after.x, _finite(after.y), color="black", lw=2, label=after.label,
            marker=_marker(len(after.x)))
    if threshold is not None and np.isfinite(threshold):
        ax.axvline(threshold, color="tab:green", lw=1)
        ax.annotate(f"0.5 at {threshold:.2f}", (threshold, 0.5), xytext=(6, -14),
                    textcoords="offset points", color="tab:green")
    ax.axhline(0.5, color="tab:green", lw=0.5, ls=":")
    ax.set(xlabel=x_label, ylabel="prediction / label", ylim=(-0.08, 1.08),
           title=title or "fit")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def confusion_matrix(counts: np.ndarray, classes: Sequence[str]) -> Figure:
    """Counts of (true, predicted) pairs, with each row's recall on the diagonal colour."""
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax = fig.subplots()
    rows = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(rows, 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(counts):
        ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                color="white" if share[i, j] > 0.5 else "black")
    ticks = np.arange(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true",
           title=f"confusion matrix (accuracy {np.trace(counts) / max(counts.sum(), 1):.4f})")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig


def image_grid(images: np.ndarray, titles: Sequence[str], title: str, columns: int = 6) -> Figure:
    """Grey images (N, H, W) in a grid with a small title each.

    The images are tiled into one array shown by one axes (24 axes of their own cost more
    in layout than everything else in the figure)."""
    count = max(len(images), 1)
    rows = (count + columns - 1) // columns
    height, width = (images.shape[1], images.shape[2]) if len(images) else (28, 28)
    gap_x, gap_y = width // 4, height // 2  # room for the two-line titles above each image
    sheet = np.full((rows * (height + gap_y), columns * (width + gap_x)), np.nan)
    fig = Figure(figsize=(columns * 1.7, rows * 2.0))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.9))
    ax.axis("off")
    for k, image in enumerate(images):
        top, left = (k // columns) * (height + gap_y) + gap_y, (k % columns) * (width + gap_x)
        sheet[top:top + height, left:left + width] = image
        ax.text(left + width / 2, top - 1, titles[k], ha="center", va="bottom", fontsize=7)
    ax.imshow(np.ma.masked_invalid(sheet), cmap="gray_r", interpolation="nearest")
    fig.suptitle(title)
    return fig


def weight_histograms(before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]) -> Figure:
    """One panel per weight layer: the distribution of its weights at start and at end.

    Weights that are NaN or infinite are left out and counted in the panel's title."""
    names = list(before)
    fig = Figure(figsize=(4 * max(len(names), 1), 3.4), layout="constrained")
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=False):
        start, end = _finite(before[name]).ravel(), _finite(after[name]).ravel()
        values = np.concatenate([start, end])
        shown = values[np.isfinite(values)]
        left_out = values.size - shown.size
        ax.set(title=f"{name} ({before[name].size} weights"
               f"{f', {left_out} not finite' if left_out else ''})", xlabel="weight",
               ylabel="count")
        if not shown.size:
            ax.text(0.5, 0.5, "no finite weights", transform=ax.transAxes, ha="center")
            continue
        lo, hi = float(shown.min()), float(shown.max())
        if lo == hi:  # all equal (constant init): give the bar some width
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, 41)
        # counted once with numpy, drawn as two filled step outlines: the look of hist()
        # at a fraction of its cost (hist draws one patch per bar)
        for values_at, label in ((start, "start"), (end, "end")):
            counts, _ = np.histogram(values_at[np.isfinite(values_at)], bins=bins)
            ax.stairs(counts, bins, fill=True, alpha=0.6, label=label)
        ax.legend(fontsize="small")
    fig.suptitle("weights at the start and end of training")
    return fig
