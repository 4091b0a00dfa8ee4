"""Classic surfaces: the registry's known points, the lessons in numbers, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from actcli.errors import ConfigError
from actcli.inspection import surfaces
from actcli.inspection.surfaces import OptimizerChoice

from helpers import CONFIGS

SGD, ADAM = OptimizerChoice("sgd"), OptimizerChoice("adam")


@pytest.mark.parametrize("spec", list(surfaces.SURFACES), ids=lambda s: s.name)
def test_known_minima_and_saddles_are_what_they_say(spec):
    for point, kind in surfaces.known_points(spec.name):
        _, gradient = surfaces.value_and_gradient(spec, point)
        assert np.linalg.norm(gradient) < 1e-4, (spec.name, point)
        eigenvalues = np.linalg.eigvalsh(surfaces.hessian(spec, point))
        if kind == "minimum":
            assert (eigenvalues > 0).all(), (spec.name, point, eigenvalues)
        else:
            assert eigenvalues.min() < 0 < eigenvalues.max(), (spec.name, point)


@pytest.mark.parametrize(("name", "point", "value"), [
    ("bowl", (1.0, 2.0), 5.0), ("saddle", (1.0, 2.0), -3.0),
    ("himmelblau", (0.0, 0.0), 121 + 49), ("rosenbrock", (0.0, 0.0), 1.0),
    ("rastrigin", (0.5, 0.0), 20 + 0.25 + 10 - 10 - 10 + 10)])
def test_formulas_by_hand(name, point, value):
    spec = surfaces.SURFACES.get(name)
    assert surfaces.value_and_gradient(spec, point)[0] == pytest.approx(value)


def test_gradient_is_autograd_of_the_formula_against_the_hand_derivative():
    spec = surfaces.SURFACES.get("rosenbrock")
    x, y = -1.2, 0.7
    _, gradient = surfaces.value_and_gradient(spec, (x, y))
    by_hand = (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2))
    assert gradient == pytest.approx(by_hand)


def test_saddle_plain_sgd_stays_on_the_ridge_adam_leaves():
    found = surfaces.search("saddle", optimizers=[SGD, ADAM], starts=[(1.0, 1e-6)],
                            lr=0.01, steps=100)
    sgd, adam = found.paths
    # y grows by (1 + 2 lr) a step: 1e-6 * 1.02^100 = 7.2e-6
    assert abs(sgd.end[1]) < 1e-4 and sgd.end[1] == pytest.approx(1e-6 * 1.02**100)
    assert abs(adam.end[1]) > 0.5


def test_himmelblau_starts_decide_which_minimum():
    corners = [(-4.0, -4.0), (-4.0, 4.0), (4.0, -4.0), (4.0, 4.0)]
    found = surfaces.search("himmelblau", optimizers=[SGD], starts=corners, lr=0.01,
                            steps=500)
    ends = {p.nearest for p in found.paths}
    assert len(ends) >= 3 and all(end.startswith("minimum") for end in ends)


def test_rosenbrock_momentum_gets_nearer_than_sgd():
    found = surfaces.search("rosenbrock", optimizers=[SGD, OptimizerChoice("momentum")],
                            starts=[(-1.5, 2.0)], lr=0.001, steps=2000)
    sgd, momentum = found.paths
    distance = [math.hypot(p.end[0] - 1, p.end[1] - 1) for p in (sgd, momentum)]
    assert distance[1] < distance[0]


def test_a_path_is_torchs_own_optimizer_on_the_formula():
    found = surfaces.search("bowl", optimizers=[OptimizerChoice("sgd", {"momentum": 0.5})],
                            starts=[(1.0, -2.0)], lr=0.1, steps=5)
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.5)
    for _ in range(5):
        opt.zero_grad()
        (p[0] ** 2 + p[1] ** 2).backward()
        opt.step()
    assert found.paths[0].end == pytest.approx(tuple(p.detach().numpy()))


def test_convergence_step_and_a_diverging_path():
    too_fast = OptimizerChoice("sgd", {"lr": 1.5}, "sgd:lr=1.5")
    found = surfaces.search("bowl", optimizers=[SGD, too_fast], starts=[(1.0, 1.0)],
                            lr=0.1, steps=200)
    sgd, wild = found.paths
    # |grad| = 2 sqrt(2) * 0.8^k < 1e-4 first at k = 46
    assert sgd.converged_at == 46 and sgd.nearest == "minimum (0, 0)"
    assert wild.converged_at is None and wild.nearest == "none"


@pytest.mark.parametrize(("args", "message"), [
    (["--surface", "bowel"], "unknown surface 'bowel' (did you mean 'bowl'?)"),
    (["--surface", "bowl", "--from", "1"], "--from: '1' must be 2 numbers, e.g. --from 1,1e-6"),
    (["--surface", "bowl", "--optimizers", "adamm"], "--optimizers: unknown optimizer 'adamm'"),
    (["--surface", "bowl", "--optimizers", "sgd:momentum"], "options go as name:key=value"),
    (["--surface", "bowl", "--lr", "-1"], "--lr: must be > 0"),
    (["--surface", "bowl", "--format", "xml"], "--format: 'xml' is not allowed"),
    (["--surface", "bowl", str(CONFIGS / "beans.yaml")], "give no CONFIG or --set"),
    ([], "give a CONFIG (a one-neuron 1-D task) or --surface NAME"),
])
def test_bad_input_is_one_line(invoke, tmp_path, args, message):
    result = invoke("landscape", *args, "--out", tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not list(tmp_path.iterdir())


def test_cli_table_json_picture_and_gif(invoke, tmp_path):
    result = invoke("landscape", "--surface", "saddle", "--from", "1,1e-6", "--optimizers",
                    "sgd,adam", "--lr", "0.01", "--out", tmp_path, "--animate")
    assert result.exit_code == 0, result.output
    assert "saddle: f = x^2 - y^2; lr 0.01, 100 steps" in result.stdout
    assert (tmp_path / "surface-saddle.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "surface-saddle.gif").read_bytes()[:6] == b"GIF89a"
    result = invoke("landscape", "--surface", "saddle", "--from", "1,1e-6", "--optimizers",
                    "sgd,adam", "--lr", "0.01", "--out", tmp_path / "x.png", "--format", "json")
    found = json.loads(result.stdout)
    sgd, adam = found["rows"]
    assert abs(sgd["end"][1]) < 1e-4 and abs(adam["end"][1]) > 0.5
    assert found["files"] == [str(tmp_path / "x.png")]


def test_list_surfaces(invoke):
    result = invoke("list", "surfaces")
    assert result.exit_code == 0
    for name in ("bowl", "saddle", "himmelblau", "rosenbrock", "rastrigin"):
        assert name in result.stdout


def test_optimizer_ref_expands_aliases_and_takes_the_search_lr_unless_given():
    ref = surfaces.optimizer_ref(OptimizerChoice("momentum"), 0.1)
    assert ref.name == "sgd" and ref.kwargs["momentum"] == 0.9 and ref.kwargs["lr"] == 0.1
    ref = surfaces.optimizer_ref(OptimizerChoice("nesterov"), 0.1)
    assert ref.kwargs["nesterov"] is True and ref.kwargs["momentum"] == 0.9
    ref = surfaces.optimizer_ref(OptimizerChoice("adam", {"lr": 0.5, "beta1": 0.8}), 0.1)
    assert ref.kwargs["lr"] == 0.5 and ref.kwargs["beta1"] == 0.8
    with pytest.raises(ConfigError, match="--optimizers: adam has no option 'bet1'"):
        surfaces.optimizer_ref(OptimizerChoice("adam", {"bet1": 0.8}), 0.1)
    with pytest.raises(ConfigError, match=r"unknown optimizer 'adamm'.*\(or momentum, nesterov\)"):
        surfaces.optimizer_ref(OptimizerChoice("adamm"), 0.1)


def test_a_choice_is_labelled_by_its_name_unless_given():
    assert OptimizerChoice("adam").label == "adam"
    assert OptimizerChoice("sgd", {"lr": 1.5}, "sgd:lr=1.5").label == "sgd:lr=1.5"
    found = surfaces.search("bowl", starts=[(1.0, 1.0)], steps=3, points=11)
    assert [p.optimizer for p in found.paths] == ["sgd", "momentum", "adam"]


def test_search_needs_an_optimizer():
    with pytest.raises(ConfigError, match="--optimizers: name at least one optimizer"):
        surfaces.search("bowl", optimizers=[], steps=3)


def test_table_groups_paths_by_start_and_each_row_names_it():
    corners = [(-4.0, -4.0), (4.0, 4.0)]
    found = surfaces.search("himmelblau", optimizers=[SGD, ADAM], starts=corners,
                            steps=20)
    groups = surfaces.by_start(found)
    assert [start for start, _ in groups] == corners
    for start, paths in groups:
        assert [p.optimizer for p in paths] == ["sgd", "adam"]
        assert all(p.start == start for p in paths)
        cells = surfaces.table_cells(paths, 3)
        assert all(len(row) == len(surfaces.COLUMNS) for row in cells)
        column = surfaces.COLUMNS.index("start")
        assert [row[column] for row in cells] == [surfaces.point_text(start, 3)] * 2
    assert surfaces.point_text((-4.0, 1e-6), 3) == "(-4, 1e-06)"
    one = surfaces.search("bowl", optimizers=[SGD, ADAM], starts=[(1.0, 1.0)], steps=5)
    assert [start for start, _ in surfaces.by_start(one)] == [(1.0, 1.0)]


def test_table_cells_of_a_diverged_path():
    found = surfaces.search("bowl", optimizers=[OptimizerChoice("sgd", {"lr": 1000.0})],
                            starts=[(1.0, 1.0)], steps=200)
    (row,) = surfaces.table_cells(found.paths, 3)
    record = dict(zip(surfaces.COLUMNS, row, strict=True))
    assert record["end"] == "diverged" and record["|grad|<1e-4 at"] == "never"
    assert record["nearest"] == "none"


def test_surface_picture_colour_bar_shows_several_ticks():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from actcli import plots

    found = surfaces.search("himmelblau", starts=[(-4.0, -4.0)], steps=30, points=61)
    minima = [p for p, kind in surfaces.known_points("himmelblau") if kind == "minimum"]
    fig = plots.surface_paths(found.x, found.y, found.f, True, minima, [],
                              [(p.optimizer, p.points) for p in found.paths], "h")
    FigureCanvasAgg(fig).draw()
    bar = fig.axes[-1]
    lo, hi = bar.get_ylim()
    shown = [t for t in bar.get_yticks() if lo <= t <= hi]
    assert len(shown) >= 4
    labels = [label.get_text() for label in bar.get_yticklabels()]
    assert all(float(text) > 0 for text in labels if text)
