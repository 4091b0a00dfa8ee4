"""A compare across tasks: ``actcli compare A.yaml B.yaml ...`` runs the same sweep on each
config (each a compare folder of its own, inside one parent folder), then aggregates, as
the activation papers compare: each cell's rank on every task, its mean rank, and the
interquartile mean of its scores normalised per task (the worst cell's mean 0, the best's
1), with stratified-bootstrap 95% intervals (:mod:`actcli.sweep.robust`).

The parent folder holds ``tasks.json`` (the configs and their compare folders, so that
``--resume PARENT`` resumes every one), ``aggregate.csv`` and ``report.md`` (a section for
the aggregate, then one a task). Every config is planned before any cell trains: a bad one
leaves no folder behind.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actcli import folders, provenance
from actcli.errors import ActcliError, ConfigError
from actcli.sweep import compare, report, report_files, robust
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import Plan

TASKS = "tasks.json"


@dataclass(frozen=True)
class Aggregate:
    """One cell across the tasks."""

    label: str
    shown: str
    ranks: dict[str, float]  # task -> its rank there (1 = best; ties share the average)
    mean_rank: tuple[float, float, float]  # mean, 95% interval
    iqm: tuple[float, float, float]  # of the normalised scores, 95% interval


@dataclass(frozen=True)
class Across:
    folder: Path
    names: list[str]  # the tasks' section names, in the order given
    comparisons: list[compare.Comparison]
    rows: list[Aggregate]  # best mean rank first
    left_out: list[str]  # cells not complete on every task (not aggregated)
    rank_by: str
    files: list[str]

    @property
    def interrupted(self) -> bool:
        return any(c.interrupted for c in self.comparisons)

    @property
    def failures(self) -> int:
        return sum(len(c.report.failures) for c in self.comparisons)


def is_across(folder: Path) -> bool:
    """Whether ``folder`` is the parent folder of a compare across tasks."""
    return (folder / TASKS).is_file()


def run(configs: Sequence[Path], overrides: Sequence[str] = (), *,
        resume: Path | None = None, out: Path = Path("runs"),
        target: tuple[str, float] | None = None, fail_fast: bool = False,
        say: Callable[[str], None] | None = None,
        on_planned: Callable[[Plan, list[str]], None] | None = None,
        on_done: Callable[[CellResult], None] | None = None, **planned: Any) -> Across:
    """The same sweep on every config of ``configs`` (or, with ``resume``, the rest of
    an earlier one), then the aggregate. ``planned``: :func:`compare.prepare`'s other
    arguments (grid, activations, seeds, rank_by, until_decided...), the same for every
    task; a ``--budget`` is each task's."""
    if resume is not None:
        folder = resume
        try:
            recorded = json.loads((folder / TASKS).read_text(encoding="utf-8"))
            children = [(str(n), folder / str(f)) for n, f in
                        zip(recorded["names"], recorded["folders"], strict=True)]
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise ActcliError(f"{folder / TASKS}: damaged ({err}); start the compare "
                              "again") from None
        readies = [compare.prepare(resume=child, **planned) for _, child in children]
        names = [name for name, _ in children]
    else:
        if len(configs) < 2:
            raise ConfigError("a compare across tasks needs two or more configs")
        folder = folders.create(out, "compare-tasks")
        readies, names = [], []
        try:
            for config in configs:
                ready = compare.prepare(config, overrides, out=folder, **planned)
                readies.append(ready)
                names.append(_unique(ready.base.name or ready.base.task.name, names))
            ranked = sorted({r.rank_by for r in readies})
            if len(ranked) > 1:
                raise ConfigError(f"the configs rank by different metrics ({', '.join(ranked)}"
                                  "): an aggregate across tasks ranks every task alike; give "
                                  "--rank-by")
            labels = [sorted({c.label for c in r.plan.cells}) for r in readies]
            if any(found != labels[0] for found in labels):
                raise ConfigError("the configs' sweeps differ (the cells of one are not the "
                                  "cells of another): a compare across tasks runs the same "
                                  "sweep on each; give the same --activations/--over")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing trained: leave no folder
            raise
        folders.write_json(folder / TASKS, {
            "configs": [str(c) for c in configs], "overrides": list(overrides),
            "names": names, "folders": [r.plan.folder.name for r in readies],
            "command": provenance.command_line()})
    comparisons = []
    for name, ready in zip(names, readies, strict=True):
        if say is not None:
            say(f"task {name}: {ready.plan.folder}")
        if on_planned is not None:
            on_planned(ready.plan, ready.notes)
        comparisons.append(compare.finish(ready, target=target, fail_fast=fail_fast,
                                          say=say, on_done=on_done))
        if comparisons[-1].interrupted:
            break
    rank_by = readies[0].rank_by
    rows, left_out = aggregate(dict(zip(names, (c.report for c in comparisons),
                                        strict=False)), rank_by)
    found = Across(folder, names, comparisons, rows, left_out, rank_by, [])
    return dataclasses.replace(found, files=write(found))


