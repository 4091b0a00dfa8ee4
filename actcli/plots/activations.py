"""Activation curves and their derivatives; a run's learned activations, start and end;
softmax as a stem plot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import _finite, _legend_beside, _legend_size, series_colors
from actcli.plots.run import Curve


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
    _frame(axes, title or "activation", "derivative" if grad else None)
    handles: list[Any] = [Line2D([], [], color=color, lw=2) for color in colors]
    if grad:
        handles.append(Line2D([], [], color="black"))
        if has_formula:
            handles.append(Line2D([], [], color="black", ls=(0, (2, 3)), lw=2.5, alpha=0.7))
    _legend_beside(fig, handles, labels + styles[:len(handles) - len(labels)], columns)
    return fig


@dataclass(frozen=True)
class LayerCurves:
    """One hidden layer's activation for :func:`learned_activations`: its curve at the end
    and, for one that learns, at the start (None: fixed, drawn once); each of shape
    (points,), or (points, units) where the units' curves differ; derivatives likewise."""

    label: str
    end: np.ndarray
    start: np.ndarray | None = None
    d_end: np.ndarray | None = None
    d_start: np.ndarray | None = None


MAX_UNITS = 128  # thin unit curves drawn a layer at most (evenly spread over its units)
_DASHED = (0, (4, 3))


def _layer_series(ax: Any, x: np.ndarray, y: np.ndarray, color: str, dashed: bool) -> None:
    """One layer's curve: a line, or for (points, units) each unit thin and their mean."""
    from matplotlib.collections import LineCollection

    style = _DASHED if dashed else "solid"
    if y.ndim == 2:
        step = -(-y.shape[1] // MAX_UNITS)
        columns = _finite(y[:, ::step])
        segments = [np.column_stack([x, columns[:, i]]) for i in range(columns.shape[1])]
        ax.add_collection(LineCollection(segments, colors=color, linewidths=0.6, alpha=0.3,
                                         linestyles=style, zorder=1.5))
        with np.errstate(all="ignore"):
            y = np.nanmean(_finite(y), axis=1) if np.isfinite(y).any() else y[:, 0]
    ax.plot(x, _finite(y), color=color, ls=style, lw=1.6 if dashed else 2.0,
            alpha=0.75 if dashed else 1.0, zorder=2.5 if dashed else 3)


def learned_activations(x: np.ndarray, layers: Sequence[LayerCurves], grad: bool,
                        title: str = "") -> Figure:
    """A run's hidden activations overlaid, a colour per layer: a learned one at the end
    (solid) over where it started (dashed); where its units differ, each unit thin and
    their mean bold. Fixed activations once, solid. With ``grad`` the derivatives in a
    panel beside. One legend beside the panels."""
    from matplotlib.lines import Line2D

    colors = series_colors(len(layers))
    labels = [layer.label for layer in layers]
    learned = any(layer.start is not None for layer in layers)
    units = any(a is not None and a.ndim == 2 for layer in layers
                for a in (layer.end, layer.start, layer.d_end, layer.d_start))
    styles = (["solid: at the end of training", "dashed: at the start (untrained)"]
              if learned else [])
    styles += ["thin: each unit; bold: their mean"] if units else []
    columns, extra, height = _legend_size(labels + styles, 4.2)
    fig = Figure(figsize=((11 if grad else 6) + extra, height), layout="constrained")
    axes = fig.subplots(1, 2 if grad else 1, squeeze=False)[0]
    for layer, color in zip(layers, colors, strict=True):
        panels: list[tuple[Any, np.ndarray | None, np.ndarray | None]] = [
            (axes[0], layer.end, layer.start)]
        if grad:
            panels.append((axes[1], layer.d_end, layer.d_start))
        for ax, end, start in panels:
            if start is not None:
                _layer_series(ax, x, start, color, dashed=True)
            if end is not None:
                _layer_series(ax, x, end, color, dashed=False)
    _frame(axes, title or "activations", "derivative (autograd)" if grad else None)
    for ax in axes:
        ax.autoscale_view()
    handles: list[Any] = [Line2D([], [], color=color, lw=2) for color in colors]
    if learned:
        handles += [Line2D([], [], color="black", lw=2),
                    Line2D([], [], color="black", lw=1.6, ls=_DASHED, alpha=0.75)]
    if units:
        handles.append(Line2D([], [], color="black", lw=0.6, alpha=0.5))
    _legend_beside(fig, handles, labels + styles, columns)
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


def _frame(axes: Any, title: str, derivative: str | None) -> None:
    """Labels, titles, the x and y axes drawn through 0 and a light grid: f(x) in the first
    panel, f'(x) in the second where there is one (``derivative`` its title)."""
    axes[0].set(xlabel="x", ylabel="f(x)", title=title)
    if derivative is not None:
        axes[1].set(xlabel="x", ylabel="f'(x)", title=derivative)
    for ax in axes:
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(0, color="black", lw=0.5)
        ax.grid(alpha=0.3)
