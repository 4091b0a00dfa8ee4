"""Seconds of one Fashion-MNIST training epoch with your own activation: the built-in silu
against the formula x * sigmoid(x) and a Python function of the same, alone and in a stack.

    python benchmarks/custom_activation.py [--config configs/fashion_mnist.yaml]
        [--samples 55000] [--threads 2] [--repeats 3]

The MLP 784-256-128-10 of configs/fashion_mnist.yaml (device=cpu, batch 128, the first
--samples training images via task.limit_train), with each hidden activation one of:

* ``silu``: the built-in (torch's nn.SiLU), the baseline;
* ``x * sigmoid(x)``: the formula as a config writes it; the parser fuses it into silu's
  kernel (formula.parse, fuse on);
* ``x * sigmoid(x)``, unfused: the same formula parsed with ``fuse=False`` (a config cannot
  ask for that, so its modules replace the fused ones in the prepared networks): torch's
  sigmoid and a multiply, the backward through autograd's graph of the two;
* a formula no built-in matches but that computes the same, ``x / (1 + 1 / exp(x))``
  (checked to fuse nothing), as a config can write an unfused formula;
* ``file.py:swish``: a Python function, ``x * torch.sigmoid(x)``, in a file this benchmark
  writes into a temporary folder.

Each variant (a) alone: a stack of one in the dense engine, what ``actcli train`` builds;
(b) in a stack of eleven: the eleven activations of a compare (actcli.sweep.planning.ELEVEN)
with silu replaced by the variant, so ten built-ins and the measured one train as one
stack, as ``actcli compare`` trains them; its seconds per model are the stack's / 11.

Measured: the training pass only, ``run_epoch`` of the engine ``engine_for`` builds for the
prepared configs (no validation pass, no diagnostics, no folder). Every engine first trains
a few untimed batches; then --repeats rounds, each one pass of every engine in turn, in
one process, each round starting one engine later than the last: the best of each engine's
rounds counts, so a change in the machine's load hits every row alike (the slowest round
over the best, printed per row, says how much the load varied).
``vs silu`` is seconds over silu's seconds in the same column (the issue's target: a
formula at most 1.5x its built-in twin).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from actcli import config as config_mod
from actcli.components import formula
from actcli.components.formula import FormulaActivation
from actcli.engine.loop import Engine, EpochResult, Orders, run_epoch
from actcli.sweep import planning
from actcli.training.parts import Prepared, engine_for, orders, prepare

TWIN = "x * sigmoid(x)"
UNMATCHED = "x / (1 + 1 / exp(x))"  # silu written so that no built-in's formula matches it
SWISH = '''"""Written by benchmarks/custom_activation.py: silu as a Python function."""

import torch


def swish(x):
    return x * torch.sigmoid(x)
'''
TARGET = 1.5  # the issue's: a formula at most 1.5x its built-in twin
WARM_BATCHES = 8


def cpu_name() -> str:
    """The CPU's model name (as lscpu's "Model name"), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return f"{platform.system()} {platform.processor() or platform.machine()}"


@dataclass
class Variant:
    name: str  # as the table shows it
    activation: str  # model.activation
    unfuse: bool = False  # replace its formula modules by the same formula, fuse=False


def unfused(prepared: Prepared) -> None:
    """Every formula activation of the network, parsed again with fuse=False."""
    layers = prepared.parts.net.layers
    for i, module in enumerate(layers):
        if isinstance(module, FormulaActivation):
            text, params = module.formula.text, dict(module.formula.params)
            layers[i] = FormulaActivation(formula.parse(text, params, fuse=False))


