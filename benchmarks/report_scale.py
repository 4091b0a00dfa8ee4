"""What a compare's report costs as the sweep grows: `report.summarize` and
`report_files.write` (summary.csv, report.md, the figures) over synthetic compare folders
of N cells, nothing trained.

    python benchmarks/report_scale.py [--cells 11 100 1000] [--seeds 1] [--keep DIR]

Each folder is what `actcli compare configs/beans.yaml --activations relu --over
optimizer.lr=<N values> --set model.hidden=[4] --set train.epochs=20` leaves: base.yaml,
plan.json (cells planned by `planning.expand`, two stacks), and per cell a summary.json,
metrics.csv (20 epochs) and diagnostics.csv (two layers) shaped like a real run's; the
largest learning rates diverge. The table: seconds of each phase, milliseconds a cell,
the largest PNG in pixels (at the dpi the report saves), the warnings raised, and the
per-cell cost against the smallest N (1.0: linear).
"""

from __future__ import annotations

import argparse
import json
import math
import struct
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

from actcli.sweep import planning, report, report_files
from actcli.sweep.executing import CellResult

EPOCHS = 20
KEYS = ("model.activation", "optimizer.lr")


def learning_rates(count: int) -> list[float]:
    """``count`` distinct learning rates, log-spaced from 1e-4 to 2, as a user types them."""
    for digits in range(3, 8):
        values = [float(f"{v:.{digits}g}") for v in np.geomspace(1e-4, 2.0, count)]
        if len(set(values)) == count:
            return values
    raise ValueError(f"no {count} distinct learning rates")


