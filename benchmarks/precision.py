"""What train.precision: bf16 buys on this machine's CPU: one Fashion-MNIST training pass of
the shipped MLP (the dense engine, a run alone) in fp32 and in bf16, and the matrix product
rates behind it.

    python benchmarks/precision.py [--repeats 5] [--threads 2] [--docs]

Both precisions train the same freshly seeded network from the same config, in one process,
in --repeats interleaved rounds of one pass each; the best of each counts. The matmul rows
time square products (256, about a batch's size, and 2048) in both dtypes. (bf16's accuracy
against fp32 is a test: tests/test_precision.py.) Needs the Fashion-MNIST files.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from actcli import config as config_mod
from actcli import provenance
from actcli.training.parts import engine_for, prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from custom_activation import Job  # beside this script
from fmnist_epoch import matmul_flops_per_second

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "fashion_mnist.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    jobs = {}
    data = None
    for precision in ("fp32", "bf16"):
        cfg = config_mod.load(CONFIG, ["device=cpu", f"train.precision={precision}"])
        prepared = prepare(cfg, data=data)
        data = prepared.data
        jobs[precision] = Job(engine_for([prepared]), [prepared])

    def one_pass(precision: str) -> float:
        start = time.perf_counter()
        jobs[precision].run()
        return time.perf_counter() - start

    for precision in jobs:  # first calls, allocator: paid before timing
        one_pass(precision)
    seconds: dict[str, list[float]] = {p: [] for p in jobs}
    for r in range(args.repeats):
        for precision in (list(jobs) if r % 2 == 0 else list(reversed(jobs))):
            seconds[precision].append(one_pass(precision))
    best = {p: min(times) for p, times in seconds.items()}
    first = jobs["fp32"].prepared[0]
    n = len(first.train)
    print(f"Fashion-MNIST MLP 784-256-128-10, {n:,} images per pass, batch "
          f"{first.config.train.batch_size}; torch {torch.__version__}, "
          f"{args.threads} threads, {provenance.cpu_model()}; best of {args.repeats} "
          "interleaved rounds\n")
    print("| precision | samples/s | seconds per pass | vs fp32 |")
    print("|---|---|---|---|")
    for precision, value in best.items():
        print(f"| {precision} | {n / value:,.0f} | {value:.3f} | {best['fp32'] / value:.2f}x |")
    print()
    print("| matrix product | GFLOP/s | vs float32 |")
    print("|---|---|---|")
    for size in (256, 2048):
        fp32 = matmul_flops_per_second(size, 1.0, dtype=torch.float32)
        bf16 = matmul_flops_per_second(size, 1.0, dtype=torch.bfloat16)
        print(f"| {size}x{size} float32 | {fp32 / 1e9:.1f} | 1.00x |")
        print(f"| {size}x{size} bfloat16 | {bf16 / 1e9:.1f} | {bf16 / fp32:.2f}x |")


if __name__ == "__main__":
    from _publish import run

    run(main, "precision")
