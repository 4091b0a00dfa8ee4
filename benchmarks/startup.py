"""How long whole commands take from the keystroke, against their floors, in one run.

    python benchmarks/startup.py [--repeats 5]

Each command runs as a user runs it (a fresh process, the installed ``actcli``), its
rounds interleaved with its floor's, median of ``--repeats``. Floors:

- ``actcli train rice_cooker``: ``python -c "import torch"`` plus the run's own training
  seconds (summary.json ``seconds``); target at most 1.3x.
- ``actcli compare compare_beans --no-until-decided`` (its first 3 seeds): at most 5 s.
- ``actcli plot sigmoid --grad``: ``import torch`` plus the time to build and save that
  figure (measured here, in this process, warm); target at most 1.3x.
- ``actcli --help`` and a Tab completion: at most 0.2 s.

Two more rows time the rice cooker and the plot with Python's collector as Python leaves
it (the app called without the console entry, which holds it: ``actcli.collector``), the
baseline of what holding it gains, in the same run. The last column divides by the floor
with ``import torch`` timed under the same rule (the collector held, everything frozen at
exit): the stricter reading of the targets.

Python's bytecode cache is allowed (``PYTHONDONTWRITEBYTECODE`` is unset for the
commands, as for a pip-installed actcli, which compiles at install); one warm-up round of
each command is not counted. Prints a Markdown table with the date, torch, CPU and cores.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACTCLI = shutil.which("actcli") or "actcli"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    begin = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - begin


def figure_seconds() -> float:
    """Build and save `plot sigmoid --grad`'s figure, warm, best of 3."""
    from actcli import folders, plots
    from actcli.inspection import curves

    best = float("inf")
    for _ in range(4):
        begin = time.perf_counter()
        shown = [curves.evaluate("sigmoid", -6, 6)]
        folders.render_png(plots.activation_curves(shown, grad=True), io.BytesIO())
        best = min(best, time.perf_counter() - begin)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    completion = {**env, "_ACTCLI_COMPLETE": "complete_bash", "COMP_WORDS": "actcli train ri",
                  "COMP_CWORD": "2"}
    import torch

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        torch_argv = [sys.executable, "-c", "import torch"]
        torch_held = [sys.executable, "-c", "import gc; gc.disable(); import torch; gc.freeze()"]
        rice = [ACTCLI, "train", "rice_cooker", "-q", "--out", str(cwd / "runs")]
        # the 3 seeds it starts with (deciding adds rounds: a compare of its own, timed by
        # its budget, not a start-up)
        beans = [ACTCLI, "compare", "compare_beans", "--no-until-decided", "--out",
                 str(cwd / "compares")]
        plot = [ACTCLI, "plot", "sigmoid", "--grad", "--out", str(cwd / "sigmoid.png")]
        helped = [ACTCLI, "--help"]
        # the same commands through the app itself, without the console entry's collector
        unheld = [sys.executable, "-c", "import sys; from actcli.cli import app; "
                  "sys.argv[0] = 'actcli'; app()"]
        rice_unheld = unheld + rice[1:-1] + [str(cwd / "runs-unheld")]
        plot_unheld = unheld + plot[1:]
        commands = {"torch": (torch_argv, env), "torch_held": (torch_held, env),
                    "rice": (rice, env), "beans": (beans, env),
                    "plot": (plot, env), "help": (helped, env), "tab": ([ACTCLI], completion),
                    "rice_unheld": (rice_unheld, env), "plot_unheld": (plot_unheld, env)}
        measured: dict[str, list[float]] = {k: [] for k in commands}
        for argv, environment in commands.values():  # warm-up: bytecode, disk caches
            timed(argv, environment, cwd)
        for _ in range(args.repeats):
            for name, (argv, environment) in commands.items():
                measured[name].append(timed(argv, environment, cwd))
        trained = [json.loads(p.read_text())["seconds"]
                   for p in sorted((cwd / "runs").glob("*/summary.json"))[1:]]
        median = {k: statistics.median(v) for k, v in measured.items()}
        figure = figure_seconds()
        rice_floor = median["torch"] + statistics.median(trained)
        plot_floor = median["torch"] + figure
        held_gap = median["torch"] - median["torch_held"]  # the floor under actcli's rule
        rows = [
            ("actcli train rice_cooker", median["rice"],
             f"import torch + training {statistics.median(trained):.2f} s", rice_floor, 1.3),
            ("actcli compare compare_beans --no-until-decided", median["beans"], "5 s", 5.0,
             1.0),
            ("actcli plot sigmoid --grad", median["plot"],
             f"import torch + figure {figure:.2f} s", plot_floor, 1.3),
            ("actcli --help", median["help"], "0.2 s", 0.2, 1.0),
            ("Tab completion (actcli train ri<Tab>)", median["tab"], "0.2 s", 0.2, 1.0),
            ("baseline: train rice_cooker, collector left on", median["rice_unheld"],
             "import torch + training", rice_floor, None),
            ("baseline: plot sigmoid --grad, collector left on", median["plot_unheld"],
             "import torch + figure", plot_floor, None),
        ]
    print(f"measured {datetime.date.today()}, torch {torch.__version__}, "
          f"{platform_cpu()}, {os.cpu_count()} cores; median of {args.repeats}, "
          f"import torch alone {median['torch']:.2f} s ({median['torch_held']:.2f} s with "
          f"the garbage collector off, as actcli starts); import torch leaves "
          f"{torch_objects():,} objects that every full collection walks\n")
    print("| command | seconds | floor | floor seconds | ratio | target | met | ratio, floor "
          "collector off |")
    print("|---|---|---|---|---|---|---|---|")
    for command, seconds, floor, floor_seconds, target in rows:
        ratio = seconds / floor_seconds
        aim, met = (("-", "-") if target is None else
                    (f"<= {target:g}x", "yes" if ratio <= target else "no"))
        strict = (f"{seconds / (floor_seconds - held_gap):.2f}"
                  if target is not None and "torch" in floor else "-")
        print(f"| {command} | {seconds:.2f} | {floor} | {floor_seconds:.2f} | {ratio:.2f} | "
              f"{aim} | {met} | {strict} |")


def torch_objects() -> int:
    """How many objects the collector tracks after ``import torch`` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", "import gc; gc.disable(); import torch; "
                           "print(len(gc.get_objects()))"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.strip())


def platform_cpu() -> str:
    from actcli import provenance

    return provenance.cpu_model()


if __name__ == "__main__":
    from _publish import run

    run(main, "startup")
