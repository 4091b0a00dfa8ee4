"""Figures are pure: data in, Figure out; saving gives a real PNG. Every figure stays
readable at its edges: one point, NaN and inf, eleven and a hundred series."""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from PIL import Image

from actcli import folders, plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_learning_curves_has_loss_and_accuracy_panels(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "test_loss": 1.1 / e, "accuracy": 1 - 1 / e}
               for e in range(1, 11)]
    fig = plots.learning_curves(history, "t")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].lines) == 2
    path = folders.save_figure(fig, tmp_path / "c.png")
    assert path.read_bytes()[:8] == PNG


def test_fit_curve_draws_before_after_and_threshold():
    x = np.linspace(0, 1, 5)
    before = plots.Curve("before training", x, x * 0 + 0.5)
    after = plots.Curve("after training", x, x)
    fig = plots.fit_curve(x, (x > 0.5).astype(float), before, after, 0.5, "size")
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert "before training" in labels and "after training" in labels
    assert ax.get_xlabel() == "size"


def test_activation_curves_with_grad_has_two_panels():
    x = np.linspace(-1, 1, 3)
    fig = plots.activation_curves([plots.Curve("relu", x, np.maximum(x, 0), (x > 0) * 1.0)],
                                  grad=True)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "derivative"


def test_softmax_stem_title_shows_the_sum():
    fig = plots.softmax_stem(np.array([1.0, 2.0]), np.array([0.25, 0.75]))
    assert "sum = 1.000000" in fig.axes[1].get_title()


# ---- edge cases: one point, non-finite values, many series -------------------------------

NAN, INF = float("nan"), float("inf")


def drawn(fig):
    """``fig`` laid out and drawn (Agg), as when it is saved."""
    FigureCanvasAgg(fig).draw()
    return fig


def history(epochs, bad_from=None, bad=NAN):
    """metrics.csv rows; from epoch ``bad_from`` the losses are ``bad``."""
    return [{"epoch": e, "train_loss": bad if bad_from and e >= bad_from else 1 / e,
             "val_loss": bad if bad_from and e >= bad_from else 1.1 / e,
             "train_accuracy": 1 - 1 / (e + 1), "val_accuracy": 1 - 1.1 / (e + 1)}
            for e in range(1, epochs + 1)]


def data_lines(ax):
    """The lines that hold data (not the axhline/axvline guides: those have 2 points in
    axes coordinates)."""
    return [line for line in ax.lines if line.get_transform() == ax.transData]


def assert_legends_clear(fig):
    """Every legend lies inside the figure and covers no axes' data area."""
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    renderer = fig.canvas.get_renderer()
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= -1 and box.y0 >= -1, box
        assert box.x1 <= fig.bbox.x1 + 1 and box.y1 <= fig.bbox.y1 + 1, (box, fig.bbox)
        for ax in fig.axes:
            assert not box.overlaps(ax.bbox), (legend, ax)


def test_learning_curves_of_one_epoch_show_the_point_on_an_integer_axis():
    fig = drawn(plots.learning_curves(history(1), "one epoch"))
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1]
        lo, hi = ax.get_xlim()
        assert lo < 1 < hi and hi - lo == pytest.approx(1)
        for line in data_lines(ax):  # a single point is only visible as a marker
            assert line.get_marker() not in ("None", None, "", " ")
    assert [line.get_ydata()[0] for line in data_lines(fig.axes[0])] == [1.0, 1.1]


def test_learning_curves_epoch_ticks_are_whole_numbers():
    fig = drawn(plots.learning_curves(history(7)))
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert len(ticks) >= 3 and all(t == int(t) for t in ticks)


