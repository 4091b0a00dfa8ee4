"""Activation curves and their derivatives; softmax as a stem plot."""

from __future__ import annotations

from collections.abc import Sequence
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
