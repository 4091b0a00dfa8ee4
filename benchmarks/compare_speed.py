"""Wall time of `actcli compare` on the three workloads the fused-compare work is measured by.

    python benchmarks/compare_speed.py [--fmnist-epochs 3] [--skip-fmnist]

Runs, in one process and each into a fresh temporary folder, exactly what `actcli compare`
runs: compare_beans (the eleven activations x 3 seeds, 33 cells), the rice cooker with three
initializers x 10 seeds (30 cells), and the eleven activations on the Fashion-MNIST MLP for
a few epochs (11 cells; needs the files: $ACTCLI_DATA_DIR), each with 1 worker and with 2
workers of 1 thread. Prints one table: workload, cells, layout, wall seconds, cells per
second, ratio against the 1-worker row of the same workload.

This is the baseline, every cell trained alone; the stacked engine of the fused-compare
issue adds its rows beside these.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from actcli import compare, shipped


def workloads(fmnist_epochs: int, skip_fmnist: bool) -> list[tuple[str, Path, list[str],
                                                                   dict[str, list], int]]:
    """(name, config, overrides, grid, seeds) of each workload."""
    eleven = list(compare.ELEVEN)
    found = [
        ("compare_beans", shipped.resolve("compare_beans"), [],
         {"model.activation": eleven}, 3),
        ("rice_cooker inits", shipped.resolve("rice_cooker"), ["train.epochs=1000"],
         {"model.init": ["xavier_uniform", "normal", "kaiming_uniform"]}, 10),
    ]
    if not skip_fmnist and os.environ.get("ACTCLI_DATA_DIR"):
        found.append(("fashion_mnist MLP", shipped.resolve("compare_fashion_mnist"),
                      [f"train.epochs={fmnist_epochs}"], {"model.activation": eleven}, 1))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fmnist-epochs", type=int, default=3)
    parser.add_argument("--skip-fmnist", action="store_true")
    args = parser.parse_args()
    rows = []
    for name, path, overrides, grid, seeds in workloads(args.fmnist_epochs, args.skip_fmnist):
        base = None
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as out:
                folder, cells = compare.create(path, overrides, grid, seeds, Path(out))
                start = time.perf_counter()
                results = compare.execute(folder, cells, compare.Execution(workers, 1))
                seconds = time.perf_counter() - start
            failed = sum(r.status != "completed" for r in results)
            base = base or seconds
            rows.append((name, len(cells), f"{workers} x 1 thread", seconds, failed,
                         base / seconds))
    print(f"{os.cpu_count()} cores; every cell trained alone (no stacking)")
    print()
    print("| workload | cells | workers | seconds | cells/s | vs 1 worker | failed |")
    print("|---|---|---|---|---|---|---|")
    for name, count, layout, seconds, failed, ratio in rows:
        print(f"| {name} | {count} | {layout} | {seconds:.1f} | {count / seconds:.2f} | "
              f"{ratio:.2f}x | {failed} |")


if __name__ == "__main__":
    main()
