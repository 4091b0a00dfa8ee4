"""The accuracy figures the README shows, measured on the code as it is.

    python benchmarks/readme_figures.py [--seeds 4] [--cnn] [--threads 2]

Trains the shipped configs through the library (the same path as `actcli train`), prints
one Markdown table per task with the torch build, CPU, threads and date it was measured
on: the rice cooker's threshold and accuracy, beans' test accuracy, the Fashion-MNIST MLP
over seeds 0..N-1 (test accuracy, best epoch, test loss, training seconds) and, with
--cnn, the CNN's seed 0 (about 5 minutes on 2 cores). Needs the Fashion-MNIST files
(task.data_dir or $ACTCLI_DATA_DIR). Figures depend on the torch build and the threads:
the same machine, build and threads give the same digits.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
from pathlib import Path

import torch

from actcli import config as config_mod
from actcli import provenance
from actcli.training import driver

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def train(name: str, seed: int, out: Path) -> driver.RunResult:
    config = config_mod.load(CONFIGS / f"{name}.yaml", [f"train.seed={seed}"])
    return driver.run(config, out, figures=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="Fashion-MNIST MLP seeds 0..N-1")
    parser.add_argument("--cnn", action="store_true", help="also the CNN, seed 0 (minutes)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"measured {datetime.date.today()}: torch {torch.__version__}, "
          f"{provenance.cpu_model()}, {args.threads} threads, on the CPU\n")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rice = train("rice_cooker", 0, out)
        beans = train("beans", 0, out)
        print("| config | threshold | accuracy | training time |")
        print("|---|---|---|---|")
        print(f"| `configs/rice_cooker.yaml` | {rice.metrics['threshold']:.2f} °C | "
              f"{rice.metrics['accuracy']:.4f} | {rice.seconds:.1f} s |")
        print(f"| `configs/beans.yaml` | {beans.metrics['threshold']:.3f} | "
              f"{beans.metrics['accuracy']:.4f} | {beans.seconds:.1f} s |\n")
        print("| config | seed | test accuracy | best epoch | test loss | training time |")
        print("|---|---|---|---|---|---|")
        names = ["fashion_mnist"] * args.seeds + (["fashion_mnist_cnn"] if args.cnn else [])
        seeds = list(range(args.seeds)) + ([0] if args.cnn else [])
        for name, seed in zip(names, seeds, strict=True):
            result = train(name, seed, out)
            m = result.metrics
            print(f"| `configs/{name}.yaml` | {seed} | {100 * m['test_accuracy']:.2f}% | "
                  f"{m['best_epoch']} of {result.epochs} | {m['test_loss']:.6f} | "
                  f"{result.seconds:.1f} s |", flush=True)


if __name__ == "__main__":
    from _publish import run

    run(main, "readme_figures")
