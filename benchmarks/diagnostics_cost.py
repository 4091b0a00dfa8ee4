"""What the diagnostics probe (dead and saturated units, gradient norms) costs a beans
stack's training: diagnosed on no epoch, on the epochs actcli diagnoses (at most 20 of the
logged ones, ``engine.loop.diagnosed``), and on every logged epoch (what it did before).

    python benchmarks/diagnostics_cost.py [--repeats 5] [--docs]

The stack is compare_beans' first seed: the eleven activations as one stacked model, 200
full-batch epochs, each logged, trained by ``driver.run_stack`` without figures, into a
fresh temporary folder per round. The three variants run in interleaved rounds in this
process; each row is the median of ``--repeats`` of the stack's training seconds (as its
summary.json records them: the loop, its evaluations and probes), and the extra is over
the row without diagnostics, as a fraction of that row's; the whole call (preparing the
data and networks, writing the folders) is beside it. A second table times one probe and
one training epoch of the same stack call by call (their medians), which a shared
machine's noise moves far less than whole runs, and the share of training the shipped
probes take from them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from actcli import collector
from actcli import config as config_mod
from actcli.config import shipped
from actcli.engine import loop
from actcli.engine.loop import run_epoch
from actcli.sweep import planning
from actcli.training import driver
from actcli.training.parts import engine_for, orders, prepare

Pick = Callable[[int, int | None], set[int]]


def variants() -> dict[str, Pick]:
    return {
        "no diagnostics": lambda epochs, log_every: set(),
        f"as shipped (at most {loop.DIAGNOSED} logged epochs)": loop.diagnosed,
        "every logged epoch": lambda epochs, log_every: set(loop.logged(epochs, log_every)),
    }


def train_once(configs: list[config_mod.Config], pick: Pick) -> tuple[float, float]:
    """Seconds of the whole call and of its training (the stack's own, as summary.json
    records it) of the stack of ``configs`` with diagnostics on the epochs ``pick`` names."""
    real = loop.diagnosed
    loop.diagnosed = pick  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folders = [Path(tmp) / a for a in planning.ELEVEN]
            begin = time.perf_counter()
            done = driver.run_stack(configs, folders)
            seconds = time.perf_counter() - begin
            assert all(r is not None and r.status == "completed" for r in done)
            trained = sum(r.seconds for r in done if r is not None)  # each its share
    finally:
        loop.diagnosed = real
    return seconds, trained


CALLS = 200  # calls of each in per_call


def per_call(configs: list[config_mod.Config]) -> tuple[float, float]:
    """Seconds of one diagnostics probe and of one training epoch of the stack of
    ``configs``, each the median of CALLS calls, interleaved, after as many to warm up."""
    prepared = [prepare(c) for c in configs]
    engine = engine_for(prepared)
    probe_x, probe_y = prepared[0].probe
    split = prepared[0].train
    order = orders(prepared)
    alive = torch.ones(engine.k, dtype=torch.bool)

    def probe() -> None:
        engine.diagnose(probe_x, probe_y)

    def epoch() -> None:
        run_epoch(engine, split.x, split.y, None, order, alive)

    times: dict[Callable[[], None], list[float]] = {probe: [], epoch: []}
    for counted in (False, True):
        for _ in range(CALLS):
            for call in times:
                begin = time.perf_counter()
                call()
                if counted:
                    times[call].append(time.perf_counter() - begin)
    return statistics.median(times[probe]), statistics.median(times[epoch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as a compare's cell trains (compare.threads: 1)
    # and with the collector as `actcli compare` has it: start-up frozen where training
    # begins, so no full collection walks torch's objects in one variant's rounds and not
    # in another's (actcli.collector)
    collector.hold()
    base = shipped.resolve("compare_beans")
    configs = [config_mod.load(base, [f"model.activation={a}"]) for a in planning.ELEVEN]
    train = configs[0].train
    picks = variants()
    counted = {name: len(pick(train.epochs, train.log_every)) for name, pick in picks.items()}
    train_once(configs, loop.diagnosed)  # warm-up
    whole: dict[str, list[float]] = {name: [] for name in picks}
    training: dict[str, list[float]] = {name: [] for name in picks}
    for _ in range(args.repeats):
        for name, pick in picks.items():
            took, trained = train_once(configs, pick)
            whole[name].append(took)
            training[name].append(trained)
    median = {name: statistics.median(v) for name, v in training.items()}
    call = {name: statistics.median(v) for name, v in whole.items()}
    bare = median["no diagnostics"]
    batch = "full-batch" if train.batch_size is None else f"batch {train.batch_size}"
    print(f"compare_beans' stack of {len(planning.ELEVEN)} activations, {train.epochs} "
          f"{batch} epochs, 1 torch thread; median of {args.repeats}\n")
    print("| diagnosed on | epochs diagnosed | training seconds | extra over none | ratio | "
          "whole call, seconds |")
    print("|---|---|---|---|---|---|")
    for name, took in median.items():
        print(f"| {name} | {counted[name]} | {took:.3f} | {(took - bare) / bare:.0%} | "
              f"{took / bare:.2f}x | {call[name]:.2f} |")
    probe, epoch = per_call(configs)
    shipped_count = counted[f"as shipped (at most {loop.DIAGNOSED} logged epochs)"]
    print(f"\nOne call of each, in this process (median of {CALLS} interleaved calls): a run's "
          "time differs from run to run on a shared machine more than the probe costs\n")
    print("| call | milliseconds | share of training, as shipped |")
    print("|---|---|---|")
    print(f"| one training epoch (full batch, {len(planning.ELEVEN)} models) | "
          f"{epoch * 1e3:.2f} | - |")
    print(f"| one probe (diagnostics) | {probe * 1e3:.2f} | "
          f"{shipped_count * probe / (train.epochs * epoch):.0%} |")


if __name__ == "__main__":
    from _publish import run

    run(main, "diagnostics_cost")
