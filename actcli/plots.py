"""Every figure actcli draws. Functions take data and return a Figure; callers save.

Figures are built with ``matplotlib.figure.Figure`` directly (Agg when saved), never
through pyplot, so there is no global current figure and nothing opens a window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure

FEW_POINTS = 30  # a line of at most this many points gets markers: one point stays visible


# after tab10: ten more, picked once from matplotlib's xkcd colours of CIELAB lightness
# 20-80 (visible on white), each the farthest from tab10 and the ones before it: every pair
# of the twenty is at least 39 apart in CIELAB (tab20's light twins are 10-20 apart)
_MORE_COLORS = ("#0804f9", "#ff08e8", "#0b4008", "#0165fc", "#ffb07c", "#ff0789", "#886806",
                "#8fb67b", "#0add08", "#750851")


def series_colors(count: int) -> list[str]:
    """``count`` distinct colours, the same colour for series i whatever the count.

    The first ten are tab10 (matplotlib's default cycle), the next ten far from them and
    from each other; beyond 20, hues step by the golden ratio (neighbours in a legend differ
    most) at three lightness levels: distinct for any count."""
    import colorsys

    from matplotlib.colors import to_hex

    colors = ([to_hex(f"C{i}") for i in range(10)] + list(_MORE_COLORS))[:count]
    taken, k = set(colors), 0
    while len(colors) < count:
        hue = (0.11 + k * 0.6180339887) % 1.0
        color = to_hex(colorsys.hls_to_rgb(hue, (0.32, 0.45, 0.58)[k % 3], 0.8))
        k += 1
        if color not in taken:  # two hues may round to one hex colour: take the next
            taken.add(color)
            colors.append(color)
    return colors


def _colors_of(labels: Sequence[str], given: Mapping[str, str] | None) -> list[str]:
    """The colour of each label: ``given`` when it names them all, else by position."""
    if given is not None and all(label in given for label in labels):
        return [given[label] for label in labels]
    return series_colors(len(labels))


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as floats with NaN where a value is NaN or ±inf (nothing is drawn there
    and nothing non-finite reaches the axis limits)."""
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, np.nan)


def _marker(count: int) -> str | None:
    return "o" if count <= FEW_POINTS else None


