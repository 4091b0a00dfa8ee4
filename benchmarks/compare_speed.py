"""Wall time of `actcli compare` fused (cells that share a network train as one stack)
against --no-fuse (every cell alone), and what a stack costs per model.

    python benchmarks/compare_speed.py [--fmnist-epochs 3] [--skip-fmnist]
    python benchmarks/compare_speed.py --device cuda --fmnist-seeds 10 --stacks 1,11,33,110

``--device`` trains every workload there (cpu by default; cuda on an NVIDIA GPU);
``--fmnist-seeds`` runs the Fashion-MNIST workload over that many seeds (eleven activations
x N cells); ``--stacks`` adds a table of one Fashion-MNIST epoch per model in stacks of
those sizes (the eleven activations over as many seeds as it takes) against the device's
float32 matrix-product limit.

1. The three workloads of the fused-compare work, each planned and run into a fresh
   temporary folder exactly as `actcli compare` plans and runs them (the report is left
   out): compare_beans (eleven activations x 3 seeds, 33 cells), the rice cooker with three
   initializers x 10 seeds (30 cells), the eleven activations on the Fashion-MNIST MLP for a
   few epochs (11 cells; needs $ACTCLI_DATA_DIR). Each fused and --no-fuse, with 1 worker
   and with 2 (1 thread each); the ratio is against --no-fuse with 2 workers.
2. One Fashion-MNIST epoch of the MLP 784-256-128-10 per model: alone (what `actcli train`
   does: the dense engine with a stack of one), in a stack of the eleven activations, and
   the matmul-bound limit
   (the epoch's matrix-product FLOPs / this CPU's float32 matmul FLOP/s, as
   benchmarks/fmnist_epoch.py measures it), at 1 and 2 threads.
3. The CNN's convolutions (configs/fashion_mnist_cnn.yaml: 32 and 64 channels, batch 128),
   forward and backward of one batch for eleven models: one after another against one
   grouped convolution per layer (groups = 11), at 1 thread: whether stacking CNNs would pay.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from actcli import config as config_mod
from actcli.config import shipped
from actcli.sweep import executing, planning
from actcli.training import driver
from actcli.training.parts import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fmnist_epoch import epoch_flops, matmul_flops_per_second


def workloads(fmnist_epochs: int, skip_fmnist: bool, device: str = "cpu",
              fmnist_seeds: int = 1) -> list[tuple[str, Path, list[str], dict[str, list],
                                                   int]]:
    """(name, config, overrides, grid, seeds) of each workload."""
    eleven = list(planning.ELEVEN)
    on = [f"device={device}"]
    found = [
        ("compare_beans", shipped.resolve("compare_beans"), on,
         {"model.activation": eleven}, 3),
        ("rice_cooker inits", shipped.resolve("rice_cooker"), [*on, "train.epochs=1000"],
         {"model.init": ["xavier_uniform", "normal", "kaiming_uniform"]}, 10),
    ]
    if not skip_fmnist and os.environ.get("ACTCLI_DATA_DIR"):
        found.append(("fashion_mnist MLP", shipped.resolve("compare_fashion_mnist"),
                      [*on, f"train.epochs={fmnist_epochs}"], {"model.activation": eleven},
                      fmnist_seeds))
    return found


def warm_up() -> None:
    """What the first run in a process pays once (torch's optimizers import its compiler
    stack on first use, about 1.6 s here), paid before any row is timed."""
    from actcli.components import optimizers

    parameter = torch.zeros(1, requires_grad=True)
    optimizers.build(config_mod.load(None).optimizer, [parameter])


def compares(fmnist_epochs: int, skip_fmnist: bool, device: str = "cpu",
             fmnist_seeds: int = 1) -> None:
    warm_up()
    rows = []
    for name, path, overrides, grid, seeds in workloads(fmnist_epochs, skip_fmnist, device,
                                                        fmnist_seeds):
        timed = []
        for fuse in (True, False):
            for workers in (1, 2):
                run = planning.Execution(workers, 1, fuse=fuse)
                with tempfile.TemporaryDirectory() as out:
                    start = time.perf_counter()
                    plan = planning.create(path, overrides, grid, seeds, Path(out),
                                           execution=run)
                    folder, cells = plan.folder, plan.cells
                    results = executing.execute(folder, cells, run)
                    seconds = time.perf_counter() - start
                    units = len(executing.units(folder, cells, run))
                failed = sum(r.status != "completed" for r in results)
                timed.append((fuse, workers, seconds, failed, units))
        baseline = next(s for fuse, w, s, _, _ in timed if not fuse and w == 2)
        for fuse, workers, seconds, failed, units in timed:
            rows.append((name, len(cells), "fused" if fuse else "--no-fuse", workers, units,
                         seconds, baseline / seconds, failed))
    print(f"{os.cpu_count()} cores, torch {torch.__version__}, device {device}; 1 thread "
          "per worker; plan + training, no report")
    print()
    print("| workload | cells | mode | workers | units | seconds | cells/s "
          "| vs --no-fuse 2 workers | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, count, mode, workers, units, seconds, ratio, failed in rows:
        print(f"| {name} | {count} | {mode} | {workers} | {units} | {seconds:.1f} | "
              f"{count / seconds:.2f} | {ratio:.2f}x | {failed} |")


def stack_epoch(configs: list[config_mod.Config]) -> tuple[float, int]:
    """Each model's share of the seconds of one stack of ``configs`` (trained into a
    temporary folder), and how many of them did not complete."""
    with tempfile.TemporaryDirectory() as out:
        results = driver.run_stack(configs, [Path(out) / f"m{i}" for i in range(len(configs))])
    per_model = results[0].seconds if results[0] is not None else float("nan")
    return per_model, sum(r is None or r.status != "completed" for r in results)


def epoch_matmul_flops(config: config_mod.Config) -> float:
    """The matrix-product FLOPs of one epoch of ``config``'s network over its training set."""
    p = prepare(config, alone=False)
    return epoch_flops(p.parts.net, len(p.train))


