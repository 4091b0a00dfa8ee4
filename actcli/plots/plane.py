"""2-D tasks' figures in the style of the Neural Network Playground: the network's output
over the plane as a heat map with the data on it, each hidden unit's map, a compare's maps
side by side, and the decision surface over training as a GIF.

Colours are the Playground's: orange for class 0 (or a negative value), blue for class 1
(or a positive one), near-white between. Values over the grid are (G, G) arrays indexed
``[row (x2), column (x1)]``; ``values[i, j]`` is drawn at ``(xs[j], ys[i])``, x2 upwards.
Where a value is NaN or infinite nothing is drawn and the light grey background shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from contourpy import LineType, contour_generator
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from actcli.plots._layout import _wrap
from actcli.plots.animation import MAX_FRAMES, _gif, frame_indices

PLAYGROUND = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])
MAX_UNITS = 64  # unit_maps draws at most this many units of a layer (the first ones)
UNIT_COLUMNS = 16  # ... on rows of at most this many maps
CONTOUR = "contour 0.5"  # the gid of the Line2D that draws the 0.5 boundary
_BLANK = "0.82"  # behind non-finite values


@dataclass(frozen=True)
class PlaneGrid:
    """An evenly spaced grid over the plane: ``xs`` (G,) the columns' x1 and ``ys`` the
    rows' x2, both increasing (raw task units); values over it are (len(ys), len(xs))."""

    xs: np.ndarray
    ys: np.ndarray

    def __post_init__(self) -> None:
        for name in ("xs", "ys"):
            axis = np.asarray(getattr(self, name), dtype=float)
            object.__setattr__(self, name, axis)
            steps = np.diff(axis)
            if axis.ndim != 1 or axis.size < 2 or not np.isfinite(axis).all() or (
                    steps <= 0).any() or not np.allclose(steps, steps[0], rtol=1e-4):
                raise ValueError(f"PlaneGrid.{name} must be 1-D, at least 2 finite values, "
                                 "increasing and evenly spaced (np.linspace)")

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top): each value's pixel is centred on its grid point."""
        dx, dy = (self.xs[-1] - self.xs[0]) / (len(self.xs) - 1), (
            self.ys[-1] - self.ys[0]) / (len(self.ys) - 1)
        return (float(self.xs[0] - dx / 2), float(self.xs[-1] + dx / 2),
                float(self.ys[0] - dy / 2), float(self.ys[-1] + dy / 2))


