"""The plane figures of 2-D tasks: the map shows ``values[i, j]`` at ``(xs[j], ys[i])`` (read
back from the image and from the rendered pixels), the 0.5 line only where the values cross
it, one axes per unit and per compared map, and a GIF of the right frames."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from PIL import Image

from actcli import folders
from actcli.plots.animation import frame_indices
from actcli.plots.plane import (
    CONTOUR,
    PLAYGROUND,
    UNIT_COLUMNS,
    PlaneGrid,
    PlanePoints,
    decision_animation,
    decision_grid,
    decision_map,
    unit_maps,
)

PNG = b"\x89PNG\r\n\x1a\n"
DPI = 120  # folders.save_figure's

# a plane twice as wide as tall, of different counts: a transposed map cannot slip through
GRID = PlaneGrid(np.linspace(-6, 6, 40), np.linspace(-3, 3, 30))
X1, X2 = np.meshgrid(GRID.xs, GRID.ys)  # (30, 40): [row (x2), column (x1)]
TRAIN = PlanePoints(np.array([[0.5, -0.5], [-0.5, 0.5], [1.0, 1.0]]), np.array([0.0, 1.0, 1.0]))
TEST = PlanePoints(np.array([[0.2, 0.3]]), np.array([0.0]))


def png(fig) -> tuple[bytes, np.ndarray]:
    """``fig`` saved as the project saves it: the bytes and the RGB pixels."""
    buffer = io.BytesIO()
    folders.render_png(fig, buffer, DPI)
    data = buffer.getvalue()
    return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=int)


def assert_png_of(fig, data: bytes, pixels: np.ndarray) -> None:
    assert data[:8] == PNG
    width, height = fig.get_size_inches() * DPI  # Agg truncates or rounds the fraction
    assert abs(pixels.shape[0] - height) < 1 and abs(pixels.shape[1] - width) < 1


def pixel_at(fig, ax, pixels: np.ndarray, x: float, y: float) -> np.ndarray:
    """The rendered RGB at data point (x, y): figure fractions stay those of the save."""
    fx, fy = ax.transData.transform((x, y)) / fig.bbox.size
    height, width = pixels.shape[:2]
    return pixels[int(round((1 - fy) * height)), int(round(fx * width))]


def rgb255(value: float) -> np.ndarray:
    return np.array(to_rgb(PLAYGROUND(value))) * 255


def map_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def contour_lines(ax):
    return [line for line in ax.lines if line.get_gid() == CONTOUR]


def test_decision_map_shows_each_value_at_its_grid_point():
    values = np.random.default_rng(0).uniform(0, 1, X1.shape)
    fig = decision_map(GRID, values, TRAIN, TEST, regression=False, title="spiral")
    (ax,) = map_axes(fig)
    (image,) = ax.images
    np.testing.assert_array_equal(image.get_array(), values)
    assert image.origin == "lower"  # row 0 at the bottom: x2 upwards
    dx, dy = 12 / 39, 6 / 29  # pixel centres on the grid points
    np.testing.assert_allclose(image.get_extent(), (-6 - dx / 2, 6 + dx / 2, -3 - dy / 2,
                                                    3 + dy / 2))
    assert ax.get_title() == "spiral" and image.get_clim() == (0, 1)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["train (3)", "test (1)", "P = 0.5"]
    train, test = ax.collections  # filled in the label's colour; edged white, test black
    np.testing.assert_allclose(train.get_facecolors()[:, :3],
                               [to_rgb(PLAYGROUND(v)) for v in TRAIN.y])
    assert [tuple(c[:3]) for c in (train.get_edgecolors()[0], test.get_edgecolors()[0])] == [
        (1, 1, 1), (0, 0, 0)]


def test_decision_map_renders_the_quadrant_where_it_is_and_square_units():
    values = ((X1 > 0) & (X2 > 0)).astype(float)  # 1 in the top-right quadrant only
    fig = decision_map(GRID, values, TRAIN, None, regression=False)
    data, pixels = png(fig)
    assert_png_of(fig, data, pixels)
    (ax,) = map_axes(fig)
    box = ax.get_window_extent()
    assert box.width / box.height == pytest.approx(2.0 * 40 / 39 * 29 / 30, rel=0.02)
    one, zero = rgb255(1.0), rgb255(0.0)
    assert np.abs(pixel_at(fig, ax, pixels, 5, 2.5) - one).max() <= 3  # top right
    for x, y in ((-5, -2.5), (-5, 2.5), (5, -2.5)):  # the other three corners
        assert np.abs(pixel_at(fig, ax, pixels, x, y) - zero).max() <= 3, (x, y)
    assert np.abs(one - zero).max() > 100  # the two colours are far apart


def test_decision_map_draws_the_boundary_only_where_the_values_cross_one_half():
    values = 1 / (1 + np.exp(-2 * (X1 - 1)))  # 0.5 along x1 = 1
    (ax,) = map_axes(decision_map(GRID, values, TRAIN, TEST, regression=False))
    (line,) = contour_lines(ax)
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    assert np.nanmax(np.abs(x - 1)) < 0.02
    assert np.nanmin(y) == pytest.approx(-3) and np.nanmax(y) == pytest.approx(3)
    never = decision_map(GRID, np.full(X1.shape, 0.2), TRAIN, TEST, regression=False)
    assert not contour_lines(map_axes(never)[0])
    assert "P = 0.5" not in [t.get_text() for t in never.legends[0].get_texts()]
    nan = decision_map(GRID, np.full(X1.shape, np.nan), TRAIN, None, regression=False)
    assert not contour_lines(map_axes(nan)[0])
    assert png(nan)[0][:8] == PNG


def test_regression_map_limits_are_symmetric_over_values_and_points():
    values = X1 / 2  # -3 .. 3
    points = PlanePoints(TRAIN.x, np.array([-1.0, 4.5, 0.0]))
    fig = decision_map(GRID, values, points, None, regression=True)
    (ax,) = map_axes(fig)
    assert ax.images[0].get_clim() == (-4.5, 4.5)
    assert not contour_lines(ax)
    assert fig.axes[-1].get_ylabel() == "prediction"  # the colour bar
    labelled = decision_map(GRID, -values * 3, TRAIN, None, regression=True, value_label="y")
    assert map_axes(labelled)[0].images[0].get_clim() == (-9, 9)
    assert labelled.axes[-1].get_ylabel() == "y"
    data, pixels = png(fig)
    assert_png_of(fig, data, pixels)


def test_grid_and_points_are_checked():
    with pytest.raises(ValueError, match="evenly spaced"):
        PlaneGrid(np.array([0.0, 1.0, 3.0]), np.linspace(0, 1, 3))
    with pytest.raises(ValueError, match="rows"):
        decision_map(GRID, np.zeros((40, 30)), TRAIN, None, regression=False)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        PlanePoints(np.zeros((3, 3)), np.zeros(3))


def tanh_units(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, count, 1, 1))
    return np.tanh(a * X1 + b * X2) * np.arange(1, count + 1)[:, None, None]


def unit_images(fig):
    """(image, title) of every unit's map, in drawing order."""
    (ax,) = [ax for ax in fig.axes if ax.images] or [None]
    if ax is None:
        return []
    return list(zip(ax.images, ax.texts, strict=True))


