"""What every figure shares: distinct series colours, markers for short lines, legends
beside the axes, log ticks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _epoch_axis(ax: Any, epochs: np.ndarray) -> None:  # matplotlib Axes
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
    figure grows taller instead. A label of several lines (see :func:`_wrap`) takes as many
    rows. The width is an estimate (0.62 em a character) only used to size the figure:
    constrained layout places the legend itself."""
    row = 1.55 * _LEGEND_EM  # a text line and the label spacing
    lines = sum(label.count("\n") + 1 for label in labels)
    rows = max(int((height - 0.6) / row), 1)
    columns = max(-(-lines // rows), 1)
    if columns > 3:
        columns = 3
        height = max(height, -(-lines // 3) * row + 0.8)
    if not labels:
        return 1, 0.0, height
    longest = max(len(line) for label in labels for line in label.split("\n"))
    return columns, columns * (4.8 + 0.62 * longest) * _LEGEND_EM + 0.3, height


WRAP = 48  # characters: a longer label (a cell of several varied keys) goes on more lines
WRAP_LINES = 4  # and on at most this many: past them it ends in "…" (figures stay bounded)


def _wrap(label: str, width: int = WRAP) -> str:
    """``label`` on lines of at most ``width`` characters, broken at spaces (after the
    commas between a cell's keys) where it can be; at most WRAP_LINES of them."""
    import textwrap

    if len(label) <= width:
        return label
    lines = textwrap.wrap(label, width, break_on_hyphens=False) or [label]
    if len(lines) > WRAP_LINES:
        lines = [*lines[:WRAP_LINES - 1], lines[WRAP_LINES - 1][:width - 1] + "…"]
    return "\n".join(lines)


def _others(ax: Any, series: Sequence[tuple[Any, Any]], label: str,  # Axes
            positive: bool = False) -> None:
    """Many series as thin grey lines under the named ones, one artist and one legend entry
    for them all (``series``: (x, y) pairs; with ``positive`` only values > 0, for a log
    axis). A series of one finite point is a grey dot."""
    from matplotlib.collections import LineCollection

    segments: list[np.ndarray] = []
    dots: list[np.ndarray] = []
    for x, y in series:
        x, y = np.asarray(x, dtype=float), _finite(y)
        keep = np.isfinite(x) & np.isfinite(y) & ((y > 0) if positive else True)
        points = np.column_stack([x[keep], y[keep]])
        (segments if len(points) > 1 else dots).append(points)
    ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.7, alpha=0.3,
                                     zorder=1.5, label=label))
    if any(len(d) for d in dots):
        dot = np.concatenate([d for d in dots if len(d)])
        ax.plot(dot[:, 0], dot[:, 1], "o", color="0.55", alpha=0.45, markersize=2.5,
                zorder=1.5, label="_others")
    ax.autoscale_view()


def _legend_beside(fig: Figure, handles: Sequence[Any], labels: Sequence[str],
                   columns: int) -> None:
    """One figure legend to the right of every axes, never over the data."""
    if handles:
        fig.legend(handles, labels, loc="outside right upper", ncols=columns,
                   fontsize="small")


def _handles_labels(ax: Any) -> tuple[list[Any], list[str]]:  # Axes
    handles, labels = ax.get_legend_handles_labels()
    return list(handles), list(labels)


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


def _log_axis_ticks(axis: Any, values: np.ndarray) -> None:  # an Axis
    """:func:`log_ticks` over ``values`` on a log ``axis``, plain numbers, no minor labels
    (matplotlib's own labels a span under a decade with one or two 'a x 10^b')."""
    from matplotlib.ticker import NullFormatter

    ticks = log_ticks(float(values.min()), float(values.max()))
    axis.set_ticks(ticks, labels=[_number(t) for t in ticks])
    axis.set_minor_formatter(NullFormatter())


def _log_colorbar(fig: Figure, shown: Any, ax: Any, label: str,
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


def _log_norm(levels: np.ndarray) -> Any:  # matplotlib.colors.LogNorm
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=levels[0], vmax=levels[-1])


def _label_width(count: int) -> float:
    """Inches of x axis per bar: 0.6 up to 20 bars, then 0.3 (the labels still clear)."""
    return 0.6 if count <= 20 else 0.3


def _zoom(set_lim: Any, means: np.ndarray, low: np.ndarray,  # a set_*lim
          high: np.ndarray) -> None:
    """The value axis zoomed to the spread of the finite bars (an accuracy's: within
    [0, 1], plus a margin)."""
    ok = np.isfinite(means)
    if ok.any():
        lowest, highest = float(low[ok].min()), float(high[ok].max())
        margin = 0.1 * max(highest - lowest, 1e-3)  # the axis is zoomed to the spread
        set_lim(max(0.0, lowest - margin), min(1.0, highest) + margin)


def _category_axis(ax: Any, labels: Sequence[str], vertical: bool) -> None:
    """One tick per cell, named: rotated under vertical bars; best at the top beside
    horizontal ones."""
    shown = [_wrap(label) for label in labels]
    if vertical:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(shown, rotation=45, ha="right")
        ax.set_xlim(-0.6, max(len(labels), 1) - 0.4)
    else:
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(shown, fontsize="small")
        ax.set_ylim(max(len(labels), 1) - 0.4, -0.6)  # the best at the top


def _bars_height(labels: Sequence[str]) -> float:
    """Inches: room for the axes and labels rotated under them (wrapped at WRAP)."""
    longest = max((len(line) for label in labels for line in _wrap(label).split("\n")),
                  default=0)
    return max(4.2, 2.6 + 0.06 * longest)


def _ranked_figure(named: Sequence[str]) -> tuple[Figure, Any, Any]:
    """A figure of two panels of bounded size: the named best cells (horizontal bars,
    their names beside them) and every cell by its rank."""
    lines = sum(_wrap(label).count("\n") + 1 for label in named)
    fig = Figure(figsize=(13, max(5.6, 0.19 * lines + 1.6)), layout="constrained")
    best, ranks = fig.subplots(1, 2, width_ratios=[1, 1.2])
    return fig, best, ranks
