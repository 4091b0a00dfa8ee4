"""A compare's figures: curves per cell, time to target, bars, gradient flow, lr range tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import (
    _colors_of,
    _epoch_axis,
    _finite,
    _handles_labels,
    _label_width,
    _legend_beside,
    _legend_size,
    _log_axis_ticks,
    _marker,
    series_colors,
)


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