@dataclass
class Job:
    """One engine and the data it trains on for one pass."""

    engine: Engine
    prepared: list[Prepared]

    def orders(self) -> Orders:
        return orders(self.prepared)

    def run(self, limit: int | None = None) -> EpochResult:
        split = self.prepared[0].train
        x, y = (split.x, split.y) if limit is None else (split.x[:limit], split.y[:limit])
        alive = torch.ones(self.engine.k, dtype=torch.bool, device=x.device)
        result = run_epoch(self.engine, x, y, self.prepared[0].config.train.batch_size,
                           self.orders(), alive)
        assert isinstance(result, EpochResult)  # no stop request
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/fashion_mnist.yaml")
    parser.add_argument("--samples", type=int, default=55_000,
                        help="training images per pass (task.limit_train); the full "
                             "training split (60,000 less val_size 5,000) by default")
    parser.add_argument("--threads", type=int, choices=(1, 2), default=2,
                        help="torch threads (torch.set_num_threads)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds (one pass of every engine each); the best counts")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    checked = formula.parse(UNMATCHED)
    if checked.fused:
        raise SystemExit(f"{UNMATCHED!r} fuses into {', '.join(checked.fused)}: pick another "
                         "formula no built-in matches")
    if formula.parse(TWIN).fused != ("silu",):
        raise SystemExit(f"{TWIN!r} no longer fuses into silu")

    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "file.py"
        file.write_text(SWISH)
        variants = [Variant("silu (built-in)", "silu"),
                    Variant(f"formula {TWIN} (fused)", TWIN),
                    Variant(f"formula {TWIN}, fuse=False", TWIN, unfuse=True),
                    Variant(f"formula {UNMATCHED}", UNMATCHED),
                    Variant("python file.py:swish", f"{file}:swish")]
        base = ["device=cpu", f"task.limit_train={args.samples}"]
        eleven = list(planning.ELEVEN)
        jobs: dict[tuple[str, str], Job] = {}
        data = None
        for variant in variants:
            cfg = config_mod.load(Path(args.config), [*base,
                                                      f"model.activation={variant.activation}"])
            alone = prepare(cfg, data=data)  # what `actcli train` builds
            data = alone.data
            names = [variant.activation if a == "silu" else a for a in eleven]
            stack = [prepare(config_mod.load(Path(args.config),
                                             [*base, f"model.activation={name}"]),
                             data=data, alone=False) for name in names]
            if variant.unfuse:
                for p in (alone, *stack):
                    unfused(p)
            jobs[variant.name, "alone"] = Job(engine_for([alone]), [alone])
            jobs[variant.name, "stack"] = Job(engine_for(stack), stack)
            assert jobs[variant.name, "stack"].engine.k == len(eleven)

        assert cfg.train.batch_size is not None, "a minibatch config"
        for job in jobs.values():  # imports, first calls, allocator: paid before timing
            job.run(WARM_BATCHES * cfg.train.batch_size)
        seconds: dict[tuple[str, str], list[float]] = {key: [] for key in jobs}
        diverged: dict[tuple[str, str], int] = dict.fromkeys(jobs, 0)
        keys = list(jobs)
        for r in range(args.repeats):
            # each round starts one engine later: a drift in the load spreads over all rows
            turn = r % len(keys)
            for key in keys[turn:] + keys[:turn]:
                job = jobs[key]
                start = time.perf_counter()
                result = job.run()
                seconds[key].append(time.perf_counter() - start)
                diverged[key] = max(diverged[key], len(result.diverged))
    best = {key: min(times) for key, times in seconds.items()}

    n = len(jobs[variants[0].name, "alone"].prepared[0].train)
    k = len(eleven)
    threads = torch.get_num_threads()
    print(f"Fashion-MNIST, {cfg.name}: MLP 784-256-128-10, {n:,} training images per pass, "
          f"batch {cfg.train.batch_size}, device cpu")
    print(f"torch {torch.__version__}, {threads} thread{'s' if threads != 1 else ''} "
          f"({os.cpu_count()} cores), {cpu_name()}; best of {args.repeats} rounds, training "
          "pass only (run_epoch)")
    print()
    print("| variant | alone samples/s | alone s | vs silu | in stack of 11, s per model "
          "| vs silu |")
    print("|---|---|---|---|---|---|")
    silu_alone, silu_stack = best[variants[0].name, "alone"], best[variants[0].name, "stack"]
    ratios: dict[str, tuple[float, float]] = {}
    for variant in variants:
        alone_s, stack_s = best[variant.name, "alone"], best[variant.name, "stack"]
        ratios[variant.name] = (alone_s / silu_alone, stack_s / silu_stack)
        print(f"| {variant.name} | {n / alone_s:,.0f} | {alone_s:.3f} | "
              f"{alone_s / silu_alone:.2f}x | {stack_s / k:.3f} | {stack_s / silu_stack:.2f}x |")
    print()
    print(f"vs silu: seconds / silu's seconds in the same column (alone, or in its stack); "
          f"target for a formula: at most {TARGET:.1f}x")
    for variant in variants[1:]:
        worst = max(ratios[variant.name])
        verdict = ("met" if worst <= TARGET else "missed") \
            if formula.is_formula(variant.activation) else "no target (not a formula)"
        print(f"- {variant.name}: {ratios[variant.name][0]:.2f}x alone, "
              f"{ratios[variant.name][1]:.2f}x in the stack: {verdict}")
    spread = ", ".join(f"{v.name} {max(seconds[v.name, 'alone']) / best[v.name, 'alone']:.2f}x"
                       f" / {max(seconds[v.name, 'stack']) / best[v.name, 'stack']:.2f}x"
                       for v in variants)
    print(f"slowest round / best round (alone / stack), how much the load varied: {spread}")
    stopped = {key: count for key, count in diverged.items() if count}
    if stopped:
        print("models that diverged (their later steps were skipped, the times are not "
              "comparable): " + ", ".join(f"{name} ({where}): {count}"
                                          for (name, where), count in stopped.items()))


if __name__ == "__main__":
    from _publish import run

    run(main, "custom_activation")