def _curve(lr: float, seed: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(test accuracy, test loss) per epoch: best near lr 0.05, slow below, noisy above."""
    distance = math.log10(lr / 0.05)
    peak = float(np.clip(0.995 - 0.12 * distance ** 2, 0.55, 0.995))
    rate = min(2.0, 3.0 * lr / 0.05) + 0.01
    epochs = np.arange(1, EPOCHS + 1)
    noise = rng.normal(0, 0.004 + 0.02 * max(distance, 0), EPOCHS)
    accuracy = np.clip(0.5 + (peak - 0.5) * (1 - np.exp(-rate * epochs)) + noise, 0, 1)
    loss = 0.69 * np.exp(-rate * epochs * (peak - 0.5) * 2) + 0.05 + 0.01 * seed
    return accuracy, loss


def build(folder: Path, count: int, seeds: int = 1) -> list[CellResult]:
    """A compare folder of ``count`` learning rates x ``seeds`` as a finished compare
    leaves it; the results as `executing.execute` returns them (plan order)."""
    grid: dict[str, list] = {"model.activation": ["relu"], "optimizer.lr": learning_rates(count)}
    cells = planning.expand(grid, seeds)
    folder.mkdir(parents=True)
    (folder / "base.yaml").write_text(
        "name: beans\ntask: {name: beans, count: 1000}\nmodel: {hidden: [4], activation: relu}\n"
        "loss: bce\noptimizer: {name: adam, lr: 0.05}\ntrain: {epochs: 20, seed: 0}\n",
        encoding="utf-8")
    half = -(-len(cells) // 2)  # two stacks, as a 2-core machine plans them
    ids = [c.id for c in cells]
    first = set(ids[:half])
    (folder / "plan.json").write_text(json.dumps({
        "config": "configs/beans.yaml", "overrides": ["model.hidden=[4]", "train.epochs=20"],
        "over": {k: [str(v) for v in grid[k]] for k in KEYS}, "seeds": seeds, "tuned_lr": {},
        "execution": {"workers": 2, "threads": 1, "backend": "processes", "address": None,
                      "cell_figures": False, "fuse": True},
        "command": "benchmarks/report_scale.py",
        "cells": [{"id": c.id, "label": c.label, "overrides": list(c.overrides),
                   "seed": c.seed, "values": c.values} for c in cells],
        "stacks": [ids[:half], ids[half:]]}, indent=2), encoding="utf-8")
    rng = np.random.default_rng(0)
    results = []
    for cell in cells:
        lr = float(cell.values["optimizer.lr"])
        accuracies, losses = _curve(lr, cell.seed, rng)
        accuracy, loss = accuracies.tolist(), losses.tolist()  # floats whose repr is CSV
        diverged = lr > 1.2  # the largest rates blow up a few epochs in
        logged = 6 if diverged else EPOCHS
        metrics = {"loss": float(loss[-1]), "accuracy": float(accuracy[-1]),
                   "threshold": 0.44}
        status, reason = "completed", ""
        if diverged:
            metrics = {"train_loss": float(loss[logged - 1]), "test_loss": float(loss[logged - 1]),
                       "accuracy": float(accuracy[logged - 1]), "last_logged_epoch": logged}
            status, reason = "diverged", f"loss is not finite at epoch {logged + 1}"
        run = folder / "cells" / cell.id
        run.mkdir(parents=True)
        stack = half if cell.id in first else len(ids) - half
        summary = {"status": status, "name": "beans", "task": "beans", "metrics": metrics,
                   "epochs": logged, "seconds": 0.005, "device": "cpu", "seed": cell.seed,
                   "parameters": 13, "measured_on": "the test split",
                   "stack": stack,
                   "stack_seconds": 0.005 * half, **({"reason": reason} if reason else {})}
        (run / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        rows = ["epoch,train_loss,train_accuracy,test_loss,accuracy"] + [
            f"{e},{loss[e - 1] * 1.02!r},{accuracy[e - 1] - 0.01!r},{loss[e - 1]!r},"
            f"{accuracy[e - 1]!r}" for e in range(1, logged + 1)]
        (run / "metrics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        grads = (0.2 * np.exp(-0.05 * np.arange(logged)) * (1 + lr)).tolist()
        rows = ["epoch,grad_norm/layer1,grad_norm/layer2,dead/layer1,saturated/layer1"] + [
            f"{e},{grads[e - 1]!r},{grads[e - 1] / 2!r},0.25,0.0" for e in range(1, logged + 1)]
        (run / "diagnostics.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        results.append(CellResult(cell, status, metrics, 0.005, reason, stack=stack))
    return results


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@dataclass
class Measured:
    runs: int
    summarize: float  # seconds
    write: float
    largest: str  # "W x H (file)"
    markdown: int  # bytes of report.md
    warnings: list[str]  # distinct first lines


def measure(folder: Path, count: int, seeds: int) -> Measured:
    """Build a compare of ``count`` cells in ``folder`` and time its report."""
    results = build(folder, count, seeds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        found = report.summarize(folder, results, ("loss", "accuracy"), list(KEYS))
        middle = time.perf_counter()
        files = report_files.write(folder, results, found)
        end = time.perf_counter()
    sizes = {name: png_size(folder / name) for name in files if name.endswith(".png")}
    largest = max(sizes, key=lambda name: max(sizes[name]))
    return Measured(len(results), middle - start, end - middle,
                    f"{sizes[largest][0]} x {sizes[largest][1]} ({largest})",
                    (folder / "report.md").stat().st_size,
                    [str(w.message).splitlines()[0][:70] for w in caught])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[11, 100, 1000])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="leave the compare folders here")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="report-scale-"))
    measure(root / "warm-up", 2, 1)  # imports, fonts, the first figure: paid once, not timed
    first = args.cells[0]
    print(f"report phase over synthetic compares ({args.seeds} seed(s), {EPOCHS} epochs; "
          f"python {sys.version.split()[0]}, matplotlib {matplotlib.__version__})\n")
    print(f"| N | runs | summarize s | write s | ms per run | ms per run beyond N={first} "
          f"| per run vs N={first} | largest PNG px | report.md KiB | warnings |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    base: tuple[int, float] | None = None
    for count in args.cells:
        found = measure(root / f"n{count}", count, args.seeds)
        total = found.summarize + found.write
        per_run = 1000 * total / found.runs
        base = base or (found.runs, total)
        beyond = (f"{1000 * (total - base[1]) / (found.runs - base[0]):.2f}"
                  if found.runs > base[0] else "-")
        print(f"| {count} | {found.runs} | {found.summarize:.3f} | {found.write:.3f} "
              f"| {per_run:.2f} | {beyond} | {per_run / (1000 * base[1] / base[0]):.2f} "
              f"| {found.largest} | {found.markdown / 1024:.0f} | {len(found.warnings)} |")
        for message in sorted(set(found.warnings)):
            print(f"|  | warning: {message} | | | | | | | | |")
    if args.keep is None:
        import shutil

        shutil.rmtree(root)


if __name__ == "__main__":
    from _publish import run

    run(main, "report_scale")