@pytest.mark.parametrize("bad", [NAN, INF])
def test_learning_curves_of_a_diverged_run_draw_the_finite_part_and_mark_it(bad):
    fig = drawn(plots.learning_curves(history(10, bad_from=6, bad=bad)))
    loss = fig.axes[0]
    train = data_lines(loss)[0]
    shown = np.asarray(train.get_ydata(), dtype=float)
    assert list(shown[:5]) == [1 / e for e in range(1, 6)] and np.isnan(shown[5:]).all()
    low, high = loss.get_ylim()
    assert math.isfinite(low) and math.isfinite(high) and high < 2  # no inf in the limits
    for ax in fig.axes:  # a vertical mark at epoch 6 in both panels
        marks = [line for line in ax.lines if list(line.get_xdata()) == [6.0, 6.0]]
        assert len(marks) == 1
    labels = [t.get_text() for t in loss.get_legend().get_texts()]
    assert "loss not finite from epoch 6" in labels


def test_learning_curves_mark_where_a_run_stopped_when_every_logged_row_is_finite():
    fig = drawn(plots.learning_curves(history(4), diverged_at=5))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "loss not finite from epoch 5" in labels
    assert fig.axes[0].get_xlim()[1] >= 5


@pytest.mark.parametrize("count", [1, 11, 20, 21, 100, 300])
def test_series_colors_are_distinct_and_stable(count):
    colors = plots.series_colors(count)
    assert len(colors) == count == len(set(colors))
    # the first ten are matplotlib's default cycle; a series keeps its colour at any count
    assert colors[:10] == [to_hex(f"C{i}") for i in range(min(count, 10))]
    assert colors == plots.series_colors(count + 5)[:count]
    if count <= 20:  # the qualitative ones: far apart, not just unequal
        rgb = [np.array(to_rgb(c)) for c in colors]
        assert min((np.linalg.norm(a - b) for a, b in itertools.combinations(rgb, 2)),
                   default=1) > 0.15


def eleven_curves(length=50, std=0.15):
    epochs = np.arange(1, length + 1)
    return {f"cell{i}": (epochs, np.clip(1 - 1 / epochs - 0.001 * i, 0, 1),
                         std * np.ones(length), "accuracy") for i in range(11)}


def band_extent(collection):
    vertices = np.concatenate([p.vertices for p in collection.get_paths()])
    return vertices[:, 1].min(), vertices[:, 1].max()


@pytest.mark.parametrize("count", [11, 100])
def test_compare_curves_colours_distinct_bands_clipped_legend_beside(count):
    epochs = np.arange(1, 51)
    curves = {f"cell{i}": (epochs, np.clip(1 - 1 / epochs, 0, 1), 0.15 * np.ones(50),
                           "accuracy") for i in range(count)}
    fig = drawn(plots.compare_curves(curves, 0.9))
    ax = fig.axes[0]
    colors = [to_hex(line.get_color()) for line in data_lines(ax)]
    assert len(colors) == count == len(set(colors))
    for band in ax.collections:  # mean 0.98 + std 0.15 would be 1.13 unclipped
        low, high = band_extent(band)
        assert 0 <= low and high <= 1
    assert ax.get_ylim()[1] < 1.1
    assert_legends_clear(fig)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [*curves, "target 0.9"]


def test_compare_curves_take_given_colours_by_label():
    curves = eleven_curves()
    given = {label: plots.series_colors(11)[10 - i] for i, label in enumerate(curves)}
    fig = plots.compare_curves(curves, colors=given)
    assert [to_hex(line.get_color()) for line in data_lines(fig.axes[0])] == list(
        given.values())


def test_activation_curves_one_colour_per_curve_one_legend_beside():
    x = np.linspace(-2, 2, 41)
    curves = [plots.Curve(f"act{i}", x, np.tanh(x) * (1 + i), 1 - np.tanh(x) ** 2,
                          1 - np.tanh(x) ** 2) for i in range(11)]
    fig = drawn(plots.activation_curves(curves, grad=True))
    left, right = fig.axes
    f_colors = [to_hex(line.get_color()) for line in data_lines(left)]
    assert len(set(f_colors)) == 11
    # each derivative (autograd solid, formula dashed) in its curve's colour
    d_colors = [to_hex(line.get_color()) for line in data_lines(right)]
    assert d_colors == [c for c in f_colors for _ in range(2)]
    assert [line.get_linestyle() for line in data_lines(right)][:2] == ["-", "--"]
    assert not left.get_legend() and not right.get_legend() and len(fig.legends) == 1
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:11] == [c.label for c in curves] and len(labels) == 13
    assert_legends_clear(fig)