def _epoch_axis(ax: Any, epochs: np.ndarray) -> None:  # noqa: ANN401 - matplotlib Axes
    """Whole-number ticks on an epoch axis; one epoch gets an axis one epoch wide."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    finite = epochs[np.isfinite(epochs)]
    if finite.size and finite.min() == finite.max():  # the locator needs two integers
        ax.set_xlim(finite[0] - 0.5, finite[0] + 0.5)
        ax.set_xticks([finite[0]])


_LEGEND_EM = 8.33 / 72  # inches: the em of fontsize "small" (10 pt * 0.833)


def _legend_size(labels: Sequence[str], height: float) -> tuple[int, float, float]:
    """(columns, width, height) in inches of a legend of ``labels`` beside axes ``height``
    tall: as many rows as fit the height, more columns beyond; past three columns the
    figure grows taller instead. The width is an estimate (0.62 em a character) only used
    to size the figure: constrained layout places the legend itself."""
    row = 1.55 * _LEGEND_EM  # a text line and the label spacing
    rows = max(int((height - 0.6) / row), 1)
    columns = max(-(-len(labels) // rows), 1)
    if columns > 3:
        columns = 3
        height = max(height, -(-len(labels) // 3) * row + 0.8)
    if not labels:
        return 1, 0.0, height
    longest = max(len(label) for label in labels)
    return columns, columns * (4.8 + 0.62 * longest) * _LEGEND_EM + 0.3, height


def _legend_beside(fig: Figure, handles: Sequence[Any], labels: Sequence[str],
                   columns: int) -> None:
    """One figure legend to the right of every axes, never over the data."""
    if handles:
        fig.legend(handles, labels, loc="outside right upper", ncols=columns,
                   fontsize="small")


def _handles_labels(ax: Any) -> tuple[list[Any], list[str]]:  # noqa: ANN401 - Axes
    handles, labels = ax.get_legend_handles_labels()
    return list(handles), list(labels)


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
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(-0.02, 1.02))
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


def activation_curves(curves: Sequence[Curve], grad: bool, title: str = "") -> Figure:
    """Curves overlaid (one colour each); with ``grad`` their derivatives in a panel beside.

    One legend beside the panels: a colour per curve; with ``grad`` a line style each for
    the autograd derivative (solid) and the textbook formula (dashed)."""
    from matplotlib.lines import Line2D

    colors = series_colors(len(curves))
    labels = [curve.label for curve in curves]
    has_formula = grad and any(c.dy_analytic is not None for c in curves)
    styles = ["solid: f and f' by autograd", "dashed: f' by its formula"] if grad else []
    columns, extra, height = _legend_size(labels + styles[:1 + has_formula], 4.2)
    fig = Figure(figsize=((11 if grad else 6) + extra, height), layout="constrained")
    axes = fig.subplots(1, 2 if grad else 1, squeeze=False)[0]
    for curve, color in zip(curves, colors, strict=True):  # labelled, for who reads lines
        axes[0].plot(curve.x, _finite(curve.y), color=color, label=curve.label)
        if grad and curve.dy is not None:
            axes[1].plot(curve.x, _finite(curve.dy), color=color,
                         label=f"{curve.label}' (autograd)")
        if grad and curve.dy_analytic is not None:
            axes[1].plot(curve.x, _finite(curve.dy_analytic), color=color, ls=(0, (2, 3)),
                         lw=2.5, alpha=0.7, label=f"{curve.label}' (formula)")
    axes[0].set(xlabel="x", ylabel="f(x)", title=title or "activation")
    if grad:
        axes[1].set(xlabel="x", ylabel="f'(x)", title="derivative")
    for ax in axes:
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(0, color="black", lw=0.5)
        ax.grid(alpha=0.3)
    handles: list[Any] = [Line2D([], [], color=color, lw=2) for color in colors]
    if grad:
        handles.append(Line2D([], [], color="black"))
        if has_formula:
            handles.append(Line2D([], [], color="black", ls=(0, (2, 3)), lw=2.5, alpha=0.7))
    _legend_beside(fig, handles, labels + styles[:len(handles) - len(labels)], columns)
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


MAX_FRAMES = 240  # a GIF shows at most this many frames (fit.gif: 80 ms each, 19 s)


def frame_indices(count: int, most: int = MAX_FRAMES) -> list[int]:
    """Which of ``count`` frames a GIF shows: every one up to ``most``; beyond, ``most``
    of them evenly spaced, the first and the last always among them."""
    if count <= most:
        return list(range(count))
    # spacing > 1: the rounded positions are distinct
    return np.linspace(0, count - 1, max(most, 2)).round().astype(int).tolist()


def _gif(fig: Figure, moving: Sequence[Any], count: int, show: Callable[[int], None],
         duration: int, progress: Callable[[int, int], None] | None) -> bytes:
    """``count`` frames of ``fig`` as a GIF, ``show(k)`` updating the ``moving`` artists for
    frame k. Everything else is drawn once (the layout is fixed after the first frame);
    each frame restores that background and draws only the moving artists over it, and
    every frame uses the first frame's palette. The last frame is held 1.5 s."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = FigureCanvasAgg(fig)
    show(0)
    canvas.draw()  # lays the figure out with every artist at its first frame
    fig.set_layout_engine("none")  # ... and keeps that layout: frames must not shift
    for artist in moving:
        artist.set_animated(True)  # left out of canvas.draw(): the background
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    images: list[Any] = []
    palette = None
    for k in range(count):
        show(k)
        canvas.restore_region(background)
        for artist in moving:
            fig.draw_artist(artist)
        frame = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])  # a copy
        if palette is None:
            palette = frame.quantize(256, method=Image.Quantize.FASTOCTREE)
        images.append(frame.quantize(palette=palette, dither=Image.Dither.NONE))
        if progress is not None and k + 1 < count:
            progress(k + 1, count)
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:],
                   duration=[duration] * (count - 1) + [1500], loop=0)
    if progress is not None:
        progress(count, count)
    return out.getvalue()


