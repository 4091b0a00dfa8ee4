"""GIFs: a 1-D fit over training and optimizer paths on a surface, redrawing only what moves."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import _OUTLINE, _finite, _handles_labels, _legend_beside
from actcli.plots.surfaces import _path_legend, _surface_axes

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