def many(count):
    return [f"series {i}" for i in range(count)]


@pytest.mark.parametrize("count", [11, 100])
@pytest.mark.parametrize("figure", ["gradient_flow", "lr_range_tests", "activation_curves"])
def test_many_series_figures_distinct_colours_legend_beside(figure, count):
    labels = many(count)
    if figure == "gradient_flow":
        fig = plots.gradient_flow({n: np.array([1e-2, 1e-3]) * (i + 1)
                                   for i, n in enumerate(labels)})
    elif figure == "lr_range_tests":
        fig = plots.lr_range_tests({n: ([1e-4, 1e-3, 1e-2], [1.0, 0.5 - i / 1000, 2.0], 1e-4)
                                    for i, n in enumerate(labels)})
    else:
        x = np.linspace(-1, 1, 5)
        fig = plots.activation_curves([plots.Curve(n, x, x * i) for i, n in enumerate(labels)],
                                      grad=False)
    drawn(fig)
    colors = {to_hex(line.get_color()) for line in data_lines(fig.axes[0])}
    assert len(colors) == count
    assert_legends_clear(fig)


def test_gradient_flow_log_axis_has_several_plain_ticks():
    fig = drawn(plots.gradient_flow({"a": np.array([0.019, 0.03, 0.052])}))
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 3
    assert [float(t.get_text()) for t in ax.get_yticklabels() if t.get_text()] == ticks


def test_compare_bars_clip_accuracy_error_bars_and_say_no_result():
    fig = drawn(plots.compare_bars(["a", "b", "c"], [(0.95, 0.2), (NAN, NAN), (0.5, 0.6)],
                                   "accuracy"))
    ax = fig.axes[0]
    (bars,) = [c for c in ax.containers if hasattr(c, "lines")]
    segments = np.concatenate([s for s in bars.lines[2][0].get_segments()])
    assert segments[:, 1].max() == pytest.approx(1.0) and segments[:, 1].min() == 0.0
    assert ax.get_ylim()[1] <= 1.1
    assert [t.get_text() for t in ax.texts] == ["no result"]


@pytest.mark.parametrize(("lo", "hi"), [(0.14, 300.0), (1e-3, 20.0), (1.1, 1.4), (2.0, 9.0),
                                        (1e-12, 1e12), (0.5, 0.5)])
def test_log_ticks_several_inside_the_range(lo, hi):
    ticks = plots.log_ticks(lo, hi)
    assert all(lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) for t in ticks)
    assert ticks == sorted(set(ticks))
    assert (1 if lo == hi else 3) <= len(ticks) <= 8


def colorbar_ticks(fig):
    """(ticks inside the bar's range, their labels) of the colour bar (its axes is last)."""
    bar = fig.axes[-1]
    lo, hi = bar.get_ylim()
    shown = [(t, label.get_text()) for t, label in zip(bar.get_yticks(),
                                                       bar.get_yticklabels(), strict=True)
             if lo <= t <= hi]
    return [t for t, _ in shown], [label for _, label in shown]


def test_loss_landscape_log_colour_bar_has_several_readable_ticks():
    a = b = np.linspace(-2, 2, 31)
    grid_a, grid_b = np.meshgrid(a, b)
    loss = 0.14 + 30 * ((grid_a - 1) ** 2 + grid_b**2)
    fig = drawn(plots.loss_landscape(a, b, loss, [("sgd", np.array([0.0, 0.5]),
                                                   np.array([1.0, 0.5]))], "t"))
    ticks, labels = colorbar_ticks(fig)
    assert len(ticks) >= 4
    assert [float(label) for label in labels] == pytest.approx(ticks)  # plain numbers
    assert_legends_clear(fig)


