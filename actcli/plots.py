"""Every figure actcli draws. Functions take data and return a Figure; callers save.

Figures are built with ``matplotlib.figure.Figure`` directly (Agg when saved), never
through pyplot, so there is no global current figure and nothing opens a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history: Sequence[Mapping[str, float]], title: str = "") -> Figure:
    """Losses against epochs (log scale when they span decades), accuracies beside."""
    epochs = [row["epoch"] for row in history]
    loss_keys = [k for k in ("train_loss", "test_loss", "val_loss") if history and k in history[0]]
    acc_keys = [k for k in history[0] if "accuracy" in k] if history else []
    fig = Figure(figsize=(10 if acc_keys else 5.5, 4), layout="constrained")
    axes = fig.subplots(1, 2 if acc_keys else 1, squeeze=False)[0]
    for key in loss_keys:
        axes[0].plot(epochs, [row[key] for row in history], label=key.replace("_", " "))
    values = [row[k] for row in history for k in loss_keys]
    positive = [v for v in values if v > 0 and np.isfinite(v)]
    if positive and max(positive) / min(positive) > 100:
        axes[0].set_yscale("log")
    axes[0].set(xlabel="epoch", ylabel="loss", title="loss")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    if acc_keys:
        for key in acc_keys:
            axes[1].plot(epochs, [row[key] for row in history], label=key.replace("_", " "))
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(-0.02, 1.02))
        axes[1].legend()
        axes[1].grid(alpha=0.3)
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
    ax.plot(before.x, before.y, "--", color="grey", label=before.label)
    ax.plot(after.x, after.y, color="black", lw=2, label=after.label)
    if threshold is not None:
        ax.axvline(threshold, color="tab:green", lw=1)
        ax.annotate(f"0.5 at {threshold:.2f}", (threshold, 0.5), xytext=(6, -14),
                    textcoords="offset points", color="tab:green")
    ax.axhline(0.5, color="tab:green", lw=0.5, ls=":")
    ax.set(xlabel=x_label, ylabel="prediction / label", ylim=(-0.08, 1.08),
           title=title or "fit")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def activation_curves(curves: Sequence[Curve], grad: bool, title: str = "") -> Figure:
    """Curves overlaid (one colour each); with ``grad`` their derivatives in a panel beside."""
    fig = Figure(figsize=(11 if grad else 6, 4.2), layout="constrained")
    axes = fig.subplots(1, 2 if grad else 1, squeeze=False)[0]
    for i, curve in enumerate(curves):
        color = f"C{i % 10}"
        axes[0].plot(curve.x, curve.y, color=color, label=curve.label)
        if grad and curve.dy is not None:
            axes[1].plot(curve.x, curve.dy, color=color, label=f"{curve.label}' (autograd)")
        if grad and curve.dy_analytic is not None:
            axes[1].plot(curve.x, curve.dy_analytic, color=color, ls=(0, (2, 3)), lw=2.5,
                         alpha=0.7, label=f"{curve.label}' (formula)")
    axes[0].set(xlabel="x", ylabel="f(x)", title=title or "activation")
    if grad:
        axes[1].set(xlabel="x", ylabel="f'(x)", title="derivative")
    for ax in axes:
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(0, color="black", lw=0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


def softmax_stem(logits: np.ndarray, probabilities: np.ndarray,
                 jacobian: np.ndarray | None = None) -> Figure:
    """Example logits and their softmax probabilities as stem plots, with the sum shown.

    With ``jacobian`` a third panel shows d softmax_i / d x_j as a heat map.
    """
    fig = Figure(figsize=(13 if jacobian is not None else 9, 3.8), layout="constrained")
    axes = fig.subplots(1, 3 if jacobian is not None else 2)
    left, right = axes[0], axes[1]
    index = np.arange(len(logits))
    left.stem(index, logits)
    left.set(xlabel="class i", ylabel="logit x_i", title="logits", xticks=index)
    right.stem(index, probabilities)
    right.set(xlabel="class i", ylabel="softmax(x)_i", xticks=index, ylim=(0, 1.05),
              title=f"softmax: probabilities, sum = {probabilities.sum():.6f}")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    if jacobian is not None:
        image = axes[2].imshow(jacobian, cmap="RdBu_r", vmin=-0.25, vmax=0.25)
        axes[2].set(title="Jacobian d s_i / d x_j = s_i (delta_ij - s_j)", xlabel="j",
                    ylabel="i", xticks=index, yticks=index)
        fig.colorbar(image, ax=axes[2])
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
    """One panel per weight layer: the distribution of its weights at start and at end."""
    names = list(before)
    fig = Figure(figsize=(4 * max(len(names), 1), 3.4), layout="constrained")
    axes = fig.subplots(1, max(len(names), 1), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=False):
        values = np.concatenate([before[name], after[name]])
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:  # all equal (constant init): give the bar some width
            lo, hi = lo - 0.5, hi + 0.5
        bins = np.linspace(lo, hi, 41)
        # counted once with numpy, drawn as two filled step outlines: the look of hist()
        # at a fraction of its cost (hist draws one patch per bar)
        for values_at, label in ((before[name], "start"), (after[name], "end")):
            counts, _ = np.histogram(values_at, bins=bins)
            ax.stairs(counts, bins, fill=True, alpha=0.6, label=label)
        ax.set(title=f"{name} ({before[name].size} weights)", xlabel="weight", ylabel="count")
        ax.legend(fontsize="small")
    fig.suptitle("weights at the start and end of training")
    return fig


def fit_animation(x: np.ndarray, frames: Sequence[tuple[int, float, np.ndarray]],
                  data_x: np.ndarray, data_y: np.ndarray, x_label: str, title: str) -> bytes:
    """A GIF of the learned curve over the data, one frame per (epoch, loss, scores)."""
    import io

    from PIL import Image

    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.scatter(data_x, data_y, s=5, c=data_y, cmap="coolwarm", alpha=0.4)
    (line,) = ax.plot(x, frames[0][2], color="black", lw=2)
    ax.axhline(0.5, color="tab:green", lw=0.5, ls=":")
    ax.set(xlabel=x_label, ylabel="prediction / label", ylim=(-0.08, 1.08))
    images = []
    for epoch, loss, scores in frames:
        line.set_ydata(scores)
        ax.set_title(f"{title}: epoch {epoch}, loss {loss:.4g}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        frame = Image.open(io.BytesIO(buffer.getvalue()))
        images.append(frame.convert("P", palette=Image.Palette.ADAPTIVE))
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80,
                   loop=0)
    return out.getvalue()


def loss_landscape(a: np.ndarray, b: np.ndarray, loss: np.ndarray,
                   paths: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str) -> Figure:
    """Contours of the loss over (a, b) with each optimizer's path from the common start."""
    fig = Figure(figsize=(7.5, 6), layout="constrained")
    ax = fig.subplots()
    positive = loss[np.isfinite(loss) & (loss > 0)]
    if positive.size and positive.max() / positive.min() > 50:
        levels = np.geomspace(positive.min(), positive.max(), 25)
        shown = ax.contourf(a, b, np.clip(loss, positive.min(), None), levels=levels,
                            cmap="viridis", norm=_log_norm(levels))
    else:
        shown = ax.contourf(a, b, loss, levels=25, cmap="viridis")
    fig.colorbar(shown, ax=ax, label="loss")
    for i, (name, pa, pb) in enumerate(paths):
        color = ("white", "orange", "red", "cyan")[i % 4]
        ax.plot(pa, pb, color=color, lw=1.8, label=name)
        ax.plot(pa[-1], pb[-1], "o", color=color)
    ax.plot(paths[0][1][0], paths[0][2][0], "*", color="white", markersize=14,
            markeredgecolor="black", label="start")
    ax.set(xlabel="a (weight)", ylabel="b (bias)", title=title)
    ax.legend(loc="best", fontsize="small")
    return fig


