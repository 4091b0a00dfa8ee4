"""How fast `actcli runs` lists a thousand runs.

    python benchmarks/runs_listing.py [--runs 1000]

Trains one beans smoke run, copies its summary.json and config.yaml into N run folders
(each with its own learning rate), then times, in one process: reading every folder with
json + PyYAML's pure-Python SafeLoader (the baseline a plain script would write),
`listing.collect` (what `actcli runs` reads), and the whole `actcli runs` table rendered
to a string. Prints runs/s, seconds and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console

from actcli import config as config_mod
from actcli.inspection import listing
from actcli.training import driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        cfg = config_mod.smoke(config_mod.load("configs/beans.yaml"))
        first = driver.run(cfg, Path(tmp) / "seed").path
        summary = json.loads((first / "summary.json").read_text())
        text = (first / "config.yaml").read_text()
        for i in range(args.runs):
            folder = root / f"20261123-{i // 60:04d}{i % 60:02d}-beans"
            folder.mkdir(parents=True)
            (folder / "summary.json").write_text(json.dumps(summary))
            (folder / "config.yaml").write_text(text.replace("lr: 0.05", f"lr: {i / 1e4:g}"))
        shutil.rmtree(first)

        def baseline() -> None:
            for folder in sorted(root.iterdir()):
                json.loads((folder / "summary.json").read_text())
                yaml.load((folder / "config.yaml").read_text(), Loader=yaml.SafeLoader)

        def collect() -> None:
            listing.collect(root)

        def table() -> None:
            from actcli.cli.runs import _table

            every = listing.collect(root)
            found = listing.select(every, [("optimizer.lr", ">", "0.01")],
                                   ("accuracy", True))
            import actcli.cli.runs as cli_runs

            cli_runs.stdout = lambda: Console(file=io.StringIO(), width=120)
            _table(found, root, [], len(every))

        rows = []
        for name, job in (("json + pure-Python YAML (baseline)", baseline),
                          ("listing.collect", collect),
                          ("actcli runs --where --sort, table", table)):
            best = min(_timed(job) for _ in range(3))
            rows.append((name, best))
    base = rows[0][1]
    print(f"{args.runs} runs, best of 3")
    print()
    print("| step | runs/s | seconds | vs baseline |")
    print("|---|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {args.runs / seconds:,.0f} | {seconds:.3f} | {base / seconds:.2f}x |")


def _timed(job) -> float:
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


if __name__ == "__main__":
    from _publish import run

    run(main, "runs_listing")
