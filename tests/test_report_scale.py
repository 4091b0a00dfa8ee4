"""A compare's report at 11, 100 and 1,000 cells, nothing trained: every figure of bounded
size, without warnings, its legend beside the data, the best cells named and the others
summarised; summary.csv has every cell, report.md grows by a table row a cell; each cell's
files are read once, its summary.json never (its result holds what it says). (What it
costs is measured by benchmarks/report_scale.py.)"""

from __future__ import annotations

import builtins
import csv
import io
import json
import math
import struct
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from actcli import folders, plots
from actcli.plots.compare import NAMED
from actcli.sweep import planning, report, report_files
from actcli.sweep.executing import CellResult

MAX_PIXELS = 3000  # on each side, at the dpi the report saves at
EPOCHS = 12
KEYS = ["model.activation", "optimizer.lr"]


def learning_rates(count):
    return [float(f"{v:.4g}") for v in np.geomspace(1e-4, 2.0, count)]


def build(folder: Path, count: int, seeds: int = 1) -> list[CellResult]:
    """A finished ``--activations relu --over optimizer.lr=<count values>`` compare as
    `executing.execute` leaves it (two stacks); the rates above 1.5 diverge."""
    cells = planning.expand({"model.activation": ["relu"],
                          "optimizer.lr": learning_rates(count)}, seeds)
    ids = [cell.id for cell in cells]
    half = -(-len(ids) // 2)
    first = set(ids[:half])
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps({
        "over": {"model.activation": ["relu"], "optimizer.lr": learning_rates(count)},
        "cells": [{"id": c.id, "label": c.label, "overrides": list(c.overrides),
                   "seed": c.seed, "values": c.values} for c in cells],
        "stacks": [ids[:half], ids[half:]]}))
    results = []
    rng = np.random.default_rng(1)
    for cell in cells:
        lr = cell.values["optimizer.lr"]
        # best near 0.05, a parabola in log lr; distinct finals, so the ranking is known
        final = 0.99 - 0.1 * math.log10(lr / 0.05) ** 2 + 1e-6 * rng.random()
        diverged = lr > 1.5
        logged = 4 if diverged else EPOCHS
        accuracy = [0.5 + (final - 0.5) * (1 - 0.6 ** e) for e in range(1, logged + 1)]
        run = folder / "cells" / cell.id
        run.mkdir(parents=True)
        metrics = {"loss": 1 - final, "accuracy": accuracy[-1]}
        status = "diverged" if diverged else "completed"
        stack = half if cell.id in first else len(ids) - half
        (run / "summary.json").write_text(json.dumps({
            "status": status, "metrics": metrics, "seconds": 0.01, "epochs": logged,
            "stack": stack}))
        (run / "metrics.csv").write_text("epoch,train_loss,test_loss,accuracy\n" + "".join(
            f"{e},{1 / e},{1.1 / e},{a}\n" for e, a in enumerate(accuracy, 1)))
        (run / "diagnostics.csv").write_text(
            "epoch,grad_norm/layer1,grad_norm/layer2,dead/layer1\n" + "".join(
                f"{e},{0.1 * lr + 0.01},{0.05 * lr + 0.001},0.25\n"
                for e in range(1, logged + 1)))
        results.append(CellResult(cell, status, metrics, 0.01,
                                  "loss is not finite at epoch 5" if diverged else "",
                                  stack=stack))
    return results


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


class Written:
    """A compare folder whose report was written: its results, report, files, the figures
    (drawn with Agg, by file name) and the warnings raised while writing them."""

    def __init__(self, folder: Path, count: int) -> None:
        self.folder = folder
        self.results = build(folder, count)
        self.figures = {}
        real = folders.save_figure

        def keep(figure, path, dpi=120):
            real(figure, path, dpi)
            FigureCanvasAgg(figure).draw()  # inspected at its own dpi, as test_plots does
            self.figures[path.name] = figure
            return path

        with warnings.catch_warnings(record=True) as caught, pytest.MonkeyPatch.context() as mp:
            warnings.simplefilter("always")
            mp.setattr(folders, "save_figure", keep)
            self.report = report.summarize(folder, self.results, ("loss", "accuracy"), KEYS)
            self.files = report_files.write(folder, self.results, self.report)
        self.warnings = [f"{w.category.__name__}: {w.message}" for w in caught
                         if not (issubclass(w.category, DeprecationWarning)
                                 and "pyparsing" in str(w.message))]


@pytest.fixture(scope="module", params=[11, 100, 1000])
def written(request, tmp_path_factory):
    return Written(tmp_path_factory.mktemp(f"cells{request.param}") / "compare", request.param)


def texts(legend):
    return [t.get_text().replace("\n", " ") for t in legend.get_texts()]


def assert_inside_and_clear(fig, box):
    """``box`` (a legend's, a tick label's) lies in the figure and covers no axes."""
    assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, (box, fig.bbox)
    assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, (box, fig.bbox)
    assert not any(box.overlaps(ax.bbox) for ax in fig.axes), box