def _log_norm(levels: np.ndarray) -> Any:  # noqa: ANN401 - matplotlib.colors.LogNorm
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=levels[0], vmax=levels[-1])


def compare_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]],
                   target: float | None = None) -> Figure:
    """Each cell's monitored accuracy against epochs: mean line, band of ± one std; the
    target accuracy as a dotted line."""
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    key = next(iter(curves.values()))[3] if curves else "accuracy"
    for i, (label, (epochs, mean, std, _)) in enumerate(curves.items()):
        color = f"C{i % 10}"
        ax.plot(epochs, mean, color=color, label=label)
        ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2)
    if target is not None:
        ax.axhline(target, color="black", lw=0.8, ls=":", label=f"target {target:.4g}")
    ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=f"{key} (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return fig


def time_to_target(labels: Sequence[str], epochs: Sequence[Sequence[float | None]],
                   title: str) -> Figure:
    """Epochs each cell took to reach the target: a bar at the mean of the seeds that did,
    a dot per seed; 'never' where no seed did."""
    fig = Figure(figsize=(max(6, 0.6 * len(labels) + 2), 4.2), layout="constrained")
    ax = fig.subplots()
    for i, values in enumerate(epochs):
        reached = [v for v in values if v is not None]
        if reached:
            ax.bar(i, float(np.mean(reached)), color="C0", alpha=0.7)
            ax.plot([i] * len(reached), reached, "o", color="black", markersize=3)
        if len(reached) < len(values):
            ax.annotate("never" if not reached else f"{len(values) - len(reached)} never",
                        (i, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                        rotation=90, va="bottom", color="C3", fontsize="small")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set(ylabel="epochs to target", title=f"epochs to reach {title}")
    ax.grid(alpha=0.3, axis="y")
    return fig


def compare_bars(labels: Sequence[str], values: Sequence[tuple[float, float]],
                 name: str) -> Figure:
    """Final metric per cell, best first, with error bars of one std."""
    fig = Figure(figsize=(max(6, 0.6 * len(labels) + 2), 4.2), layout="constrained")
    ax = fig.subplots()
    means = [v[0] for v in values]
    ax.bar(range(len(labels)), means, yerr=[v[1] for v in values], capsize=4, color="C0")
    low = min(m - v[1] for m, v in zip(means, values, strict=True))
    high = max(m + v[1] for m, v in zip(means, values, strict=True))
    margin = 0.1 * max(high - low, 1e-3)  # the axis is zoomed to the spread of the results
    ax.set_ylim(max(0.0, low - margin), min(1.0, high) + margin)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set(ylabel=name, title=f"final {name} (mean ± std over seeds; axis zoomed)")
    ax.grid(alpha=0.3, axis="y")
    return fig


def gradient_flow(flow: Mapping[str, np.ndarray]) -> Figure:
    """Mean gradient norm of each layer's weights, one line per cell (log scale)."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for i, (label, norms) in enumerate(flow.items()):
        ax.plot(np.arange(1, len(norms) + 1), norms, marker="o", color=f"C{i % 10}",
                label=label)
    ax.set_yscale("log")
    longest = max((len(v) for v in flow.values()), default=1)
    ax.set_xticks(range(1, longest + 1))
    ax.set(xlabel="layer (input -> output)", ylabel="mean |dL/dW|",
           title="gradient flow: weight-gradient norm by layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return fig


def lr_range_tests(tests: Mapping[str, tuple[Sequence[float], Sequence[float], float]]
                   ) -> Figure:
    """Smoothed loss against the growing learning rate, the chosen lr marked, per cell."""
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for i, (label, (lrs, losses, chosen)) in enumerate(tests.items()):
        color = f"C{i % 10}"
        ax.plot(lrs, losses, color=color, label=f"{label}: {chosen:.2g}")
        ax.axvline(chosen, color=color, lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="smoothed training loss",
           title="learning-rate range test (dotted: chosen lr = lr at minimum / 10)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return fig


_PATH_COLORS = ("white", "orange", "red", "cyan", "magenta", "lime", "yellow", "deepskyblue")


def _surface_axes(fig: Figure, x: np.ndarray, y: np.ndarray, f: np.ndarray, log_levels: bool,
                  minima: Sequence[tuple[float, float]],
                  saddles: Sequence[tuple[float, float]]) -> Any:
    """Contours of f(x, y) with the known minima (stars) and saddle points (crosses)."""
    ax = fig.subplots()
    if log_levels:  # shift so the lowest level is just above the minimum: log levels
        shifted = f - f.min() + 1e-3 * max(float(np.ptp(f)), 1e-12)
        levels = np.geomspace(shifted.min(), shifted.max(), 30)
        shown = ax.contourf(x, y, shifted, levels=levels, cmap="viridis",
                            norm=_log_norm(levels))
        fig.colorbar(shown, ax=ax, label="f - min f (log scale)")
    else:
        shown = ax.contourf(x, y, f, levels=30, cmap="viridis")
        fig.colorbar(shown, ax=ax, label="f")
    for i, (px, py) in enumerate(minima):
        ax.plot(px, py, "*", color="gold", markersize=13, markeredgecolor="black",
                label="minimum" if i == 0 else None)
    for i, (px, py) in enumerate(saddles):
        ax.plot(px, py, "X", color="white", markersize=10, markeredgecolor="black",
                label="saddle point" if i == 0 else None)
    ax.set(xlim=(x[0], x[-1]), ylim=(y[0], y[-1]), xlabel="x", ylabel="y")
    return ax


def surface_paths(x: np.ndarray, y: np.ndarray, f: np.ndarray, log_levels: bool,
                  minima: Sequence[tuple[float, float]], saddles: Sequence[tuple[float, float]],
                  paths: Sequence[tuple[str, np.ndarray]], title: str) -> Figure:
    """The surface with one path per (optimizer, start): start dot, end circle."""
    fig = Figure(figsize=(7.5, 6), layout="constrained")
    ax = _surface_axes(fig, x, y, f, log_levels, minima, saddles)
    colors: dict[str, str] = {}
    for name, track in paths:
        first = name not in colors  # one legend entry per optimizer, whatever the starts
        color = colors.setdefault(name, _PATH_COLORS[len(colors) % len(_PATH_COLORS)])
        ax.plot(track[:, 0], track[:, 1], color=color, lw=1.6, label=name if first else None)
        ax.plot(track[0, 0], track[0, 1], ".", color=color, markersize=8)
        ax.plot(track[-1, 0], track[-1, 1], "o", color=color, markersize=6,
                markeredgecolor="black")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    return fig


def surface_animation(x: np.ndarray, y: np.ndarray, f: np.ndarray, log_levels: bool,
                      minima: Sequence[tuple[float, float]],
                      saddles: Sequence[tuple[float, float]],
                      paths: Sequence[tuple[str, np.ndarray]], title: str,
                      frames: int = 40) -> bytes:
    """A GIF of the paths as they go: the surface drawn once, the lines grown frame by frame."""
    import io

    from PIL import Image

    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax = _surface_axes(fig, x, y, f, log_levels, minima, saddles)
    colors: dict[str, str] = {}
    lines = []
    for name, _track in paths:
        first = name not in colors
        color = colors.setdefault(name, _PATH_COLORS[len(colors) % len(_PATH_COLORS)])
        (line,) = ax.plot([], [], color=color, lw=1.6, label=name if first else None)
        (head,) = ax.plot([], [], "o", color=color, markersize=6, markeredgecolor="black")
        lines.append((line, head))
    ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    longest = max(len(track) for _, track in paths)
    images = []
    for k in np.unique(np.linspace(1, longest, frames).round().astype(int)):
        for (line, head), (_, track) in zip(lines, paths, strict=True):
            shown = track[:k]
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
        ax.set_title(f"{title}: step {k - 1}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=72)
        images.append(Image.open(io.BytesIO(buffer.getvalue())).convert(
            "P", palette=Image.Palette.ADAPTIVE))
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=90,
                   loop=0)
    return out.getvalue()
