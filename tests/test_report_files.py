"""A compare's report pictures: a colour per cell shared by every picture, bands in range,
legends beside the data (report_files draws them from the cells' run folders)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from actcli import folders
from actcli.sweep import report, report_files
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import Cell

ELEVEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish",
          "softplus", "hardswish"]


@pytest.fixture
def compare(tmp_path, monkeypatch):
    """Eleven activations x 3 seeds as run folders (metrics.csv, diagnostics.csv), the
    report written with every figure it draws kept by file name."""
    results = []
    for i, name in enumerate(ELEVEN):
        for seed in range(3):
            cell = Cell(f"{name}__seed{seed}", f"model.activation={name}",
                        (f"model.activation={name}", f"train.seed={seed}"), seed,
                        {"model.activation": name})
            folder = tmp_path / "cells" / cell.id
            folder.mkdir(parents=True)
            # seeds 0, 1 at 1.0, seed 2 lower: mean + std passes 1 early on
            accuracy = [1.0 if seed < 2 else 0.6 + 0.02 * e for e in range(1, 11)]
            folders.write_csv(folder / "metrics.csv", [
                {"epoch": e, "train_loss": 1 / e, "test_loss": 1.1 / e + 0.01 * i,
                 "accuracy": a} for e, a in zip(range(1, 11), accuracy, strict=True)])
            folders.write_csv(folder / "diagnostics.csv", [
                {"epoch": e, "grad_norm/0": 0.01 * (i + 1), "grad_norm/1": 0.001 * (i + 1)}
                for e in range(1, 11)])
            results.append(CellResult(cell, "completed",
                                      {"accuracy": accuracy[-1], "loss": 0.2 - 0.01 * i},
                                      1.0))
    found = report.summarize(tmp_path, results, ("loss", "accuracy"), ["model.activation"])
    figures = {}

    def keep(figure, path, dpi=120):
        FigureCanvasAgg(figure).draw()
        figures[path.name] = figure
        return path

    monkeypatch.setattr(folders, "save_figure", keep)
    report_files.write(tmp_path, results, found)
    return figures, found


def colours(ax):
    """label -> colour of the data lines of ``ax`` (guides such as the target left out)."""
    return {line.get_label(): to_hex(line.get_color()) for line in ax.lines
            if not line.get_label().startswith("_") and line.get_label() != "target"
            and not line.get_label().startswith("target")}


def legend_clear(fig):
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1
        assert fig.bbox.y0 - 1 <= box.y0 and box.y1 <= fig.bbox.y1 + 1
        assert not any(box.overlaps(ax.bbox) for ax in fig.axes)


def test_every_cell_has_its_own_colour_the_same_in_every_picture(compare):
    figures, found = compare
    curves = colours(figures["curves.png"].axes[0])
    flow = colours(figures["gradient_flow.png"].axes[0])
    assert set(curves) == set(flow) == set(ELEVEN)
    assert len(set(curves.values())) == 11  # elu and leaky_relu, sigmoid and hardswish too
    assert curves == flow
    # activations.png: one line per activation on the left panel, legend gives the names
    activations = figures["activations.png"]
    left = activations.axes[0]
    drawn = [to_hex(line.get_color()) for line in left.lines
             if line.get_transform() == left.transData]
    names = [t.get_text() for t in activations.legends[0].get_texts()][:11]
    assert names == ELEVEN
    assert dict(zip(names, drawn, strict=True)) == curves
    # the ranking (lowest loss first: the plan reversed) orders the legend, not the colours
    assert [row.shown for row in found.rows] == ELEVEN[::-1]
    assert list(curves) == ELEVEN[::-1]


def test_accuracy_bands_stay_within_zero_and_one(compare):
    figures, _ = compare
    ax = figures["curves.png"].axes[0]
    assert ax.collections
    for band in ax.collections:
        y = np.concatenate([p.vertices for p in band.get_paths()])[:, 1]
        assert 0 <= y.min() and y.max() <= 1
    assert ax.get_ylim()[1] < 1.1


@pytest.mark.parametrize("name", ["curves.png", "gradient_flow.png", "activations.png"])
def test_legends_are_beside_the_data_inside_the_figure(compare, name):
    figures, _ = compare
    legend_clear(figures[name])
    (legend,) = figures[name].legends
    assert len(legend.get_texts()) >= 11