def test_every_figure_is_drawn_bounded_and_without_warnings(written):
    assert written.warnings == []
    pictures = [name for name in written.files if name.endswith(".png")]
    assert {"curves.png", "bars.png", "to_target.png", "gradient_flow.png",
            "activations.png", "seeds.png"} == set(pictures)
    for name in pictures:
        width, height = png_size(written.folder / name)
        assert width <= MAX_PIXELS and height <= MAX_PIXELS, (name, width, height)


@pytest.mark.parametrize("name", ["curves.png", "gradient_flow.png", "activations.png"])
def test_legends_lie_inside_the_figure_beside_the_axes(written, name):
    fig = written.figures[name]
    renderer = fig.canvas.get_renderer()
    assert fig.legends and not any(ax.get_legend() for ax in fig.axes)
    for legend in fig.legends:
        assert_inside_and_clear(fig, legend.get_window_extent(renderer))


@pytest.mark.parametrize("name", ["curves.png", "gradient_flow.png"])
def test_line_figures_name_the_best_cells_and_grey_the_others(written, name):
    fig = written.figures[name]
    shown = [row.shown for row in written.report.rows]
    (legend,) = fig.legends
    labels = texts(legend)
    best = shown[:NAMED]
    assert labels[:len(best)] == best  # best first, in the report's order
    ax = fig.axes[0]
    named = [line for line in ax.lines if not line.get_label().startswith(("_", "target"))]
    assert len(named) == len(best) and len({line.get_color() for line in named}) == len(best)
    if len(shown) > NAMED:
        others = [c for c in ax.collections if c.get_label().endswith("(grey)")]
        (grey,) = others
        assert len(grey.get_segments()) == len(shown) - NAMED
        assert f"{len(shown) - NAMED} other cells (grey)" in labels
    else:
        assert not any("other" in label for label in labels)


def test_the_curves_colours_are_the_gradient_flows(written):
    def colours(fig):
        return {line.get_label().replace("\n", " "): line.get_color()
                for line in fig.axes[0].lines
                if not line.get_label().startswith(("_", "target"))}

    assert colours(written.figures["curves.png"]) == colours(written.figures["gradient_flow.png"])


@pytest.mark.parametrize("name", ["bars.png", "to_target.png"])
def test_bar_figures_name_the_best_cells_and_rank_every_cell(written, name):
    fig = written.figures[name]
    renderer = fig.canvas.get_renderer()
    shown = [row.shown for row in written.report.rows]
    if len(shown) <= NAMED:
        (ax,) = fig.axes
        names = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
        assert names == shown
        return
    best, ranks = fig.axes
    ticks = best.get_yticklabels()
    assert [t.get_text().replace("\n", " ") for t in ticks] == shown[:NAMED]
    top, bottom = ticks[0].get_window_extent(renderer), ticks[-1].get_window_extent(renderer)
    assert top.y0 > bottom.y0  # the best at the top
    for tick in ticks:  # every name whole in the figure, beside its panel
        box = tick.get_window_extent(renderer)
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= best.bbox.x0 + 1, box
        assert not box.overlaps(ranks.bbox)
    # every cell by its rank: x runs over all of them (those without a value not drawn)
    drawn = np.concatenate([np.asarray(line.get_xdata(), dtype=float)
                            for line in ranks.lines if line.get_transform() == ranks.transData])
    assert set(drawn) == set(range(1, len(shown) + 1))
    assert ranks.get_xlim() == (0.5, len(shown) + 0.5)