def fit_animation(x: np.ndarray, frames: Sequence[tuple[int, float, np.ndarray]],
                  data_x: np.ndarray, data_y: np.ndarray, x_label: str, title: str, *,
                  progress: Callable[[int, int], None] | None = None,
                  most: int = MAX_FRAMES) -> bytes:
    """A GIF of the learned curve over the data, one frame per (epoch, loss, scores).

    At most ``most`` frames: of more, :func:`frame_indices` picks them (evenly spaced, the
    first and the last kept; each frame's title gives its epoch). ``progress(done, total)``
    is called after each frame is drawn, the last time as (total, total) once the GIF is
    encoded, ``total`` being the frames the GIF shows."""
    if not frames:
        raise ValueError("fit_animation needs at least one frame")
    shown = [frames[i] for i in frame_indices(len(frames), most)]
    fig = Figure(figsize=(6, 3.6), dpi=80, layout="constrained")
    ax = fig.subplots()
    ax.scatter(data_x, data_y, s=5, c=data_y, cmap="coolwarm", alpha=0.4)
    ax.axhline(0.5, color="tab:green", lw=0.5, ls=":")
    (line,) = ax.plot(x, _finite(shown[0][2]), color="black", lw=2)
    ax.set(xlabel=x_label, ylabel="prediction / label", ylim=(-0.08, 1.08))
    heading = ax.set_title(" ")

    def show(k: int) -> None:
        epoch, loss, scores = shown[k]
        line.set_ydata(_finite(scores))
        heading.set_text(f"{title + ': ' if title else ''}epoch {epoch}, loss {loss:.4g}")

    return _gif(fig, [line, heading], len(shown), show, 80, progress)


def _number(value: float) -> str:
    return f"{value:.3g}"


def log_ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Ticks for a log axis from ``lo`` to ``hi`` (both > 0): the coarsest of 1, 1-3, 1-2-5,
    1-1.5-2-3-5-7 per decade that gives at least four (thinned to ``most``); a span
    narrower than that gets four round values inside it."""
    decades = range(int(np.floor(np.log10(lo))), int(np.floor(np.log10(hi))) + 1)
    ticks: list[float] = []
    for mantissas in ((1,), (1, 3), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [float(f"{m * 10.0**e:.3g}") for e in decades for m in mantissas
                 if lo <= m * 10.0**e <= hi]
        if len(ticks) >= 4:
            break
    for digits in (2, 3, 4):  # a narrow span: round values inside it
        if len(ticks) >= 3:
            break
        ticks = sorted({float(f"{v:.{digits}g}") for v in np.geomspace(lo, hi, 6)[1:-1]})
    step = -(-len(ticks) // most)
    return ticks[::step]


def _log_axis_ticks(axis: Any, values: np.ndarray) -> None:  # noqa: ANN401 - an Axis
    """:func:`log_ticks` over ``values`` on a log ``axis``, plain numbers, no minor labels
    (matplotlib's own labels a span under a decade with one or two 'a x 10^b')."""
    from matplotlib.ticker import NullFormatter

    ticks = log_ticks(float(values.min()), float(values.max()))
    axis.set_ticks(ticks, labels=[_number(t) for t in ticks])
    axis.set_minor_formatter(NullFormatter())


def _log_colorbar(fig: Figure, shown: Any, ax: Any, label: str,  # noqa: ANN401
                  levels: np.ndarray) -> None:
    """A colour bar for log-spaced contour ``levels``, with several plain-number ticks."""
    bar = fig.colorbar(shown, ax=ax, label=label)
    ticks = log_ticks(float(levels[0]), float(levels[-1]))
    bar.set_ticks(ticks, labels=[_number(t) for t in ticks])
    bar.minorticks_off()


# a dark edge: light paths show on light contours and in the legend
_OUTLINE = [patheffects.withStroke(linewidth=3, foreground="black")]


def _path_colors(count: int) -> list[str]:
    """Colours that stand out on viridis: eight named ones, then light golden-ratio hues."""
    import colorsys

    from matplotlib.colors import to_hex

    named = ["white", "orange", "red", "cyan", "magenta", "lime", "yellow", "deepskyblue"]
    return named[:count] + [
        to_hex(colorsys.hls_to_rgb((0.05 + k * 0.6180339887) % 1.0, (0.75, 0.62)[k % 2], 1.0))
        for k in range(count - len(named))]


def loss_landscape(a: np.ndarray, b: np.ndarray, loss: np.ndarray,
                   paths: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str) -> Figure:
    """Contours of the loss over (a, b) with each optimizer's path from the common start;
    the legend beside the picture. Non-finite losses are left blank."""
    from matplotlib.lines import Line2D

    labels = [name for name, _, _ in paths] + ["start"] * bool(paths)
    columns, extra, height = _legend_size(labels, 6)
    fig = Figure(figsize=(7.5 + extra, height), layout="constrained")
    ax = fig.subplots()
    finite = np.isfinite(loss)
    positive = loss[finite & (loss > 0)]
    if positive.size and positive.max() / positive.min() > 50:
        levels = np.geomspace(positive.min(), positive.max(), 25)
        shown = ax.contourf(a, b, np.ma.masked_invalid(np.clip(loss, positive.min(), None)),
                            levels=levels, cmap="viridis", norm=_log_norm(levels))
        _log_colorbar(fig, shown, ax, "loss", levels)
    elif finite.any():
        shown = ax.contourf(a, b, np.ma.masked_invalid(loss), levels=25, cmap="viridis")
        fig.colorbar(shown, ax=ax, label="loss")
    handles: list[Any] = []
    for (_name, pa, pb), color in zip(paths, _path_colors(len(paths)), strict=True):
        handles += ax.plot(pa, pb, color=color, lw=1.8, marker=_marker(len(pa)),
                           markersize=3, path_effects=_OUTLINE)
        ax.plot(pa[-1:], pb[-1:], "o", color=color, markeredgecolor="black")
    if paths:
        ax.plot(paths[0][1][:1], paths[0][2][:1], "*", color="white", markersize=14,
                markeredgecolor="black")
        handles.append(Line2D([], [], ls="", marker="*", color="white", markersize=12,
                              markeredgecolor="black"))
    ax.set(xlabel="a (weight)", ylabel="b (bias)", title=title,
           xlim=(a[0], a[-1]), ylim=(b[0], b[-1]))
    ax.set_facecolor("lightgrey")  # where the loss is not finite
    _legend_beside(fig, handles, labels, columns)
    return fig


def _log_norm(levels: np.ndarray) -> Any:  # noqa: ANN401 - matplotlib.colors.LogNorm
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=levels[0], vmax=levels[-1])