def test_unit_maps_one_map_per_unit_each_on_its_own_symmetric_scale():
    layers = [tanh_units(8), tanh_units(8, seed=1)]
    fig = unit_maps(GRID, layers)
    maps = unit_images(fig)
    assert len(maps) == 16
    titles = [text.get_text().split()[0] for _, text in maps]
    assert titles == [f"h{layer}.{unit}" for layer in (1, 2) for unit in range(1, 9)]
    for (image, _), values in zip(maps, [u for layer in layers for u in layer], strict=True):
        top = np.abs(values).max()
        assert image.get_clim() == pytest.approx((-top, top))
        np.testing.assert_array_equal(image.get_array(), values)
        left, right, bottom, up = image.get_extent()
        x0, x1, y0, y1 = GRID.extent  # the plane's shape (about 2:1), kept in its square
        assert (right - left) / (up - bottom) == pytest.approx((x1 - x0) / (y1 - y0))
        assert image.origin == "lower"  # values[0] (the lowest x2) at the bottom
    labels = [t.get_text() for t in fig.texts]
    assert "layer 1\n(8 units)" in labels and "layer 2\n(8 units)" in labels
    data, pixels = png(fig)
    assert_png_of(fig, data, pixels)


def test_unit_maps_wrap_long_layers_and_leave_out_past_the_maximum():
    fig = unit_maps(GRID, [tanh_units(2 * UNIT_COLUMNS), tanh_units(100)],
                    names=["dense 1: relu", "dense 2: tanh"])
    maps = unit_images(fig)
    assert len(maps) == 2 * UNIT_COLUMNS + 64  # of 100: the first 64
    first = [image.get_extent() for image, _ in maps[:2 * UNIT_COLUMNS]]
    assert len({round(e[2], 4) for e in first}) == 2  # two rows
    assert len({round(e[0], 4) for e in first}) == UNIT_COLUMNS
    assert maps[-1][1].get_text().startswith("h2.64 ")
    labels = [t.get_text() for t in fig.texts]
    assert "dense 1: relu\n(32 units)" in labels
    assert "dense 2: tanh\n(100 units:\nfirst 64 shown,\n36 left out)" in labels
    assert not unit_images(unit_maps(GRID, [])) and png(unit_maps(GRID, []))[0][:8] == PNG