def test_summary_csv_has_every_cell_once_in_plan_order(written):
    with open(written.folder / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["cell"] for row in rows] == [r.cell.id for r in written.results]
    assert [row["status"] for row in rows] == [r.status for r in written.results]
    assert {row["stack"] for row in rows} <= {str(-(-len(rows) // 2)), str(len(rows) // 2)}
    best = written.report.rows[0].runs[0]
    (mine,) = [row for row in rows if row["cell"] == best.cell_id]
    assert float(mine["accuracy"]) == best.accuracy


def test_report_md_is_a_row_a_cell_and_no_paragraph_grows_with_the_cells(written):
    text = (written.folder / "report.md").read_text()
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("| ") and line[2].isdigit()]
    assert len(table) == len(written.report.rows)
    failures = [line for line in lines if line.startswith("- ")]
    assert len(failures) == len(written.report.failures)
    assert len(lines) <= len(table) + len(failures) + 40
    assert max(len(line) for line in lines) < 3000  # the training paragraph names a few
    (training,) = [line for line in lines if line.startswith("Training.")]
    assert "2 stack(s) of" in training
    if len(written.results) > 2 * report_files.LISTED:
        assert training.count("seed 0") == 2 * report_files.LISTED
        assert "more" in training


@pytest.mark.parametrize("rank_by", ["accuracy", "seconds_to_target"])
def test_each_cells_files_are_read_once_and_its_summary_never(tmp_path, monkeypatch, rank_by):
    folder = tmp_path / "compare"
    results = build(folder, 60)
    assert {r.status for r in results} == {"completed", "diverged"}
    opened: Counter[tuple[str, str]] = Counter()
    real = io.open

    def counting(file, *args, **kwargs):
        path = Path(file) if isinstance(file, str | Path) else None
        if path is not None and path.parent.parent == folder / "cells":
            opened[path.parent.name, path.name] += 1
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting)
    monkeypatch.setattr(io, "open", counting)
    found = report.summarize(folder, results, ("loss", "accuracy"), KEYS, rank_by=rank_by)
    report_files.write(folder, results, found)
    monkeypatch.undo()
    expected = Counter()
    for r in results:  # the stack sizes come with the results, not from summary.json
        if r.status == "completed":
            expected[r.cell.id, "metrics.csv"] = 1
            expected[r.cell.id, "diagnostics.csv"] = 1
    assert opened == expected


# ---- the figures alone, at their edges with many cells ------------------------------------

def curves(count, epochs=EPOCHS):
    steps = np.arange(1, epochs + 1)
    return {f"cell {i}": (steps, 1 - (i + 1) / (count + 2) / steps, np.full(epochs, 0.01),
                          "accuracy") for i in range(count)}


LONG = ", ".join(f"model.some_long_key_{k}=value_{k}" for k in range(4))  # 135 characters

EDGES = {
    "curves, one epoch each": lambda: plots.compare_curves(curves(200, 1), 0.9, named=NAMED),
    "curves, long labels": lambda: plots.compare_curves(
        {f"{LONG}, n={i}": c for i, c in enumerate(curves(1000).values())}, named=NAMED),
    "curves, NaN in the others": lambda: plots.compare_curves(
        {**curves(30), "nan": (np.arange(1, 4), np.full(3, np.nan), np.full(3, np.nan),
                               "accuracy")}, named=NAMED),
    "bars, 1000 with some not numbers": lambda: plots.compare_bars(
        [f"cell {i}" for i in range(1000)],
        [(0.5 + i / 2000, 0.01) if i % 7 else (np.nan, np.nan) for i in range(1000)],
        "accuracy"),
    "bars, 1000 long labels": lambda: plots.compare_bars(
        [f"{LONG}, n={i}" for i in range(1000)], [(0.9, 0.01)] * 1000, "accuracy"),
    "bars, 21 all not numbers": lambda: plots.compare_bars(
        [f"cell {i}" for i in range(21)], [(np.nan, np.nan)] * 21, "accuracy"),
    "time_to_target, 1000 never": lambda: plots.time_to_target(
        [f"cell {i}" for i in range(1000)], [[None, None]] * 1000, "t"),
    "time_to_target, 1000 some never": lambda: plots.time_to_target(
        [f"cell {i}" for i in range(1000)], [[3, None], [None], [5, 6]] * 333 + [[1]], "t"),
    "gradient_flow, zero and NaN norms among the others": lambda: plots.gradient_flow(
        {f"cell {i}": np.array([1e-2 * (i + 1), 0.0 if i % 3 else np.nan])
         for i in range(500)}, named=NAMED),
    "gradient_flow, all zero": lambda: plots.gradient_flow(
        {f"cell {i}": np.zeros(3) for i in range(50)}, named=NAMED),
}


@pytest.mark.parametrize("make", EDGES.values(), ids=EDGES.keys())
def test_many_cells_at_their_edges_draw_bounded_without_warnings(make):
    fig = make()
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folders.render_png(fig, buffer)
    width, height = struct.unpack(">II", buffer.getvalue()[16:24])
    assert width <= MAX_PIXELS and height <= MAX_PIXELS
    fig.canvas.draw()  # laid out again at the figure's own dpi, where it is measured
    renderer = fig.canvas.get_renderer()
    for legend in fig.legends:
        assert_inside_and_clear(fig, legend.get_window_extent(renderer))


def test_long_labels_wrap_whole_and_endless_ones_end_in_an_ellipsis():
    labels = [f"{LONG}, n={i}" for i in range(30)]
    fig = plots.compare_bars(labels, [(0.9, 0.01)] * 30, "accuracy")
    FigureCanvasAgg(fig).draw()
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert all(1 < len(name.splitlines()) <= 4 for name in names)
    assert [name.replace("\n", " ") for name in names] == labels[:NAMED]
    endless = plots.compare_curves({f"{LONG * 3}, n={i}": c
                                    for i, c in enumerate(curves(30).values())}, named=NAMED)
    (legend,) = endless.legends
    shown = [t.get_text() for t in legend.get_texts()][:NAMED]
    assert all(len(name.splitlines()) == 4 and name.endswith("…") for name in shown)
    assert all(max(len(line) for line in name.splitlines()) <= 48 for name in shown)