def _unique(name: str, taken: list[str]) -> str:
    found, n = name, 2
    while found in taken:
        found, n = f"{name}-{n}", n + 1
    return found


def aggregate(reports: dict[str, report.Report], rank_by: str
              ) -> tuple[list[Aggregate], list[str]]:
    """Each cell's ranks, mean rank and normalised IQM over the tasks of ``reports``; the
    cells not complete on every task are left out (and named)."""
    sign = report.RANK_BY[rank_by]
    by_task = {name: {row.label: row for row in found.complete}
               for name, found in reports.items()}
    every = {row.label: row.shown for found in reports.values() for row in found.rows}
    kept = [label for label in every if all(label in rows for rows in by_task.values())]
    left_out = [every[label] for label in every if label not in kept]
    if not kept or not by_task:
        return [], left_out
    scores = {task: {label: [sign * v for v in rows[label].values(rank_by).values()]
                     for label in kept} for task, rows in by_task.items()}
    ranks = robust.mean_rank_intervals(scores)
    means = {task: {label: sum(v) / len(v) for label, v in cells.items()}
             for task, cells in scores.items()}  # each cell's mean on each task
    per_task_rank = {task: dict(zip(kept, robust.average_ranks(list(means[task].values())),
                                    strict=True)) for task in scores}
    rows = []
    for label in kept:
        groups = [robust.normalised(means[task], cells[label])
                  for task, cells in scores.items()]
        flat = [v for group in groups for v in group]
        low, high = robust.stratified_bootstrap_interval(groups)
        rows.append(Aggregate(label, every[label],
                              {task: per_task_rank[task][label] for task in scores},
                              ranks[label], (robust.iqm(flat), low, high)))
    rows.sort(key=lambda row: (row.mean_rank[0], -row.iqm[0], row.label))
    return rows, left_out


def write(found: Across) -> list[str]:
    """aggregate.csv and report.md in the parent folder."""
    table = [{"cell": row.label, **{f"rank:{task}": rank for task, rank in row.ranks.items()},
              "mean_rank": row.mean_rank[0], "mean_rank_low": row.mean_rank[1],
              "mean_rank_high": row.mean_rank[2], "normalised_iqm": row.iqm[0],
              "normalised_iqm_low": row.iqm[1], "normalised_iqm_high": row.iqm[2]}
             for row in found.rows]
    folders.write_csv(found.folder / "aggregate.csv", table)
    folders.write_text(found.folder / "report.md", markdown(found))
    return ["aggregate.csv", "report.md"]


def markdown(found: Across) -> str:
    out = io.StringIO()
    out.write("# actcli compare across tasks\n\n")
    out.write(f"Tasks: {', '.join(found.names)}. Each ran the same sweep in its own compare "
              f"folder; ranked by `{found.rank_by}` on each.\n\n## Aggregate\n\n")
    ran = len(found.comparisons)
    if found.interrupted or ran < len(found.names):
        out.write(f"**Not final: interrupted, {ran} of {len(found.names)} tasks ran (the "
                  f"last of them not to its end); `actcli compare --resume "
                  f"{found.folder}` continues.** The table below is over what ran.\n\n")
    tasks = list(found.names[:len(found.comparisons)])
    heads = ["rank", "cell", *(f"rank on {t}" for t in tasks), "mean rank [95% CI]",
             "normalised IQM [95% CI]"]
    out.write("| " + " | ".join(heads) + " |\n|" + "---|" * len(heads) + "\n")
    for i, row in enumerate(found.rows, 1):
        out.write("| " + " | ".join([
            str(i), row.shown, *(f"{row.ranks[t]:g}" for t in tasks),
            _interval(row.mean_rank, 2), _interval(row.iqm, 3)]) + " |\n")
    out.write(
        "\nPer task, each cell is ranked by its mean (1 = best; exact ties share the "
        "average rank); the mean rank is over the tasks. Normalised scores: on each task "
        "the worst cell's mean maps to 0 and the best's to 1 (signed so that higher is "
        "better), and a cell's normalised IQM is the interquartile mean of all its seeds on "
        "all tasks. Both intervals are 95% stratified bootstraps (each task's seeds "
        "resampled within that task), as Agarwal et al., NeurIPS 2021 (rliable).\n\n")
    if found.left_out:
        out.write(f"Not aggregated (not complete on every task): "
                  f"{', '.join(found.left_out)}.\n\n")
    for name, comparison in zip(found.names, found.comparisons, strict=False):
        child = comparison.folder.name
        pictures = [f"{child}/{p}" for p in comparison.files if p.endswith(".png")]
        section = report_files.markdown(comparison.report, pictures, title=f"## {name}",
                                        robust=comparison.robust)
        out.write(section.replace(f"## {name}\n\n",
                                  f"## {name}\n\nIts compare folder: `{child}` "
                                  f"([report]({child}/report.md)).\n\n", 1))
    return out.getvalue()


def _interval(value: tuple[float, float, float], digits: int) -> str:
    middle, low, high = value
    if math.isnan(middle):
        return "-"
    return f"{middle:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
