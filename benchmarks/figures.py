"""How long each figure actcli draws takes to build and save as PNG, here.

    python benchmarks/figures.py

Builds every kind of figure from realistic data (a beans run's history, a compare of the
eleven activations, a Fashion-MNIST-sized confusion matrix and image grid, surfaces, a
2-D task's decision map and hidden units, a compare's twelve decision maps) and
times building + saving it, best of 3, in one process (a GIF: building and encoding it).
Prints a table: figure, seconds, ratio against the slowest PNG.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np

from actcli import folders, plots
from actcli.inspection import curves as curves_mod
from actcli.inspection import surfaces


def main() -> None:
    rng = np.random.default_rng(0)
    epochs = np.arange(1, 201)
    history = [{"epoch": float(e), "train_loss": 1 / e, "train_accuracy": 1 - 1 / e,
                "test_loss": 1.1 / e, "accuracy": 1 - 1.1 / e} for e in epochs]
    x = np.linspace(0, 1, 801)
    data_x = rng.random(1000)
    data_y = (data_x > 0.43).astype(float)
    eleven = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish",
              "softplus", "hardswish"]
    curves = {n: (epochs, 1 - 1 / epochs, 0.01 * np.ones(200), "accuracy") for n in eleven}
    weights = {f"layers.{i}.weight": rng.normal(size=256) for i in range(3)}
    found = surfaces.search("himmelblau", starts=[(-4, -4), (4, 4)], steps=100)
    shapes = [curves_mod.evaluate(n, -4, 4) for n in eleven]
    tracks = [(p.optimizer, p.points) for p in found.paths]
    side = np.linspace(-6, 6, 80)
    plane = plots.PlaneGrid(side, side)
    x1, x2 = np.meshgrid(side, side)
    p_map = 1 / (1 + np.exp(-(x1 * x2) / 4))
    points = plots.PlanePoints(rng.uniform(-6, 6, (250, 2)), rng.integers(0, 2, 250))
    units = [np.tanh(rng.normal(size=(8, 1, 1)) * x1 + rng.normal(size=(8, 1, 1)) * x2)
             for _ in range(2)]
    wide = [np.tanh(rng.normal(size=(32, 1, 1)) * x1 + rng.normal(size=(32, 1, 1)) * x2)
            for _ in range(2)]
    jobs: dict[str, Callable[[], object]] = {
        "decision_map": lambda: plots.decision_map(plane, p_map, points, points,
                                                   regression=False, title="spiral"),
        "unit_maps (2 x 8)": lambda: plots.unit_maps(plane, units),
        "unit_maps (2 x 32)": lambda: plots.unit_maps(plane, wide),
        "unit_maps (4 x 32)": lambda: plots.unit_maps(plane, wide * 2),
        "decision_animation (100 frames, GIF)": lambda: plots.decision_animation(
            plane, [(e, 1 / e, p_map ** (1 / e)) for e in range(1, 101)], points,
            regression=False),
        "decision_grid (12)": lambda: plots.decision_grid(
            plane, [p_map] * 12, [f"cell {i}" for i in range(12)], points, regression=False),
        "learning_curves": lambda: plots.learning_curves(history, "beans"),
        "fit_curve": lambda: plots.fit_curve(data_x, data_y, plots.Curve("before", x, x),
                                             plots.Curve("after", x, x), 0.43, "bean size"),
        "weight_histograms": lambda: plots.weight_histograms(weights, weights),
        "confusion_matrix": lambda: plots.confusion_matrix(
            rng.integers(0, 1000, (10, 10)), tuple(str(i) for i in range(10))),
        "image_grid": lambda: plots.image_grid(rng.integers(0, 255, (24, 28, 28)),
                                               ["t\np"] * 24, "misclassified"),
        "compare_curves": lambda: plots.compare_curves(curves, 0.98),
        "compare_bars": lambda: plots.compare_bars(eleven, [(0.99, 0.01)] * 11, "accuracy"),
        "time_to_target": lambda: plots.time_to_target(eleven, [[3, 4, 5]] * 11, "target"),
        "seed_scores (11 x 20 seeds)": lambda: plots.seed_scores(
            eleven, [list(0.98 + 0.01 * rng.random(20)) for _ in eleven], "accuracy",
            [(0.985, 0.982, 0.988)] * 11),
        "gradient_flow": lambda: plots.gradient_flow({n: np.array([1e-2, 1e-3, 1e-4])
                                                      for n in eleven}),
        "activation_curves": lambda: plots.activation_curves(shapes, grad=True),
        "surface_paths": lambda: plots.surface_paths(
            found.x, found.y, found.f, True, list(found.spec.minima),
            list(found.spec.saddles), tracks, "himmelblau"),
    }
    rows = []
    for name, build in jobs.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            figure = build()
            if not isinstance(figure, bytes):  # (a GIF comes encoded)
                folders.render_png(figure, io.BytesIO())
            best = min(best, time.perf_counter() - start)
        rows.append((name, best, isinstance(figure, bytes)))
    slowest = max(seconds for _, seconds, gif in rows if not gif)
    import datetime

    import torch

    from actcli import provenance

    print(f"measured {datetime.date.today()}, torch {torch.__version__}, "
          f"{provenance.cpu_model()}, best of 3\n")
    print("| figure | seconds (build + PNG) | vs slowest PNG |")
    print("|---|---|---|")
    for name, seconds, gif in rows:
        print(f"| {name} | {seconds:.3f} | {'-' if gif else f'{seconds / slowest:.2f}'} |")


if __name__ == "__main__":
    from _publish import run

    run(main, "figures")