def compare_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]],
                   target: float | None = None, *,
                   colors: Mapping[str, str] | None = None) -> Figure:
    """Each cell's monitored accuracy against epochs: mean line, band of ± one std, clipped
    to [0, 1] (where an accuracy can be); the target accuracy as a dotted line. A colour
    per cell (``colors`` by label, else :func:`series_colors` in order), the legend beside
    the axes."""
    key = next(iter(curves.values()))[3] if curves else "accuracy"
    labels = list(curves) + ([f"target {target:.4g}"] if target is not None else [])
    columns, extra, height = _legend_size(labels, 4.5)
    fig = Figure(figsize=(8 + extra, height), layout="constrained")
    ax = fig.subplots()
    lo, hi = (0.0, 1.0) if "accuracy" in key else (-np.inf, np.inf)
    for (label, (epochs, mean, std, _)), color in zip(
            curves.items(), _colors_of(list(curves), colors), strict=True):
        mean, std = _finite(mean), _finite(std)
        ax.plot(epochs, mean, color=color, label=label, marker=_marker(len(epochs)),
                markersize=3.5)
        ax.fill_between(epochs, np.clip(mean - std, lo, hi), np.clip(mean + std, lo, hi),
                        color=color, alpha=0.2, lw=0)
    if target is not None:
        ax.axhline(target, color="black", lw=0.8, ls=":", label=f"target {target:.4g}")
    ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=f"{key} (mean ± std over seeds)")
    _epoch_axis(ax, np.concatenate([np.asarray(c[0], dtype=float) for c in curves.values()])
                if curves else np.array([]))
    ax.grid(alpha=0.3)
    _legend_beside(fig, *_handles_labels(ax), columns)
    return fig


def _label_width(count: int) -> float:
    """Inches of x axis per bar: 0.6 up to 20 bars, then 0.3 (the labels still clear)."""
    return 0.6 if count <= 20 else 0.3


