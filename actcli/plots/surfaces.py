"""Loss surfaces: the landscape around a trained model, optimizer paths on a 2-D function."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import (
    _OUTLINE,
    _handles_labels,
    _legend_beside,
    _legend_size,
    _log_colorbar,
    _log_norm,
    _marker,
    _path_colors,
)


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
