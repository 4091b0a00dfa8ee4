"""A compare's figures: curves per cell, time to target, bars, gradient flow, lr range tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from actcli.plots._layout import (
    _bars_height,
    _category_axis,
    _colors_of,
    _epoch_axis,
    _finite,
    _handles_labels,
    _label_width,
    _legend_beside,
    _legend_size,
    _log_axis_ticks,
    _marker,
    _others,
    _ranked_figure,
    _wrap,
    _zoom,
    series_colors,
)

NAMED = 20  # a compare of more cells names its best NAMED in each figure, the rest summarised


def _named(items: Sequence[str], named: int | None) -> int:
    """How many of ``items`` (best first) a figure names: all, or the first ``named``."""
    return len(items) if named is None else min(named, len(items))


def _others_label(count: int) -> str:
    return f"{count} other cell{'s' if count != 1 else ''} (grey)"


def compare_curves(curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, str]],
                   target: float | None = None, *, colors: Mapping[str, str] | None = None,
                   named: int | None = None) -> Figure:
    """Each cell's monitored accuracy against epochs: mean line, band of ± one std, clipped
    to [0, 1] (where an accuracy can be); the target accuracy as a dotted line. A colour
    per cell (``colors`` by label, else :func:`series_colors` in order), the legend beside
    the axes. With ``named``, only the first ``named`` cells (the caller's order: best
    first) are drawn so and named; the others are thin grey lines under them, one legend
    entry for all of them."""
    key = next(iter(curves.values()))[3] if curves else "accuracy"
    items = list(curves.items())
    count = _named([label for label, _ in items], named)
    shown, rest = items[:count], items[count:]
    labels = ([_wrap(label) for label, _ in shown] + ([_others_label(len(rest))] if rest else [])
              + ([f"target {target:.4g}"] if target is not None else []))
    columns, extra, height = _legend_size(labels, 4.5 if not rest else
                                          max(4.5, 0.2 * len(labels) + 0.8))
    fig = Figure(figsize=(8 + extra, height), layout="constrained")
    ax = fig.subplots()
    lo, hi = (0.0, 1.0) if "accuracy" in key else (-np.inf, np.inf)
    for (label, (epochs, mean, std, _)), color in zip(
            shown, _colors_of([label for label, _ in shown], colors), strict=True):
        mean, std = _finite(mean), _finite(std)
        ax.plot(epochs, mean, color=color, label=_wrap(label), marker=_marker(len(epochs)),
                markersize=3.5, zorder=2.5)
        ax.fill_between(epochs, np.clip(mean - std, lo, hi), np.clip(mean + std, lo, hi),
                        color=color, alpha=0.2, lw=0)
    if rest:
        _others(ax, [(epochs, mean) for _, (epochs, mean, _, _) in rest],
                _others_label(len(rest)))
    if target is not None:
        ax.axhline(target, color="black", lw=0.8, ls=":", label=f"target {target:.4g}")
    title = f"{key} (mean ± std over seeds)"
    if rest:
        title = f"{key}: the best {len(shown)} of {len(items)} cells (mean ± std over seeds)"
    ax.set(xlabel="epoch", ylabel=key.replace("_", " "), title=title)
    _epoch_axis(ax, np.concatenate([np.asarray(c[0], dtype=float) for c in curves.values()])
                if curves else np.array([]))
    ax.grid(alpha=0.3)
    _legend_beside(fig, *_handles_labels(ax), columns)
    return fig


def time_to_target(labels: Sequence[str], epochs: Sequence[Sequence[float | None]],
                   title: str, *, named: int = NAMED) -> Figure:
    """Epochs each cell took to reach the target: a bar at the mean of the seeds that did,
    a dot per seed; 'never' where no seed did. Past ``named`` cells (best first), the first
    ``named`` are named in a panel and every cell is a dot by its rank beside it."""
    from matplotlib.ticker import MaxNLocator

    reached = [[float(v) for v in values if v is not None and np.isfinite(v)]
               for values in epochs]
    if len(labels) <= named:
        fig = Figure(figsize=(max(6, _label_width(len(labels)) * len(labels) + 2),
                              _bars_height(labels)), layout="constrained")
        ax = fig.subplots()
        _target_bars(ax, labels, epochs, reached, vertical=True)
        ax.set(ylabel="epochs to target", title=f"epochs to reach {title}")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return fig
    fig, best, ranks = _ranked_figure(labels[:named])
    _target_bars(best, labels[:named], epochs[:named], reached[:named], vertical=False)
    best.set(xlabel="epochs to target", title=f"the best {named} of {len(labels)} cells")
    best.xaxis.set_major_locator(MaxNLocator(integer=True))
    means = np.array([np.mean(r) if r else np.nan for r in reached])
    rank = np.arange(1, len(labels) + 1)
    some = np.isfinite(means)
    ranks.plot(rank[some], means[some], "o", color="C0", markersize=2.5)
    never = ~some
    top = float(means[some].max()) if some.any() else 1.0
    if never.any():  # drawn at a level of their own above every cell that got there
        ranks.plot(rank[never], np.full(never.sum(), top * 1.1 + 1), "x", color="C3",
                   markersize=3.5)
    ranks.axvspan(0.5, named + 0.5, color="C1", alpha=0.1, lw=0)
    ranks.set_xlim(0.5, len(labels) + 0.5)
    ranks.yaxis.set_major_locator(MaxNLocator(integer=True))
    ranks.set(xlabel="rank in the report (1 = best; shaded: named on the left)",
              ylabel="epochs to target (mean of the seeds that got there)",
              title=f"all {len(labels)} cells; {int(never.sum())} never got there "
                    "(red x, at the top)")
    fig.suptitle(f"epochs to reach {title}")
    for ax in (best, ranks):
        ax.grid(alpha=0.3)
    return fig


def _target_bars(ax: Any, labels: Sequence[str], epochs: Sequence[Sequence[float | None]],  # Axes
                 reached: Sequence[Sequence[float]], vertical: bool) -> None:
    """A bar per cell at the mean epochs of its seeds that reached the target, a dot per
    seed, 'never' (or how many never) where seeds did not; vertical or horizontal bars."""
    for i, (values, got) in enumerate(zip(epochs, reached, strict=True)):
        if got:
            mean = float(np.mean(got))
            if vertical:
                ax.bar(i, mean, color="C0", alpha=0.7)
                ax.plot([i] * len(got), got, "o", color="black", markersize=3)
            else:
                ax.barh(i, mean, color="C0", alpha=0.7)
                ax.plot(got, [i] * len(got), "o", color="black", markersize=3)
        if len(got) < len(values):
            text = "never" if not got else f"{len(values) - len(got)} never"
            if vertical:
                ax.annotate(text, (i, 0), xytext=(0, 3), textcoords="offset points",
                            ha="center", rotation=90, va="bottom", color="C3",
                            fontsize="small")
            else:
                ax.annotate(text, (0, i), xytext=(3, 0), textcoords="offset points",
                            ha="left", va="center", color="C3", fontsize="small")
    _category_axis(ax, labels, vertical)
    ax.grid(alpha=0.3, axis="y" if vertical else "x")


def compare_bars(labels: Sequence[str], values: Sequence[tuple[float, float]],
                 name: str, *, named: int = NAMED) -> Figure:
    """Final metric per cell, best first, with error bars of one std (an accuracy's clipped
    to [0, 1]); 'no result' where the mean is not a number. Past ``named`` cells, the first
    ``named`` are bars in a panel of their own and every cell is a point by its rank
    beside it (its ± std a band)."""
    means = _finite([v[0] for v in values])
    stds = np.nan_to_num(_finite([v[1] for v in values]), nan=0.0)
    bound_lo, bound_hi = (0.0, 1.0) if "accuracy" in name else (-np.inf, np.inf)
    low = np.clip(means - stds, bound_lo, bound_hi)
    high = np.clip(means + stds, bound_lo, bound_hi)
    if len(labels) <= named:
        fig = Figure(figsize=(max(6, _label_width(len(labels)) * len(labels) + 2),
                              _bars_height(labels)), layout="constrained")
        ax = fig.subplots()
        _metric_bars(ax, labels, means, low, high, vertical=True)
        ax.set(ylabel=name, title=f"final {name} (mean ± std over seeds; axis zoomed)")
        return fig
    fig, best, ranks = _ranked_figure(labels[:named])
    _metric_bars(best, labels[:named], means[:named], low[:named], high[:named],
                 vertical=False)
    best.set(xlabel=name, title=f"the best {named} of {len(labels)} cells (axis zoomed)")
    rank = np.arange(1, len(labels) + 1)
    ranks.fill_between(rank, low, high, color="C0", alpha=0.25, lw=0)
    ranks.plot(rank, means, color="C0", lw=1)
    ranks.plot(rank[:named], means[:named], "o", color="C1", markersize=3)
    ranks.axvspan(0.5, named + 0.5, color="C1", alpha=0.1, lw=0)
    _zoom(ranks.set_ylim, means, low, high)
    ranks.set_xlim(0.5, len(labels) + 0.5)
    missing = int((~np.isfinite(means)).sum())
    ranks.set(xlabel="rank in the report (1 = best; shaded: named on the left)", ylabel=name,
              title=f"all {len(labels)} cells (band: ± std" +
                    (f"; {missing} without a result, not drawn)" if missing else ")"))
    ranks.grid(alpha=0.3)
    fig.suptitle(f"final {name} (mean ± std over seeds)")
    return fig


def _metric_bars(ax: Any, labels: Sequence[str], means: np.ndarray, low: np.ndarray,  # Axes
                 high: np.ndarray, vertical: bool) -> None:
    """A bar per cell with its clipped error bar, the value axis zoomed to their spread,
    'no result' where a mean is not a number; vertical or horizontal bars."""
    index = np.arange(len(labels))
    ok = np.isfinite(means)
    spread = [means[ok] - low[ok], high[ok] - means[ok]]
    if vertical:
        ax.bar(index[ok], means[ok], yerr=spread, capsize=4, color="C0")
    else:
        ax.barh(index[ok], means[ok], xerr=spread, capsize=3, color="C0")
    _zoom(ax.set_ylim if vertical else ax.set_xlim, means, low, high)
    for i in index[~ok]:
        if vertical:
            ax.annotate("no result", (i, 0), xycoords=("data", "axes fraction"),
                        xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                        rotation=90, color="C3", fontsize="small")
        else:
            ax.annotate("no result", (0, i), xycoords=("axes fraction", "data"),
                        xytext=(3, 0), textcoords="offset points", ha="left", va="center",
                        color="C3", fontsize="small")
    _category_axis(ax, labels, vertical)
    ax.grid(alpha=0.3, axis="y" if vertical else "x")


def gradient_flow(flow: Mapping[str, np.ndarray], *,
                  colors: Mapping[str, str] | None = None, named: int | None = None
                  ) -> Figure:
    """Mean gradient norm of each layer's weights, one line per cell (log scale; a zero or
    non-finite norm is left out and the title says so); ``colors`` and ``named`` as in
    :func:`compare_curves`."""
    items = list(flow.items())
    count = _named([label for label, _ in items], named)
    shown, rest = items[:count], items[count:]
    labels = [_wrap(label) for label, _ in shown] + (
        [_others_label(len(rest))] if rest else [])
    columns, extra, height = _legend_size(labels, 4.2 if not rest else
                                          max(4.2, 0.2 * len(labels) + 0.8))
    fig = Figure(figsize=(7 + extra, height), layout="constrained")
    ax = fig.subplots()
    everything = [_finite(norms) for norms in flow.values()]
    for (label, _), values, color in zip(shown, everything[:count],
                                         _colors_of([label for label, _ in shown], colors),
                                         strict=True):
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", color=color,
                label=_wrap(label), zorder=2.5)
    title = "gradient flow: weight-gradient norm by layer"
    values = np.concatenate(everything) if everything else np.array([])
    log = bool((values > 0).any())
    if rest:
        _others(ax, [(np.arange(1, len(v) + 1), v) for v in everything[count:]],
                _others_label(len(rest)), positive=log)
        title = f"gradient flow: the best {len(shown)} of {len(items)} cells"
    if log:
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


def seed_scores(labels: Sequence[str], values: Sequence[Sequence[float]], name: str,
                iqms: Sequence[tuple[float, float, float]], *, named: int = NAMED) -> Figure:
    """Every seed's score per cell, best first: one dot a seed (spread sideways where seeds
    share a value, so that ties stay countable), the interquartile mean as a bar with its
    bootstrap 95% interval. Past ``named`` cells only the first ``named`` are drawn, and
    the title says how many are left out."""
    shown = list(labels[:named])
    fig = Figure(figsize=(max(6, _label_width(len(shown)) * len(shown) + 2),
                          _bars_height(shown)), layout="constrained")
    ax = fig.subplots()
    for i, seeds in enumerate(values[:named]):
        points = np.asarray([v for v in seeds if np.isfinite(v)], dtype=float)
        if points.size:
            _, inverse, counts = np.unique(points, return_inverse=True, return_counts=True)
            offset = np.zeros(points.size)
            for group in range(counts.size):  # equal values side by side, centred
                members = np.flatnonzero(inverse == group)
                offset[members] = (np.arange(members.size) - (members.size - 1) / 2) * \
                    min(0.08, 0.6 / max(members.size, 1))
            ax.plot(i + offset, points, "o", color="C0", alpha=0.7, markersize=4,
                    label="a seed" if i == 0 else None)
        middle, low, high = iqms[i]
        if np.isfinite(middle):
            ax.errorbar(i, middle, yerr=[[middle - low], [high - middle]], fmt="_",
                        color="C1", markersize=18, capsize=4, lw=1.5,
                        label="IQM, bootstrap 95% CI" if i == 0 else None)
    _category_axis(ax, shown, vertical=True)
    ax.grid(axis="y", alpha=0.3)
    left = len(labels) - len(shown)
    ax.set(ylabel=name, title=f"{name} of every seed (best first)" +
           (f"; {left} more cells in summary.csv" if left else ""))
    ax.legend(loc="best", fontsize="small")
    return fig