def stacked_epoch() -> None:
    eleven = list(planning.ELEVEN)
    path = shipped.resolve("compare_fashion_mnist")
    configs = [config_mod.load(path, [f"model.activation={a}", "train.epochs=1",
                                      "device=cpu"]) for a in eleven]
    relu = configs[eleven.index("relu")]
    work = epoch_matmul_flops(relu)
    before = torch.get_num_threads()
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        limit = work / matmul_flops_per_second()
        with tempfile.TemporaryDirectory() as out:
            alone = driver.run(relu, Path(out), folder=Path(out) / "alone", figures=False)
        per_model, _ = stack_epoch(configs)  # each model's share of the stack's time
        rows.append((threads, alone.seconds, per_model, limit))
    torch.set_num_threads(before)
    print()
    print("One Fashion-MNIST epoch (MLP 784-256-128-10, batch 128, 55,000 images) per "
          "model, seconds, with the validation pass and diagnostics")
    print()
    print("| threads | alone (relu, a stack of one) | in a stack of 11 | matmul limit "
          "| stack of 11 vs alone | stack of 11 vs limit |")
    print("|---|---|---|---|---|---|")
    for threads, alone_s, stack_s, limit in rows:
        print(f"| {threads} | {alone_s:.2f} | {stack_s:.2f} | {limit:.2f} | "
              f"{alone_s / stack_s:.2f}x | {stack_s / limit:.2f}x |")


