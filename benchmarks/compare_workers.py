"""Wall time of `actcli compare` with K worker processes of T torch threads, on one machine.

    python benchmarks/compare_workers.py [--config configs/compare_fashion_mnist.yaml]
        [--layouts 1x2,1x1,2x1] [--epochs N] [--seeds 1]

Runs the config's compare plan (settled exactly as `actcli compare` settles it) once per
layout KxT, each time into a fresh temporary folder, and prints a table: K, T, wall seconds,
runs per minute, speed-up over the first layout. Cells trained with the same T give the same
numbers whatever K is; a different T may differ in the last bits.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from actcli import config as config_mod
from actcli.sweep import executing, planning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/compare_fashion_mnist.yaml")
    parser.add_argument("--layouts", default="1x2,1x1,2x1",
                        help="workers x threads per cell, comma-separated")
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()

    path = Path(args.config)
    overrides = [f"train.epochs={args.epochs}"] if args.epochs else []
    planned = config_mod.load(path, overrides).compare
    rows = []
    for layout in args.layouts.split(","):
        workers, threads = (int(n) for n in layout.split("x"))
        settings = planning.settle(planned, {}, None, args.seeds, workers, threads)
        with tempfile.TemporaryDirectory() as out:
            plan = planning.create(path, overrides, settings.grid, settings.seeds, Path(out))
            folder, cells = plan.folder, plan.cells
            start = time.perf_counter()
            results = executing.execute(folder, cells, planning.Execution(workers, threads))
            seconds = time.perf_counter() - start
        failed = sum(r.status != "completed" for r in results)
        rows.append((workers, threads, len(cells), seconds, failed))
    base = rows[0][3]
    print(f"{path}: {rows[0][2]} runs per layout, {os.cpu_count()} cores")
    print()
    print(f"| workers K | threads/cell T | seconds | runs/min | speed-up vs "
          f"{rows[0][0]}x{rows[0][1]} | failed |")
    print("|---|---|---|---|---|---|")
    for workers, threads, count, seconds, failed in rows:
        print(f"| {workers} | {threads} | {seconds:.1f} | {60 * count / seconds:.2f} | "
              f"{base / seconds:.2f}x | {failed} |")


if __name__ == "__main__":
    from _publish import run

    run(main, "compare_workers")