def test_surface_paths_log_colour_bar_ticks_colours_per_optimizer_legend_beside():
    x = y = np.linspace(-2, 2, 41)
    grid_x, grid_y = np.meshgrid(x, y)
    f = grid_x**2 + grid_y**2
    track = np.array([[1.5, 1.0], [0.5, 0.3], [0.1, 0.05]])
    paths = [(f"opt{i}", track + 0.01 * i) for i in range(12)] + [("opt0", -track)]
    fig = drawn(plots.surface_paths(x, y, f, True, [(0.0, 0.0)], [], paths, "bowl"))
    ticks, labels = colorbar_ticks(fig)
    assert len(ticks) >= 4 and [float(t) for t in labels] == pytest.approx(ticks)
    ax = fig.axes[0]
    tracks = [line for line in ax.lines if len(line.get_xdata()) == 3]
    colors = [to_hex(line.get_color()) for line in tracks]
    assert len(set(colors[:12])) == 12 and colors[12] == colors[0]  # one per optimizer
    assert_legends_clear(fig)


def test_fit_curve_of_one_point_shows_it_and_no_threshold_when_not_a_number():
    one = np.array([1.0])
    fig = plots.fit_curve(one, one, plots.Curve("before", one, np.array([0.5])),
                          plots.Curve("after", one, np.array([0.9])), NAN, "x")
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_label() in ("before", "after")]
    assert [line.get_marker() for line in curves] == ["o", "o"]
    assert len(ax.texts) == 0  # no "0.5 at nan", and no vertical line at NaN
    assert not any(np.isnan(np.asarray(line.get_xdata(), dtype=float)).any()
                   for line in ax.lines)


EDGE_CASES = {
    "learning_curves, no rows": lambda: plots.learning_curves([]),
    "learning_curves, NaN from the first row": lambda: plots.learning_curves(history(1, 1)),
    "learning_curves, 200 rows": lambda: plots.learning_curves(history(200)),
    "compare_curves, one point": lambda: plots.compare_curves(
        {"a": (np.array([1]), np.array([0.5]), np.array([0.1]), "accuracy")}, 0.4),
    "compare_curves, NaN": lambda: plots.compare_curves(
        {"a": (np.arange(1, 4), np.full(3, NAN), np.full(3, NAN), "accuracy")}),
    "compare_curves, none": lambda: plots.compare_curves({}),
    "compare_bars, one": lambda: plots.compare_bars(["a"], [(0.9, 0.0)], "accuracy"),
    "compare_bars, all NaN": lambda: plots.compare_bars(["a"], [(NAN, NAN)], "accuracy"),
    "compare_bars, 100": lambda: plots.compare_bars(
        many(100), [(0.9 + i / 1000, 0.01) for i in range(100)], "accuracy"),
    "time_to_target, never": lambda: plots.time_to_target(["a", "b"], [[None], [None, 4]],
                                                          "t"),
    "time_to_target, 100": lambda: plots.time_to_target(many(100), [[3, 4]] * 100, "t"),
    "gradient_flow, one layer": lambda: plots.gradient_flow({"a": np.array([1e-3])}),
    "gradient_flow, zero norms": lambda: plots.gradient_flow({"a": np.zeros(2)}),
    "gradient_flow, NaN and inf": lambda: plots.gradient_flow(
        {"a": np.array([NAN, 1e-3, INF])}),
    "gradient_flow, none": lambda: plots.gradient_flow({}),
    "lr_range_tests, no steps": lambda: plots.lr_range_tests({"a": ([], [], 1e-5)}),
    "lr_range_tests, one step": lambda: plots.lr_range_tests({"a": ([1e-3], [0.5], 1e-4)}),
    "lr_range_tests, NaN and inf": lambda: plots.lr_range_tests(
        {"a": ([1e-3, 1e-2, 1e-1], [0.5, NAN, INF], 1e-4)}),
    "activation_curves, inf and NaN": lambda: plots.activation_curves(
        [plots.Curve("exp", np.array([0.0, 1.0, 2.0]), np.array([1.0, INF, NAN]),
                     np.array([NAN, 1.0, 2.0]))], grad=True),
    "fit_curve, one sample, NaN threshold": lambda: plots.fit_curve(
        np.array([1.0]), np.array([1.0]), plots.Curve("before", np.array([1.0]),
                                                      np.array([0.5])),
        plots.Curve("after", np.array([1.0]), np.array([NAN])), NAN, "x"),
    "weight_histograms, NaN and inf": lambda: plots.weight_histograms(
        {"w": np.array([NAN, 1.0, 2.0])}, {"w": np.array([INF, 1.0, 2.5])}),
    "weight_histograms, all NaN": lambda: plots.weight_histograms(
        {"w": np.array([NAN])}, {"w": np.array([NAN])}),
    "loss_landscape, inf": lambda: plots.loss_landscape(
        np.linspace(0, 1, 5), np.linspace(0, 1, 5),
        np.where(np.eye(5) > 0, INF, 1.0) + np.arange(25).reshape(5, 5),
        [("sgd", np.array([0.5]), np.array([0.5]))], "t"),
}


