"""A compare as one library call: plan it (or load the plan of one to resume), execute
it, report it; :func:`run` returns the folder, every cell's result and the report.

The rooms it passes through: :mod:`actcli.sweep.planning` (the grid, the cells, the
stacks, base.yaml and plan.json), :mod:`actcli.sweep.executing` (the cells trained, in
this process, worker processes or on Ray), :mod:`actcli.sweep.report` (what the results
say) and :mod:`actcli.sweep.report_files` (summary.csv, report.md and the figures).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actcli import config as config_mod
from actcli import folders
from actcli.errors import ActcliError
from actcli.sweep import executing, planning, report, report_files
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import Execution, Plan
from actcli.tasks.base import final_names


@dataclass(frozen=True)
class Comparison:
    """What a compare did: its plan (and folder), how its cells ran this time, every
    cell's result in plan order, the report and the report files it wrote there."""

    plan: Plan
    execution: Execution  # the plan's, unless the resume said otherwise
    results: list[CellResult]
    report: report.Report
    files: list[str]  # written into the folder: summary.csv, the PNGs, report.md
    notes: list[str]  # what the cells' overrides changed besides their own key

    @property
    def folder(self) -> Path:
        return self.plan.folder

    @property
    def interrupted(self) -> bool:
        """A Ctrl-C stopped it: ``resume`` runs the cells it left."""
        return executing.was_interrupted(self.results)


def run(config: Path | None = None, overrides: Sequence[str] = (), *,
        base: config_mod.Config | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        activations: Sequence[str] | None = None, seeds: int | None = None,
        workers: int | None = None, threads: int | None = None, backend: str | None = None,
        address: str | None = None, cell_figures: bool = False, fuse: bool = True,
        tune_lr: bool = False, out: Path = Path("runs"), resume: Path | None = None,
        target: tuple[str, float] | None = None, rank_by: str = "accuracy",
        fail_fast: bool = False,
        on_planned: Callable[[Plan, list[str]], None] | None = None,
        on_done: Callable[[CellResult], None] | None = None) -> Comparison:
    """Plan a compare under ``out``, train its cells, write its report; or, with
    ``resume`` (a compare folder), train the cells it has not completed and report again.

    A new compare: ``config`` (a YAML file; default the shipped compare_beans) with
    ``overrides`` (``KEY=VALUE`` items, as ``--set``) is what every cell starts from, and
    plan.json records both; ``base``: that config when the caller has loaded it already
    (it is not read again). ``grid`` (key -> values), ``activations``, ``seeds``,
    ``workers`` and ``threads`` as :func:`planning.settle` settles them (the config's
    ``compare:`` section where not given); ``backend`` processes | ray (``address``: the
    Ray cluster), ``cell_figures``, ``fuse``, ``tune_lr`` as ``actcli compare`` has them.
    A resume runs as planned (give none of config, overrides, base, grid, activations,
    seeds); ``workers``, ``threads``, ``backend``, ``address``, ``cell_figures`` and
    ``fuse=False`` given change only how it runs.
    ``target``: (accuracy | loss, value) to time the cells to (default: 99% of the best
    cell's final accuracy); ``rank_by`` as :data:`report.RANK_BY`; ``fail_fast``: stop at
    the first cell that does not complete.
    ``on_planned(plan, notes)`` is called once the plan is made (or loaded), before any
    cell trains; ``on_done(result)`` as each cell ends. Bad input raises before anything
    is written.
    """
    report.check_rank_by(rank_by)
    notes: list[str] = []
    if resume is not None:
        if (config is not None or overrides or base is not None or grid
                or activations is not None or seeds is not None):
            raise ActcliError("a resumed compare runs as it was planned: give no config, "
                              "overrides, base, grid, activations or seeds with resume")
        plan = planning.load(resume)
        planned = plan.execution
        execution = Execution(
            workers if workers is not None else planned.workers,
            threads if threads is not None else planned.threads,
            backend or planned.backend, address if address is not None else planned.address,
            cell_figures or planned.cell_figures, planned.fuse and fuse)
        base = config_mod.load(plan.folder / "base.yaml")
    else:
        if config is None:
            from actcli.config import shipped

            config = shipped.resolve(shipped.DEFAULT_COMPARE)
        if base is None:
            base = config_mod.load(config, list(overrides), notes)
        settings = planning.settle(base.compare, grid or {}, activations, seeds, workers,
                                   threads)
        execution = Execution(settings.workers, settings.threads, backend or "processes",
                              address, cell_figures, fuse)
        plan = planning.create(config, overrides, settings.grid, settings.seeds, out,
                               base=base, tune_lr=tune_lr, execution=execution, notes=notes)
    if on_planned is not None:
        on_planned(plan, notes)
    results = executing.execute(plan.folder, plan.cells, execution, fail_fast=fail_fast,
                                on_done=on_done)
    from actcli.tasks import TASKS

    names = final_names(TASKS.get(base.task.name).task, base.task)
    found = report.summarize(plan.folder, results, names,
                             plan.varied, tuned_lr=plan.tuned_lr, target=target,
                             rank_by=rank_by)
    try:
        files = report_files.write(plan.folder, results, found,
                                   plane=report_files.is_plane(base.task.name))
    except folders.WriteError as err:  # a full disk: the cells written so far are kept
        raise folders.WriteError(f"{err}; the report is not written: free some space, then "
                                 f"actcli compare --resume {plan.folder}") from None
    return Comparison(plan, execution, results, found, files, notes)