def test_unit_maps_draw_each_map_where_its_values_are():
    # one unit positive in the upper half of the plane (x2 > 0): blue above, orange below
    values = np.where(X2 > 0, 1.0, -1.0)[None]
    fig = unit_maps(GRID, [values])
    ((image, _),) = unit_images(fig)
    _, pixels = png(fig)
    left, right, bottom, up = image.get_extent()
    ax = image.axes
    upper = pixel_at(fig, ax, pixels, (left + right) / 2, bottom + 0.8 * (up - bottom))
    lower = pixel_at(fig, ax, pixels, (left + right) / 2, bottom + 0.2 * (up - bottom))
    assert np.abs(upper - rgb255(1.0)).max() < 12 and np.abs(lower - rgb255(0.0)).max() < 12


def test_decision_grid_one_panel_per_map_titled_on_one_scale():
    maps = [1 / (1 + np.exp(-(k + 1) * X1)) for k in range(10)] + [np.full(X1.shape, 0.7)]
    titles = [f"act{k}  acc 0.9{k}" for k in range(11)]
    fig = decision_grid(GRID, maps, titles, TRAIN, regression=False)
    panels = map_axes(fig)
    assert [ax.get_title() for ax in panels] == titles
    for ax, values in zip(panels, maps, strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), values)
        assert ax.images[0].get_clim() == (0, 1)
        assert len(contour_lines(ax)) == (values.min() < 0.5)  # none on the flat 0.7
        assert len(ax.collections) == 1  # the training points
    assert len(fig.axes) == 12  # and one colour bar
    assert len({round(ax.get_position().x0, 4) for ax in panels}) == 4  # ceil(sqrt(11))
    assert len({round(ax.get_position().y0, 4) for ax in panels}) == 3
    data, pixels = png(fig)
    assert_png_of(fig, data, pixels)
    two = map_axes(decision_grid(GRID, [2 * m for m in maps[:3]], titles[:3], TRAIN,
                                 regression=True, columns=3))
    assert len({round(ax.get_position().y0, 4) for ax in two}) == 1
    top = max(2 * np.abs(m).max() for m in maps[:3])  # the points' labels are at most 1
    assert all(ax.images[0].get_clim() == (-top, top) and not contour_lines(ax) for ax in two)
    with pytest.raises(ValueError, match="titles"):
        decision_grid(GRID, maps, titles[:2], TRAIN, regression=False)


def gif_frames(data: bytes) -> list[np.ndarray]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for k in range(image.n_frames):
        image.seek(k)
        frames.append(np.asarray(image.convert("RGB"), dtype=int))
    return frames


def test_decision_animation_shows_the_chosen_frames_and_the_surface_moves():
    frames = [(e, 1 / e, 1 / (1 + np.exp(-0.1 * e * X1))) for e in range(1, 31)]
    calls: list[tuple[int, int]] = []
    data = decision_animation(GRID, frames, TRAIN, regression=False, most=6,
                              progress=lambda done, total: calls.append((done, total)))
    images = gif_frames(data)
    assert len(images) == len(frame_indices(30, 6)) == 6
    assert calls == [(k, 6) for k in range(1, 7)]
    height, width = images[0].shape[:2]
    left = (slice(height // 2 - 15, height // 2 + 15), slice(width // 7, width // 4))
    first, last = images[0][left].reshape(-1, 3), images[-1][left].reshape(-1, 3)
    assert np.abs(first - rgb255(0.0)).max() > 60  # x1 = -5 .. -3.5: P 0.4 first ...
    assert np.abs(last - rgb255(0.0)).max() <= 12  # ... then 0: the map itself moved
    regression = gif_frames(decision_animation(GRID, [(e, 1.0, X1 * e) for e in (1, 2, 3)],
                                               TRAIN, regression=True))
    assert len(regression) == 3
    with pytest.raises(ValueError, match="at least one frame"):
        decision_animation(GRID, [], TRAIN, regression=False)


def test_a_regressions_learning_curves_show_its_r2():
    from actcli.plots import learning_curves

    history = [{"epoch": e, "train_loss": 1 / e, "train_r2": 1 - 2 / e, "test_loss": 1 / e,
                "r2": 1 - 3 / e} for e in range(1, 6)]
    fig = learning_curves(history, "reg_gauss")
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "R² (1 = perfect)"
    assert [line.get_label() for line in fig.axes[1].lines] == ["train r2", "r2"]
    assert fig.axes[1].get_ylim()[0] == pytest.approx(-1.02)  # -2 is shown down to -1
    assert png(fig)[0][:8] == PNG