@pytest.mark.parametrize("build", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_edge_cases_draw_without_warnings(build):
    # warnings are errors (pyproject): a matplotlib warning fails here
    folders.render_png(build(), io.BytesIO())


def test_weight_histograms_leave_out_and_count_non_finite_weights():
    fig = plots.weight_histograms({"w": np.array([NAN, 1.0, 2.0])},
                                  {"w": np.array([INF, 1.0, 2.5])})
    ax = fig.axes[0]
    assert ax.get_title() == "w (3 weights, 2 not finite)"
    start, end = ax.patches[:2]  # the two stairs: counts over the finite weights only
    assert ax.containers == [] and start.get_data().values.sum() == 2
    assert end.get_data().values.sum() == 2


# ---- the fit animation -------------------------------------------------------------------


def gif_frames(data):
    image = Image.open(io.BytesIO(data))
    frames = []
    for k in range(image.n_frames):
        image.seek(k)
        frames.append(np.asarray(image.convert("RGB"), dtype=int))
    return frames, image


def dark(frame):
    return frame.sum(axis=2) < 150  # near-black pixels: the line, text, axes frame


def line_rows(frames, columns):
    """Per frame, the image row holding the most near-black pixels within ``columns`` that
    are not dark in every frame (the axes frame is): where that frame's flat line is."""
    static = np.logical_and.reduce([dark(frame) for frame in frames])
    rows = []
    for frame in frames:
        moving = (dark(frame) & ~static)[:, columns].sum(axis=1)
        rows.append((int(np.argmax(moving)), int(moving.max())))
    return rows


def test_fit_animation_moves_the_line_and_erases_the_old_one():
    x = np.linspace(0, 10, 50)
    data_x = np.linspace(0, 10, 20)
    frames = [(1, 0.7, np.full(50, 0.2)), (2, 0.5, np.full(50, 0.9)),
              (3, 0.3, np.full(50, 0.55))]
    images, gif = gif_frames(plots.fit_animation(x, frames, data_x, data_x > 5, "x", "t"))
    assert len(images) == 3 and gif.info["loop"] == 0
    columns = slice(images[0].shape[1] // 3, 2 * images[0].shape[1] // 3)  # inside the axes
    rows = line_rows(images, columns)
    (r0, n0), (r1, n1), (r2, n2) = rows
    assert min(n0, n1, n2) > 0.9 * (columns.stop - columns.start)  # a full-width line
    assert r1 < r2 < r0 and abs(r2 - (r0 + r1) / 2) <= 1.5  # linear in the value
    for k, frame in enumerate(images):  # each frame has its own line and no other
        for other, (row, _) in enumerate(rows):
            if other != k:
                assert dark(frame)[row, columns].mean() < 0.2, (k, other)
    assert (images[0][:15] != images[1][:15]).any()  # the title changed (epoch, loss)


def test_fit_animation_caps_frames_and_reports_progress():
    x = np.linspace(0, 1, 20)
    frames = [(e, 1.0 / e, x * 0 + (e % 7) / 7) for e in range(1, 601)]
    calls = []
    data = plots.fit_animation(x, frames, x, x > 0.5, "x", "t",
                               progress=lambda done, total: calls.append((done, total)))
    images, _ = gif_frames(data)
    assert len(images) == plots.MAX_FRAMES
    assert calls == [(k, plots.MAX_FRAMES) for k in range(1, plots.MAX_FRAMES + 1)]


@pytest.mark.parametrize(("count", "most"), [(1, 240), (240, 240), (241, 240), (600, 240),
                                             (10_000, 7)])
def test_frame_indices_evenly_spaced_first_and_last_kept(count, most):
    chosen = plots.frame_indices(count, most)
    assert len(chosen) == min(count, most) == len(set(chosen))
    assert chosen[0] == 0 and chosen[-1] == count - 1 and chosen == sorted(chosen)
    gaps = np.diff(chosen)
    assert gaps.size == 0 or gaps.max() - gaps.min() <= 1


# ---- a run's learned activations: start and end (#22) --------------------------------------

def _learned_layers(units: int = 6, bad=None):
    from actcli.plots.activations import LayerCurves

    x = np.linspace(-4, 4, 81)
    betas = np.linspace(0.5, 2.0, units)
    per_unit = x[:, None] / (1 + np.exp(-betas * x[:, None]))  # swish with a beta per unit
    start = x / (1 + np.exp(-x))
    if bad is not None:
        per_unit[40:, 0] = bad
    return x, [LayerCurves("layer 1: swish_beta", start * 1.1, start, start, start),
               LayerCurves("layer 2: x * sigmoid(b * x)", per_unit, start, per_unit, start),
               LayerCurves("layer 3: relu (fixed)", np.maximum(x, 0), None, (x > 0) * 1.0)]


def test_learned_activations_pair_each_learned_layer_and_draw_fixed_ones_once():
    from matplotlib.collections import LineCollection

    from actcli.plots.activations import learned_activations

    x, layers = _learned_layers()
    fig = drawn(learned_activations(x, layers, grad=True, title="run"))
    value, slope = fig.axes
    assert [value.get_title(), slope.get_title()] == ["run", "derivative (autograd)"]
    for ax in (value, slope):
        lines = data_lines(ax)
        assert len(lines) == 5  # start and end of two learned layers, the fixed one once
        dashed = [line for line in lines if line.get_linestyle() != "-"]
        assert len(dashed) == 2  # the starts
        (units,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(units.get_segments()) == 6  # each unit of layer 2 thin
    colours = {to_hex(line.get_color()) for line in data_lines(value)}
    assert len(colours) == 3  # a colour per layer, start and end alike
    mean = data_lines(value)[3].get_ydata()
    np.testing.assert_allclose(mean, layers[1].end.mean(axis=1))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["layer 1: swish_beta", "layer 2: x * sigmoid(b * x)",
                      "layer 3: relu (fixed)", "solid: at the end of training",
                      "dashed: at the start (untrained)", "thin: each unit; bold: their mean"]
    assert_legends_clear(fig)


@pytest.mark.parametrize("bad", [NAN, INF])
def test_learned_activations_of_a_diverged_unit_draw_the_finite_part(bad):
    from actcli.plots.activations import learned_activations

    x, layers = _learned_layers(bad=bad)
    fig = drawn(learned_activations(x, layers, grad=False))
    low, high = fig.axes[0].get_ylim()
    assert math.isfinite(low) and math.isfinite(high) and high < 10
    assert np.isfinite(data_lines(fig.axes[0])[3].get_ydata()).all()  # the mean of the rest


def test_learned_activations_cap_the_units_drawn_and_keep_a_fixed_only_legend_short():
    from matplotlib.collections import LineCollection

    from actcli.plots.activations import MAX_UNITS, LayerCurves, learned_activations

    x, layers = _learned_layers(units=1000)
    fig = drawn(learned_activations(x, layers, grad=False))
    (units,) = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(units.get_segments()) <= MAX_UNITS
    fixed = drawn(learned_activations(x, [LayerCurves("layers 1, 2: relu (fixed)",
                                                      np.maximum(x, 0))], grad=False))
    assert [t.get_text() for t in fixed.legends[0].get_texts()] == ["layers 1, 2: relu (fixed)"]
    many = [LayerCurves(f"layer {k}: swish_beta", x * k / 20, x) for k in range(1, 21)]
    assert_legends_clear(drawn(learned_activations(x, many, grad=True)))
