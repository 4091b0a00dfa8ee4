"""The lesson of the Playground's 2-D sets, measured: where the activation (or a hidden
layer, or a feature) decides whether a network can learn a set at all.

    python benchmarks/playground_lesson.py [--seeds 5] [--figures docs/img]

Three questions, each a compare of the shipped configs (the cells of one question train as
one stack, through the library `actcli compare` uses):

- spiral.yaml, the same [16, 16] network with activation identity, relu, tanh;
- xor.yaml with hidden [] (one neuron) and hidden [4];
- circle.yaml with hidden [] and features [x1, x2] against [x1^2, x2^2].

Prints one Markdown table per question (test accuracy over seeds 0..N-1: mean, min, max)
with the torch build, CPU, threads and date it was measured on. With ``--figures DIR`` it
also writes each question's decision_maps.png there (seed 0 of each cell) for the README.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from actcli import provenance
from actcli.sweep import compare

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

QUESTIONS: list[tuple[str, str, list[str], dict[str, list[Any]]]] = [
    ("spiral", "spiral.yaml", [], {"model.activation": ["identity", "relu", "tanh"]}),
    ("xor", "xor.yaml", [], {"model.hidden": [[], [4]]}),
    ("circle", "circle.yaml", ["model.hidden=[]"],
     {"task.features": [["x1", "x2"], ["x1^2", "x2^2"]]}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--figures", type=Path, default=None,
                        help="write each question's decision_maps.png here")
    args = parser.parse_args()
    print(f"measured {datetime.date.today()}, torch {torch.__version__}, "
          f"{provenance.cpu_model()}, {torch.get_num_threads()} threads, "
          f"seeds 0..{args.seeds - 1}\n")
    with tempfile.TemporaryDirectory() as tmp:
        for name, config, overrides, grid in QUESTIONS:
            found = compare.run(CONFIGS / config, overrides, grid=grid, seeds=args.seeds,
                                workers=1, out=Path(tmp))
            rows = found.report.rows
            print(f"**{name}** ({config}{' ' + ' '.join(overrides) if overrides else ''}): "
                  "test accuracy\n")
            print("| cell | mean | min | max |")
            print("|---|---|---|---|")
            for row in sorted(rows, key=lambda r: r.shown):
                values = np.array([run.accuracy for run in row.runs.values()])
                print(f"| {row.shown} | {values.mean():.3f} | {values.min():.3f} | "
                      f"{values.max():.3f} |")
            print()
            if args.figures is not None:
                args.figures.mkdir(parents=True, exist_ok=True)
                shutil.copy(found.plan.folder / "decision_maps.png",
                            args.figures / f"lesson_{name}.png")


if __name__ == "__main__":
    from _publish import run

    run(main, "playground_lesson")
