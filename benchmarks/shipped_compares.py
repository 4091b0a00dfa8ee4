"""What the shipped compares conclude, as a newcomer sees them: ``actcli compare
compare_beans`` (and, with ``--fashion-mnist``, compare_fashion_mnist: about 10 minutes),
each in a fresh process at 150 columns, its wall time measured.

    python benchmarks/shipped_compares.py [--fashion-mnist] [--docs]
    python benchmarks/shipped_compares.py --report RUNS/...-compare-compare_fashion_mnist

``--report FOLDER`` prints an earlier compare's table again (``actcli compare --resume``
of a compare that has stopped deciding trains nothing) with the seconds its plan.json
recorded, instead of running it. ``--docs`` writes the output to docs/bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ACTCLI = [sys.executable, "-m", "actcli"]


def show(command: list[str], cwd: Path) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "150"})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    shown = [line for line in done.stdout.splitlines()
             if not line.startswith("  completed ")]  # one line a run: hundreds
    return "\n".join(shown), seconds


def main() -> str | None:
    """The compares' tables; the name compares shown again from their folders are
    published under, apart from the ones run here."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fashion-mnist", action="store_true",
                        help="also compare_fashion_mnist (about 10 minutes)")
    parser.add_argument("--report", type=Path, action="append", default=[],
                        help="an earlier compare folder to show instead of running it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        jobs = [(Path(json.loads((folder / "plan.json").read_text())["config"]).stem,
                 [*ACTCLI, "compare", "--resume", str(folder.resolve())], folder)
                for folder in args.report]
        if not args.report:
            jobs.append(("compare_beans", [*ACTCLI, "compare", "compare_beans", "--out", out],
                         None))
            if args.fashion_mnist:
                jobs.append(("compare_fashion_mnist", [*ACTCLI, "compare",
                                                       "compare_fashion_mnist", "--out", out],
                             None))
        for name, command, folder in jobs:
            text, seconds = show(command, Path(out))
            if folder is not None:
                plan = json.loads((folder / "plan.json").read_text())
                decide = plan.get("decide") or {}
                how = (f"shown again from its folder; it trained for "
                       f"{decide.get('spent', float('nan')):.0f} s in "
                       f"{len(decide.get('looks', []))} looks")
                shown = f"actcli compare {Path(plan['config']).stem}"
            else:
                how = f"{seconds:.1f} s end to end"
                shown = " ".join(["actcli", *command[3:command.index("--out")]])
            print(f"**{name}** ({how}):\n\n```\n$ {shown}\n{text}\n```\n")
    return "shipped_compares_shown" if args.report else None


if __name__ == "__main__":
    from _publish import run

    run(main, "shipped_compares")
