"""Samples/s of one Fashion-MNIST training epoch: the textbook loop against actcli's own.

    python benchmarks/fmnist_epoch.py [--config configs/fashion_mnist.yaml] [--samples N]

(a) textbook: a per-sample Dataset that turns each stored uint8 image into a PIL image,
    then a float tensor in [0, 1] and normalises it (as torchvision's ToTensor + Normalize),
    fed by a DataLoader (batch 128, shuffled, in-process).
(b) actcli: the whole set as one tensor, batches as row gathers of a permutation
    (actcli.engine.loop.run_epoch), same model, optimizer and batch size; once with plain
    autograd (actcli.engine.autograd.AutogradEngine, what a CNN trains with) and once with
    the engine actcli trains this model with (a plain MLP: the dense engine, a stack of
    one, its matrix products written out).
(c) limit: the epoch's matmul FLOPs divided by this CPU's sustained matmul FLOP/s, measured
    here on large square float32 matrix products.

All loops train the same freshly seeded network from the same config, in one process, in
--repeats rounds of one pass each (and one matmul measurement): the best of each counts,
so a change in the machine's load over the run hits every row alike.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from actcli import config as config_mod
from actcli.components import optimizers
from actcli.engine.autograd import AutogradEngine
from actcli.engine.loop import Engine, Orders, run_epoch
from actcli.tasks import fmnist_data
from actcli.tasks.fashion_mnist import FashionMnistOptions, read_split
from actcli.training.parts import build_parts, engine_for, prepare


class TextbookDataset(Dataset):
    """One image at a time: uint8 -> PIL -> float tensor -> normalised, as torchvision does."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: float, std: float):
        self.images, self.labels, self.mean, self.std = images, labels, mean, std

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        picture = Image.fromarray(self.images[i], mode="L")
        x = torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0).unsqueeze(0)
        return (x - self.mean) / self.std, int(self.labels[i])


def matmul_flops_per_second(size: int = 1024, seconds: float = 2.0, *,
                            device: torch.device | str = "cpu",
                            dtype: torch.dtype = torch.float32) -> float:
    """Sustained FLOP/s of square ``size`` matrix products in ``dtype`` on ``device``
    (a GPU is synchronised, so its queued products are counted when done)."""
    device = torch.device(device)
    a = torch.randn(size, size).to(device=device, dtype=dtype)
    b = torch.randn(size, size).to(device=device, dtype=dtype)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(3):
        a @ b  # warm up
    sync()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
        if count % 10 == 0:
            sync()
    sync()
    return 2 * size**3 * count / (time.perf_counter() - start)


def epoch_flops(net: torch.nn.Module, samples: int) -> float:
    """Matmul FLOPs of forward + backward: 2 per weight forward, 4 backward (input and
    weight gradients), minus the first layer's input gradient, which is not computed."""
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    weights = sum(m.weight.numel() for m in linears)
    return samples * (6 * weights - 2 * linears[0].weight.numel())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/fashion_mnist.yaml")
    parser.add_argument("--samples", type=int, default=20_000,
                        help="training images per measured pass (the textbook loop is slow)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds (one pass of each loop per round); the best counts")
    args = parser.parse_args()

    cfg = config_mod.load(Path(args.config), [
        f"train.batch_size={args.batch_size}", f"task.limit_train={args.samples}", "device=cpu"])
    # what `actcli train` builds: data as tensors, the seeded network, its engine
    prepared = prepare(cfg)
    data, task, device = prepared.data, prepared.task, prepared.parts.device
    options = cfg.task
    assert isinstance(options, FashionMnistOptions), "a Fashion-MNIST config"
    paths = fmnist_data.locate(options.data_dir, options.download)
    images, labels = read_split(paths, "train")
    images, labels = images[:args.samples], labels[:args.samples]
    mean, std = float(images.mean() / 255), float((images / 255).std())
    threads = torch.get_num_threads()

    # (a) the textbook loop: autograd on the module, fed by a DataLoader
    textbook_parts = build_parts(cfg, data, device, task.input_shape)
    net, objective = textbook_parts.net, textbook_parts.objective
    textbook_opt = optimizers.build(cfg.optimizer, net.parameters())
    loader = DataLoader(TextbookDataset(images, labels, mean, std), batch_size=args.batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(0))
    net.train()

    def textbook_pass() -> None:
        for xb, yb in loader:
            textbook_opt.zero_grad(set_to_none=True)
            objective(net(xb), yb).backward()
            textbook_opt.step()

    passes: dict[str, Callable[[], object]] = {"textbook (PIL + DataLoader)": textbook_pass}

    # (b) actcli's loop, tensor slices: with plain autograd, and with the engine actcli picks
    x, y = prepared.train.x, prepared.train.y
    plain = build_parts(cfg, data, device, task.input_shape)
    autograd = AutogradEngine(plain.net, plain.objective,
                              optimizers.build(cfg.optimizer, plain.net.parameters()),
                              plain.correct)
    chosen = engine_for([prepared])
    for label, engine in (("actcli, autograd engine", autograd),
                          (f"actcli, {type(chosen).__name__} (K = 1)", chosen)):
        def engine_pass(engine: Engine = engine) -> None:
            alive = torch.ones(1, dtype=torch.bool)
            run_epoch(engine, x, y, args.batch_size,
                      Orders.one(torch.Generator().manual_seed(0)), alive)

        passes[label] = engine_pass

    # rounds of one pass each, plus (c) a matmul measurement: a load change on the machine
    # hits every row alike; the best of the rounds counts for each
    seconds: dict[str, list[float]] = {name: [] for name in passes}
    peaks = []
    for _ in range(args.repeats):
        for name, one_pass in passes.items():
            start = time.perf_counter()
            one_pass()
            seconds[name].append(time.perf_counter() - start)
        peaks.append(matmul_flops_per_second(seconds=1.0))
    peak = max(peaks)
    work = epoch_flops(plain.net, len(y))
    limit = work / peak
    timings = [(name, min(times)) for name, times in seconds.items()]
    timings.append(("matmul-bound limit", limit))
    textbook_seconds = timings[0][1]

    n = len(y)
    print(f"Fashion-MNIST, {cfg.name}: {n} training images per pass, batch {args.batch_size}, "
          f"{threads} threads, torch {torch.__version__}")
    print(f"sustained matmul: {peak / 1e9:.1f} GFLOP/s; epoch matmul work: "
          f"{work / 1e9:.2f} GFLOP")
    print()
    print(f"| {'loop':<32} | {'samples/s':>10} | {'seconds':>8} | {'vs textbook':>11} |"
          f" {'vs limit':>8} |")
    print(f"|{'-' * 34}|{'-' * 12}|{'-' * 10}|{'-' * 13}|{'-' * 10}|")
    for name, took in timings:
        print(f"| {name:<32} | {n / took:>10,.0f} | {took:>8.3f} | "
              f"{textbook_seconds / took:>10.1f}x | {took / limit:>7.2f}x |")


if __name__ == "__main__":
    from _publish import run

    run(main, "fmnist_epoch")
