"""Speed-up of `actcli compare` with K worker processes over K = 1, on one machine.

    python benchmarks/compare_workers.py [--config configs/compare_fashion_mnist.yaml]
        [--workers 1,2] [--epochs N] [--seeds 1]

Runs the config's compare plan (the eleven activations) once per K, each time into a fresh
temporary folder, and prints a table: K, threads per worker, wall seconds, runs per minute,
speed-up over the first K.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from actcli import compare
from actcli import config as config_mod


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/compare_fashion_mnist.yaml")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--epochs", type=int, default=None, help="override train.epochs")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()

    path = Path(args.config)
    overrides = [f"train.epochs={args.epochs}"] if args.epochs else []
    planned = config_mod.load(path, overrides).compare
    grid = dict(planned.over) if planned and planned.over else {
        "model.activation": list(compare.ELEVEN)}
    rows = []
    for workers in [int(k) for k in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as out:
            folder, cells = compare.create(path, overrides, grid, args.seeds, Path(out))
            start = time.perf_counter()
            results = compare.execute(folder, cells, workers=workers)
            seconds = time.perf_counter() - start
        failed = sum(r.status != "completed" for r in results)
        rows.append((workers, max(1, (os.cpu_count() or 1) // workers), len(cells), seconds,
                     failed))
    base = rows[0][3]
    print(f"{path}: {rows[0][2]} runs per K, {os.cpu_count()} cores")
    print()
    print(f"| workers K | threads/worker | seconds | runs/min | speed-up vs K={rows[0][0]} |"
          " failed |")
    print("|---|---|---|---|---|---|")
    for workers, threads, count, seconds, failed in rows:
        print(f"| {workers} | {threads} | {seconds:.1f} | {60 * count / seconds:.2f} | "
              f"{base / seconds:.2f}x | {failed} |")


if __name__ == "__main__":
    main()