@dataclass(frozen=True)
class PlanePoints:
    """Samples: ``x`` (N, 2) raw coordinates, ``y`` (N,) 0/1 labels or regression values."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        x, y = np.asarray(self.x, dtype=float), np.asarray(self.y, dtype=float)
        if x.ndim != 2 or x.shape[1] != 2 or y.shape != (len(x),):
            raise ValueError(f"PlanePoints: x {x.shape} must be (N, 2), y {y.shape} (N,)")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


def _values(grid: PlaneGrid, values: np.ndarray) -> np.ma.MaskedArray:
    array = np.asarray(values, dtype=float)
    if array.shape != (len(grid.ys), len(grid.xs)):
        raise ValueError(f"values of shape {array.shape} over a grid of "
                         f"{len(grid.ys)} rows x {len(grid.xs)} columns")
    return np.ma.masked_invalid(array)


def _norm(regression: bool, *arrays: np.ndarray) -> Normalize:
    """[0, 1] for a probability; for a regression symmetric about 0 over every finite value."""
    if not regression:
        return Normalize(0.0, 1.0)
    finite = [np.abs(a[np.isfinite(a)]) for a in map(np.asarray, arrays) if np.size(a)]
    top = max((float(a.max()) for a in finite if a.size), default=0.0)
    return Normalize(-(top or 1.0), top or 1.0)


def _boundary(grid: PlaneGrid, values: np.ma.MaskedArray) -> tuple[np.ndarray, np.ndarray]:
    """The 0.5 contour of ``values`` as one polyline, pieces separated by NaN (empty where
    the values never cross 0.5): one Line2D, cheap to redraw in a GIF frame."""
    generator = contour_generator(grid.xs, grid.ys, values, line_type=LineType.Separate)
    lines = cast("list[np.ndarray]", generator.lines(0.5))  # Separate: one (n, 2) per piece
    pieces = [np.vstack([piece, [[np.nan, np.nan]]]) for piece in lines if len(piece)]
    joined = np.vstack(pieces) if pieces else np.empty((0, 2))
    return joined[:, 0], joined[:, 1]


def _plane_axes(ax: Any, grid: PlaneGrid, values: np.ma.MaskedArray, norm: Normalize,
                contour: bool, ticks: bool = True, smooth: bool = False,
                ) -> tuple[Any, Any]:  # Axes
    """The heat map and (for a classification) the 0.5 line on ``ax``: (image, line).
    ``smooth``: values interpolated bilinearly between grid points (the large map);
    otherwise each grid point is a flat cell (small panels: the PNG encodes twice as fast
    and a cell is a few pixels anyway)."""
    image = ax.imshow(values, cmap=PLAYGROUND, norm=norm, origin="lower", extent=grid.extent,
                      interpolation="bilinear" if smooth else "nearest",
                      interpolation_stage="data")
    ax.set_facecolor(_BLANK)
    ax.set_aspect("equal")
    line = None
    if contour:
        (line,) = ax.plot(*_boundary(grid, values), color="black", lw=1.2, gid=CONTOUR)
    if not ticks:  # cheaper than empty ticks: the axis is never drawn (the frame is)
        ax.xaxis.set_visible(False)
        ax.yaxis.set_visible(False)
    return image, line


def _points(ax: Any, points: PlanePoints, norm: Normalize, *, test: bool = False,
            size: float = 16, alpha: float = 1.0) -> Any:  # a PathCollection
    """Points in their label's colour: train edged white, test edged black (as the
    Playground does)."""
    colors = PLAYGROUND(norm(points.y))
    return ax.scatter(points.x[:, 0], points.x[:, 1], s=size, c=colors, alpha=alpha, zorder=3,
                      edgecolors="black" if test else "white", linewidths=0.9 if test else 0.5)


def decision_map(grid: PlaneGrid, values: np.ndarray, train: PlanePoints,
                 test: PlanePoints | None, *, regression: bool, title: str = "",
                 value_label: str | None = None) -> Figure:
    """The model's output over the plane with the data on it.

    A classification shows P(class 1) in [0, 1] (orange 0, white 0.5, blue 1) and the 0.5
    boundary as a black line where the values cross 0.5; a regression shows the prediction
    on limits symmetric about 0 (white), as large as the largest |value| of the map and the
    points. Train points are white-edged, test points black-edged; the legend below says
    which and how many. ``value_label`` names the colour bar (default "P(class 1)" or
    "prediction")."""
    shown = _values(grid, values)
    norm = _norm(regression, shown.compressed(), train.y,
                 test.y if test is not None else np.empty(0))
    crosses = not regression and shown.count() > 0 and shown.min() < 0.5 < shown.max()
    fig = Figure(figsize=(5.8, 5.4), layout="constrained")
    ax = fig.subplots()
    image, line = _plane_axes(ax, grid, shown, norm, crosses, smooth=True)
    handles: list[Any] = []
    labels: list[str] = []
    for points, is_test in ((train, False), (test, True)):
        if points is not None:
            _points(ax, points, norm, test=is_test)
            handles.append(Line2D([], [], ls="", marker="o", color="0.6", markersize=6,
                                  markeredgecolor="black" if is_test else "white"))
            labels.append(f"{'test' if is_test else 'train'} ({len(points.y)})")
    if line is not None:
        handles.append(line)
        labels.append("P = 0.5")
    left, right, bottom, top = grid.extent
    ax.set(xlim=(left, right), ylim=(bottom, top), xlabel="x1", ylabel="x2", title=title)
    fig.colorbar(image, ax=ax, shrink=0.85,
                 label=value_label or ("prediction" if regression else "P(class 1)"))
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(handles),
                   fontsize="small", frameon=False)
    return fig


def unit_maps(grid: PlaneGrid, layers: Sequence[np.ndarray], *,
              names: Sequence[str] | None = None) -> Figure:
    """Each hidden unit's activation over the plane: a row (or several) per layer.

    ``layers[l]`` is (units, G, G). A layer's maps wrap onto rows of UNIT_COLUMNS; of more
    than MAX_UNITS units the first MAX_UNITS are drawn and the row label says how many were
    left out. Each map has its own colour scale, symmetric about 0 (white; blue positive,
    orange negative) and as large as its largest |activation|, given in its title
    ('h1.3 ±0.8': layer 1, unit 3, both counted from 1): a unit's shape shows even when
    its values are small, and the title says how small. ``names`` label the rows
    (default 'layer 1', ...), each followed by the unit count. Every map is an image on
    one axes spanning the figure (positions in inches; an axes per unit costs ~4 ms, so
    4 layers of 32 units would take a second), laid out by hand, without ticks."""
    shown = [np.asarray(layer, dtype=float)[:MAX_UNITS] for layer in layers]
    columns = max(min(max((len(s) for s in shown), default=1), UNIT_COLUMNS), 1)
    rows = [max(math.ceil(len(s) / columns), 1) for s in shown]
    cell, label_w, top, gap, side = 0.92, 1.35, 0.5, 0.14, 0.78  # inches
    width = max(label_w + columns * cell + 0.1, 5.6)  # (the title's width)
    height = max(top + sum(rows) * cell + gap * max(len(rows) - 1, 0) + 0.1, 1.2)
    fig = Figure(figsize=(width, height))
    fig.suptitle("hidden units over the plane (each map on its own scale, white = 0)",
                 y=1 - 0.12 / height, va="top", fontsize="medium")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    # a map keeps the plane's aspect inside its square
    left, right, bottom, up = grid.extent
    aspect = (up - bottom) / (right - left)
    w, h = (side, side * aspect) if aspect <= 1 else (side / aspect, side)
    cmap = PLAYGROUND.with_extremes(bad=_BLANK)
    y = top
    for index, (layer, count, full) in enumerate(zip(shown, rows, layers, strict=True)):
        name = names[index] if names is not None else f"layer {index + 1}"
        units = len(full)
        label = f"{_wrap(name, 18)}\n({units} unit{'s' if units != 1 else ''}"
        label += f":\nfirst {len(layer)} shown,\n{units - len(layer)} left out)" if (
            units > len(layer)) else ")"
        fig.text((label_w - 0.12) / width, 1 - (y + cell / 2) / height, label, ha="right",
                 va="center", fontsize="small")
        for unit, values in enumerate(layer):
            row, column = divmod(unit, columns)
            x0 = label_w + column * cell + 0.04 + (side - w) / 2
            y0 = height - (y + (row + 1) * cell) + (side - h) / 2
            scale = np.abs(values[np.isfinite(values)])
            limit = float(scale.max()) if scale.size else 0.0
            ax.imshow(_values(grid, values), cmap=cmap, origin="lower",
                      norm=Normalize(-(limit or 1), limit or 1), interpolation="nearest",
                      extent=(x0, x0 + w, y0, y0 + h), aspect="auto")
            ax.text(x0 + w / 2, y0 + h + 0.03, f"h{index + 1}.{unit + 1} ±{limit:.2g}",
                    fontsize=6.5, ha="center", va="bottom")
        y += count * cell + gap
    ax.set_xlim(0, width)  # (imshow moves the limits to its extent)
    ax.set_ylim(0, height)
    if not layers:
        fig.text(0.5, 0.4, "no hidden units", ha="center")
    return fig


def decision_grid(grid: PlaneGrid | Sequence[PlaneGrid], maps: Sequence[np.ndarray],
                  titles: Sequence[str], train: PlanePoints | Sequence[PlanePoints], *,
                  regression: bool, columns: int | None = None) -> Figure:
    """A compare's decision maps side by side, one panel per cell, on one colour scale.

    Each panel shows its map (as in :func:`decision_map`, the 0.5 line where a
    classification crosses it) with the training points small and light, its title above
    it; one colour bar for all. ``columns`` defaults to ceil(sqrt(n)), at most 6: 11 maps
    are 3 rows of 4. Laid out by hand, ticks only on the bottom-left panel (the panels
    share the plane; ticks on every panel would cost more than all the rest)."""
    if len(titles) != len(maps):
        raise ValueError(f"{len(maps)} maps but {len(titles)} titles")
    # one grid and one set of points for all panels, or each panel its own (cells whose
    # data differ: another set, other noise)
    grids = [grid] * len(maps) if isinstance(grid, PlaneGrid) else list(grid)
    points = [train] * len(maps) if isinstance(train, PlanePoints) else list(train)
    if len(grids) != len(maps) or len(points) != len(maps):
        raise ValueError(f"{len(maps)} maps but {len(grids)} grids and {len(points)} point sets")
    shown = [_values(g, values) for g, values in zip(grids, maps, strict=True)]
    norm = _norm(regression, *(p.y for p in points), *(m.compressed() for m in shown))
    count = max(len(shown), 1)
    columns = max(min(columns or min(math.ceil(math.sqrt(count)), 6), count), 1)
    rows = math.ceil(count / columns)
    panel, head, gap, left, bottom = 2.1, 0.42, 0.18, 0.45, 0.35  # inches
    width = left + columns * (panel + gap) + 1.0
    height = bottom + rows * (panel + head) + 0.05
    fig = Figure(figsize=(width, height))
    image = None
    for k, values in enumerate(shown):
        row, column = divmod(k, columns)
        ax = fig.add_axes(((left + column * (panel + gap)) / width,
                           1 - (0.05 + (row + 1) * (panel + head)) / height + 0.0,
                           panel / width, panel / height))
        crosses = not regression and values.count() > 0 and values.min() < 0.5 < values.max()
        corner = row == rows - 1 and column == 0
        image, _ = _plane_axes(ax, grids[k], values, norm, crosses, ticks=corner)
        _points(ax, points[k], norm, size=5, alpha=0.5)
        ax.set_title(_wrap(titles[k], 30), fontsize="small", pad=3)
        if corner:
            ax.tick_params(labelsize=7, length=2, pad=1)
    if image is not None:
        cax = fig.add_axes(((left + columns * (panel + gap) + 0.05) / width, 0.15,
                            0.16 / width, 0.7))
        fig.colorbar(image, cax=cax, label="prediction" if regression else "P(class 1)")
    return fig


def decision_animation(grid: PlaneGrid, frames: Sequence[tuple[int, float, np.ndarray]],
                       train: PlanePoints, *, regression: bool,
                       progress: Callable[[int, int], None] | None = None,
                       most: int = MAX_FRAMES) -> bytes:
    """A GIF of the decision surface over training, one frame per (epoch, train loss,
    values): at most ``most``, picked by :func:`frame_indices` (the first and last kept).

    One colour scale for every frame (a regression's symmetric over all frames shown and
    the points). Each frame redraws the map, the 0.5 line (a classification's; one
    polyline from contourpy, under a millisecond at G=60), the training points over them
    and the title; the axes and colour bar are drawn once. ``progress(done, total)`` as in
    :func:`actcli.plots.fit_animation`."""
    if not frames:
        raise ValueError("decision_animation needs at least one frame")
    shown = [(epoch, loss, _values(grid, values))
             for epoch, loss, values in (frames[i] for i in frame_indices(len(frames), most))]
    norm = _norm(regression, train.y, *(values.compressed() for _, _, values in shown))
    fig = Figure(figsize=(5.2, 4.6), dpi=80, layout="constrained")
    ax = fig.subplots()
    image, line = _plane_axes(ax, grid, shown[0][2], norm, not regression)
    dots = _points(ax, train, norm, size=12)
    left, right, bottom, top = grid.extent
    ax.set(xlim=(left, right), ylim=(bottom, top), xlabel="x1", ylabel="x2")
    fig.colorbar(image, ax=ax, shrink=0.85, label="prediction" if regression else "P(class 1)")
    heading = ax.set_title(" ")

    def show(k: int) -> None:
        epoch, loss, values = shown[k]
        image.set_data(values)
        if line is not None:
            line.set_data(*_boundary(grid, values))
        heading.set_text(f"epoch {epoch}, train loss {loss:.4g}")

    moving = [image] + ([line] if line is not None else []) + [dots, heading]
    return _gif(fig, moving, len(shown), show, 80, progress)