def time_to_target(labels: Sequence[str], epochs: Sequence[Sequence[float | None]],
                   title: str) -> Figure:
    """Epochs each cell took to reach the target: a bar at the mean of the seeds that did,
    a dot per seed; 'never' where no seed did."""
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(max(6, _label_width(len(labels)) * len(labels) + 2), 4.2),
                 layout="constrained")
    ax = fig.subplots()
    for i, values in enumerate(epochs):
        reached = [float(v) for v in values if v is not None and np.isfinite(v)]
        if reached:
            ax.bar(i, float(np.mean(reached)), color="C0", alpha=0.7)
            ax.plot([i] * len(reached), reached, "o", color="black", markersize=3)
        if len(reached) < len(values):
            ax.annotate("never" if not reached else f"{len(values) - len(reached)} never",
                        (i, 0), xytext=(0, 3), textcoords="offset points", ha="center",
                        rotation=90, va="bottom", color="C3", fontsize="small")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_xlim(-0.6, max(len(labels), 1) - 0.4)
    ax.set(ylabel="epochs to target", title=f"epochs to reach {title}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3, axis="y")
    return fig


def compare_bars(labels: Sequence[str], values: Sequence[tuple[float, float]],
                 name: str) -> Figure:
    """Final metric per cell, best first, with error bars of one std (an accuracy's clipped
    to [0, 1]); 'no result' where the mean is not a number."""
    fig = Figure(figsize=(max(6, _label_width(len(labels)) * len(labels) + 2), 4.2),
                 layout="constrained")
    ax = fig.subplots()
    means = _finite([v[0] for v in values])
    stds = np.nan_to_num(_finite([v[1] for v in values]), nan=0.0)
    bound_lo, bound_hi = (0.0, 1.0) if "accuracy" in name else (-np.inf, np.inf)
    low = np.clip(means - stds, bound_lo, bound_hi)
    high = np.clip(means + stds, bound_lo, bound_hi)
    index = np.arange(len(labels))
    ok = np.isfinite(means)
    ax.bar(index[ok], means[ok], yerr=[means[ok] - low[ok], high[ok] - means[ok]], capsize=4,
           color="C0")
    if ok.any():
        lowest, highest = float(low[ok].min()), float(high[ok].max())
        margin = 0.1 * max(highest - lowest, 1e-3)  # the axis is zoomed to the spread
        ax.set_ylim(max(0.0, lowest - margin), min(1.0, highest) + margin)
    for i in index[~ok]:
        ax.annotate("no result", (i, 0), xycoords=("data", "axes fraction"), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", rotation=90,
                    color="C3", fontsize="small")
    ax.set_xticks(index)
    ax.set_xticklabels(labels, rotation=45, ha="right")
    ax.set_xlim(-0.6, max(len(labels), 1) - 0.4)
    ax.set(ylabel=name, title=f"final {name} (mean ± std over seeds; axis zoomed)")
    ax.grid(alpha=0.3, axis="y")
    return fig


def gradient_flow(flow: Mapping[str, np.ndarray], *,
                  colors: Mapping[str, str] | None = None) -> Figure:
    """Mean gradient norm of each layer's weights, one line per cell (log scale; a zero or
    non-finite norm is left out and the title says so); ``colors`` as in
    :func:`compare_curves`."""
    labels = list(flow)
    columns, extra, height = _legend_size(labels, 4.2)
    fig = Figure(figsize=(7 + extra, height), layout="constrained")
    ax = fig.subplots()
    everything = []
    for (label, norms), color in zip(flow.items(), _colors_of(labels, colors), strict=True):
        values = _finite(norms)
        everything.append(values)
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", color=color, label=label)
    title = "gradient flow: weight-gradient norm by layer"
    values = np.concatenate(everything) if everything else np.array([])
    if (values > 0).any():
        ax.set_yscale("log")
        _log_axis_ticks(ax.yaxis, values[values > 0])
        if not (values > 0).all():
            title += " (zero or non-finite norms not shown)"
    longest = max((len(v) for v in flow.values()), default=1)
    ax.set_xticks(range(1, longest + 1))
    ax.set_xlim(0.5, longest + 0.5)
    ax.set(xlabel="layer (input -> output)", ylabel="mean |dL/dW|", title=title)
    ax.grid(alpha=0.3)
    _legend_beside(fig, *_handles_labels(ax), columns)
    return fig


def lr_range_tests(tests: Mapping[str, tuple[Sequence[float], Sequence[float], float]]
                   ) -> Figure:
    """Smoothed loss against the growing learning rate, the chosen lr marked, per cell."""
    labels = [f"{label}: {chosen:.2g}" for label, (_, _, chosen) in tests.items()]
    columns, extra, height = _legend_size(labels, 4.5)
    fig = Figure(figsize=(7.5 + extra, height), layout="constrained")
    ax = fig.subplots()
    for (lrs, losses, chosen), label, color in zip(
            tests.values(), labels, series_colors(len(tests)), strict=True):
        ax.plot(lrs, _finite(losses), color=color, label=label, marker=_marker(len(lrs)),
                markersize=3)
        ax.axvline(chosen, color=color, lw=0.8, ls=":")
    ax.set_xscale("log")
    if not any(len(lrs) for lrs, _, _ in tests.values()):  # no steps: an axis about the lrs
        marked = [c for _, _, c in tests.values() if c > 0] or [1e-3]
        ax.set_xlim(min(marked) / 10, max(marked) * 10)
    ax.set(xlabel="learning rate", ylabel="smoothed training loss",
           title="learning-rate range test (dotted: chosen lr = lr at minimum / 10)")
    ax.grid(alpha=0.3)
    _legend_beside(fig, *_handles_labels(ax), columns)
    return fig


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
        _log_colorbar(fig, shown, ax, "f - min f (log scale)", levels)
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


def _path_legend(paths: Sequence[tuple[str, np.ndarray]], minima: Sequence[Any],
                 saddles: Sequence[Any], height: float) -> tuple[dict[str, str], int, float,
                                                                   float]:
    """A colour per optimizer (one legend entry each, whatever the starts) and the size
    of the legend beside the surface."""
    names = list(dict.fromkeys(name for name, _ in paths))
    colors = dict(zip(names, _path_colors(len(names)), strict=True))
    labels = ["minimum"] * bool(minima) + ["saddle point"] * bool(saddles) + names
    return colors, *_legend_size(labels, height)


def surface_paths(x: np.ndarray, y: np.ndarray, f: np.ndarray, log_levels: bool,
                  minima: Sequence[tuple[float, float]], saddles: Sequence[tuple[float, float]],
                  paths: Sequence[tuple[str, np.ndarray]], title: str) -> Figure:
    """The surface with one path per (optimizer, start): start dot, end circle; the legend
    beside the picture."""
    colors, columns, extra, height = _path_legend(paths, minima, saddles, 6)
    fig = Figure(figsize=(7.5 + extra, height), layout="constrained")
    ax = _surface_axes(fig, x, y, f, log_levels, minima, saddles)
    labelled: set[str] = set()
    for name, track in paths:
        color = colors[name]
        ax.plot(track[:, 0], track[:, 1], color=color, lw=1.6, path_effects=_OUTLINE,
                label=None if name in labelled else name)
        labelled.add(name)
        ax.plot(track[0, 0], track[0, 1], ".", color=color, markersize=8)
        ax.plot(track[-1, 0], track[-1, 1], "o", color=color, markersize=6,
                markeredgecolor="black")
    ax.set_title(title)
    _legend_beside(fig, *_handles_labels(ax), columns)
    return fig


def surface_animation(x: np.ndarray, y: np.ndarray, f: np.ndarray, log_levels: bool,
                      minima: Sequence[tuple[float, float]],
                      saddles: Sequence[tuple[float, float]],
                      paths: Sequence[tuple[str, np.ndarray]], title: str,
                      frames: int = 40, *,
                      progress: Callable[[int, int], None] | None = None) -> bytes:
    """A GIF of the paths as they go: the surface drawn once, the lines grown frame by frame
    (``progress(done, total)`` as in :func:`fit_animation`)."""
    colors, columns, extra, height = _path_legend(paths, minima, saddles, 5.2)
    fig = Figure(figsize=(6.4 + extra, height), dpi=72, layout="constrained")
    ax = _surface_axes(fig, x, y, f, log_levels, minima, saddles)
    labelled: set[str] = set()
    lines = []
    for name, _track in paths:
        (line,) = ax.plot([], [], color=colors[name], lw=1.6, path_effects=_OUTLINE,
                          label=None if name in labelled else name)
        labelled.add(name)
        (head,) = ax.plot([], [], "o", color=colors[name], markersize=6,
                          markeredgecolor="black")
        lines.append((line, head))
    _legend_beside(fig, *_handles_labels(ax), columns)
    heading = ax.set_title(" ")
    longest = max((len(track) for _, track in paths), default=1)
    steps = np.unique(np.linspace(1, longest, frames).round().astype(int))

    def show(i: int) -> None:
        k = int(steps[i])
        for (line, head), (_, track) in zip(lines, paths, strict=True):
            line.set_data(track[:k, 0], track[:k, 1])
            head.set_data(track[:k][-1:, 0], track[:k][-1:, 1])
        heading.set_text(f"{title}: step {k - 1}")

    moving = [artist for pair in lines for artist in pair] + [heading]
    return _gif(fig, moving, len(steps), show, 90, progress)