def stack_sizes(device_name: str, sizes: list[int]) -> None:
    """One Fashion-MNIST epoch per model in stacks of each size (the eleven activations,
    then the same over seeds 1, 2, ... so that no two models are alike) against the
    device's matmul limit."""
    from actcli import devices

    eleven = list(planning.ELEVEN)
    path = shipped.resolve("compare_fashion_mnist")
    device = devices.resolve(device_name)
    peak = matmul_flops_per_second(4096, device=device)

    def model(i: int) -> config_mod.Config:  # the stack's i-th: an activation and a seed
        return config_mod.load(path, [f"model.activation={eleven[i % 11]}",
                                      f"train.seed={i // 11}", "train.epochs=1",
                                      f"device={device_name}"])

    limit = epoch_matmul_flops(model(0)) / peak  # per model: all are the same network
    rows = []
    for k in sizes:
        per_model, failed = stack_epoch([model(i) for i in range(k)])
        rows.append((k, per_model, limit, failed))
    print()
    print(f"One Fashion-MNIST epoch per model in stacks of K (MLP 784-256-128-10, batch 128, "
          f"55,000 images, validation and diagnostics included), device {device}, float32 "
          f"matmul {peak / 1e9:,.0f} GFLOP/s")
    print()
    print("| K | seconds per model | matmul limit per model | vs limit | vs K=1 | failed |")
    print("|---|---|---|---|---|---|")
    first = rows[0][1]
    for k, per_model, limit, failed in rows:
        print(f"| {k} | {per_model:.3f} | {limit:.3f} | {per_model / limit:.2f}x | "
              f"{first / per_model:.2f}x | {failed} |")


def cnn_convolutions(models: int = 11, repeats: int = 20) -> None:
    torch.set_num_threads(1)
    batch, shapes = 128, [(1, 32, 28), (32, 64, 14)]  # (in, out, size) of each conv layer
    rows: list[tuple[str, float, float]] = []
    for c_in, c_out, size in shapes:
        torch.manual_seed(0)
        x = torch.randn(batch, c_in, size, size).to(memory_format=torch.channels_last)
        alone = [torch.nn.Conv2d(c_in, c_out, 3, padding=1).to(memory_format=torch.channels_last)
                 for _ in range(models)]
        grouped = torch.nn.Conv2d(models * c_in, models * c_out, 3, padding=1,
                                  groups=models).to(memory_format=torch.channels_last)
        xs = x.repeat(1, models, 1, 1).contiguous(memory_format=torch.channels_last)

        def one_after_another(alone: list = alone, x: torch.Tensor = x) -> None:
            for conv in alone:
                conv(x).sum().backward()

        def as_groups(grouped: torch.nn.Conv2d = grouped, xs: torch.Tensor = xs) -> None:
            grouped(xs).sum().backward()

        timings = []
        for fn in (one_after_another, as_groups):
            fn()
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            timings.append((time.perf_counter() - start) / repeats)
        rows.append((f"{c_in}->{c_out}, {size}x{size}", timings[0], timings[1]))
    print()
    print(f"CNN convolutions, forward + backward of one batch of {batch} for {models} models, "
          "1 thread, milliseconds")
    print()
    print("| layer | one after another | grouped (groups = models) | grouped vs alone |")
    print("|---|---|---|---|")
    for name, alone_s, grouped_s in rows:
        print(f"| {name} | {alone_s * 1e3:.1f} | {grouped_s * 1e3:.1f} | "
              f"{alone_s / grouped_s:.2f}x |")


def main() -> str | None:
    """The tables; on a GPU, the name they are published under apart from the CPU's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fmnist-epochs", type=int, default=3)
    parser.add_argument("--skip-fmnist", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | mps")
    parser.add_argument("--fmnist-seeds", type=int, default=1,
                        help="seeds of the Fashion-MNIST workload (eleven cells each)")
    parser.add_argument("--stacks", default="",
                        help="comma-separated stack sizes for the per-model epoch table")
    args = parser.parse_args()
    sizes = [int(k) for k in args.stacks.split(",") if k.strip()]
    compares(args.fmnist_epochs, args.skip_fmnist, args.device, args.fmnist_seeds)
    fmnist = not args.skip_fmnist and os.environ.get("ACTCLI_DATA_DIR")
    if fmnist and args.device == "cpu":
        stacked_epoch()
    if fmnist and sizes:
        stack_sizes(args.device, sizes)
    if args.device == "cpu":
        cnn_convolutions()
    return "compare_speed_cuda" if args.device.startswith("cuda") else None


if __name__ == "__main__":
    from _publish import run

    run(main, "compare_speed")
