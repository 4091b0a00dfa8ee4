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
from actcli import folders, locks
from actcli.errors import ActcliError, ConfigError
from actcli.sweep import deciding, executing, planning, report, report_files, sequential
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import Cell, Execution, Plan
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
    # report_files.robust_summaries of the report (a compare across tasks shows them too)
    robust: dict[str, tuple[float, float, float, float]] | None = None

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
        target: tuple[str, float] | None = None, rank_by: str | None = None,
        margins: Mapping[str, float] | None = None, until_decided: bool | None = None,
        max_seeds: int | None = None, budget: str | None = None, fail_fast: bool = False,
        say: Callable[[str], None] | None = None,
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
    cell's final accuracy); ``rank_by`` as :data:`report.RANK_BY` and ``margins`` (metric
    -> equivalence margin), default the config's ``compare:``; ``until_decided`` (default
    the config's) adds seeds in rounds (:mod:`deciding`) up to ``max_seeds`` within
    ``budget`` (``10m``...); a resumed deciding compare keeps its own settings and goes on
    deciding. ``fail_fast``: stop at the first cell that does not complete; ``say(line)``
    as a deciding compare starts a round.
    ``on_planned(plan, notes)`` is called once the plan is made (or loaded), before any
    cell trains; ``on_done(result)`` as each cell ends. Bad input raises before anything
    is written.
    """
    ready = prepare(config, overrides, base=base, grid=grid, activations=activations,
                    seeds=seeds, workers=workers, threads=threads, backend=backend,
                    address=address, cell_figures=cell_figures, fuse=fuse, tune_lr=tune_lr,
                    out=out, resume=resume, rank_by=rank_by, margins=margins,
                    until_decided=until_decided, max_seeds=max_seeds, budget=budget)
    if on_planned is not None:
        on_planned(ready.plan, ready.notes)
    return finish(ready, target=target, fail_fast=fail_fast, say=say, on_done=on_done)


def prepare(config: Path | None = None, overrides: Sequence[str] = (), *,
            base: config_mod.Config | None = None,
            grid: Mapping[str, Sequence[Any]] | None = None,
            activations: Sequence[str] | None = None, seeds: int | None = None,
            workers: int | None = None, threads: int | None = None,
            backend: str | None = None, address: str | None = None,
            cell_figures: bool = False, fuse: bool = True, tune_lr: bool = False,
            out: Path = Path("runs"), resume: Path | None = None, rank_by: str | None = None,
            margins: Mapping[str, float] | None = None, until_decided: bool | None = None,
            max_seeds: int | None = None, budget: str | None = None) -> Prepared:
    """Plan a compare (its folder made, nothing trained), or load one to resume: the
    arguments as :func:`run` has them. Bad input raises before anything is written."""
    if rank_by is not None:
        report.check_rank_by(rank_by)
    notes: list[str] = []
    decide: deciding.Decide | None = None
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
        decide = deciding.load(plan.folder)
        if decide is not None:
            if (rank_by not in (None, decide.rank_by) or margins is not None
                    or max_seeds is not None or budget is not None):
                raise ActcliError("a deciding compare resumes with the rank-by, margins, "
                                  "max seeds and budget it was planned with: give none of "
                                  "them with --resume")
            rank_by, margins = decide.rank_by, decide.margins
        elif until_decided:
            raise ActcliError(f"{resume} was not planned --until-decided; start a new compare "
                              "with --until-decided to add seeds until it is decided")
        else:  # the ranking it was planned with (plan.json; an earlier plan: the config's)
            recorded = planning.read(plan.folder).get("ranking")
            wanted = base.compare or config_mod.CompareConfig()
            if recorded is not None:
                if rank_by not in (None, recorded.get("rank_by")) or margins is not None:
                    raise ActcliError("a compare resumes with the rank-by and margins it was "
                                      "planned with: give neither with --resume")
                rank_by = str(recorded.get("rank_by", "accuracy"))
                margins = {str(k): float(v) for k, v in recorded.get("margins", {}).items()}
            else:
                rank_by = rank_by or wanted.rank_by
                if margins is None:
                    margins = {str(k): v for k, v in wanted.margins.items()}
        rank_by = rank_by or "accuracy"
        margins = _resolved(margins, rank_by)
    else:
        if config is None:
            from actcli.config import shipped

            config = shipped.resolve(shipped.DEFAULT_COMPARE)
        if base is None:
            base = config_mod.load(config, list(overrides), notes)
        settings = planning.settle(base.compare, grid or {}, activations, seeds, workers,
                                   threads)
        wanted = base.compare or config_mod.CompareConfig()
        rank_by = rank_by or wanted.rank_by
        # the config's margins, with those given on top (metric by metric)
        margins = {**_resolved({str(k): v for k, v in wanted.margins.items()}, rank_by),
                   **_resolved(margins, rank_by)}
        _refuse_loss_across_kinds(settings.grid, rank_by, margins)
        if until_decided if until_decided is not None else wanted.until_decided:
            decide = deciding.Decide(
                rank_by, dict(margins), settings.seeds,
                max_seeds if max_seeds is not None else wanted.max_seeds, wanted.step,
                sequential.parse_budget(budget if budget is not None else wanted.budget))
            deciding.check(decide.start, decide.max_seeds, decide.step)
        elif max_seeds is not None or budget is not None:
            raise ConfigError("--max-seeds and --budget bound a deciding compare: give "
                              "--until-decided with them")
        execution = Execution(settings.workers, settings.threads, backend or "processes",
                              address, cell_figures, fuse)
        # what the verdicts rest on, so that a resume judges alike: a deciding compare's
        # decide section, else its ranking; written with the plan, in one file write
        sections = {"decide": decide.record()} if decide is not None else \
            deciding.ranking(rank_by, margins)
        plan = planning.create(config, overrides, settings.grid, settings.seeds, out,
                               base=base, tune_lr=tune_lr, execution=execution, notes=notes,
                               sections=sections)
    return Prepared(plan, execution, base, decide, rank_by, dict(margins or {}), notes)


@dataclass(frozen=True)
class Prepared:
    """A compare planned (or loaded to resume), before any cell trains."""

    plan: Plan
    execution: Execution
    base: config_mod.Config
    decide: deciding.Decide | None
    rank_by: str
    margins: dict[str, float]
    notes: list[str]


def finish(ready: Prepared, *, target: tuple[str, float] | None = None,
           fail_fast: bool = False, say: Callable[[str], None] | None = None,
           on_done: Callable[[CellResult], None] | None = None) -> Comparison:
    """Train a prepared compare's cells (adding seeds while it decides), write its report."""
    plan, execution, base, decide = ready.plan, ready.execution, ready.base, ready.decide
    notes = ready.notes
    from actcli.tasks import TASKS
    names = final_names(TASKS.get(base.task.name).task, base.task)
    ranked, judged = ready.rank_by, ready.margins

    def train(plan: Plan, cells: Sequence[Cell] | None = None) -> list[CellResult]:
        return executing.execute(plan.folder, plan.cells if cells is None else cells,
                                 execution, fail_fast=fail_fast, on_done=on_done, held=True)

    histories: dict[str, list[dict[str, float]]] = {}  # each cell's, read at its first look

    def summarize(results: list[CellResult], **kwargs: Any) -> report.Report:
        return report.summarize(plan.folder, results, names, plan.varied,
                                tuned_lr=plan.tuned_lr, target=target, rank_by=ranked,
                                margins=judged, histories=histories, **kwargs)

    # one process at a time from the first cell to the report: a deciding compare rewrites
    # plan.json between its rounds, and a second process must never come in between
    with locks.FolderLock(plan.folder, "actcli compare"):
        if decide is not None:
            plan, results, found = deciding.run(plan, decide, train, summarize,
                                                say or (lambda _: None))
            found.stopped = decide.stopped or "interrupted"  # it added what seeds it could
        else:
            results = train(plan)
            found = summarize(results)
        try:
            robust = report_files.robust_summaries(found)
            files = report_files.write(plan.folder, results, found,
                                       plane=report_files.is_plane(base.task.name),
                                       decide=deciding.describe(decide) if decide else "",
                                       robust=robust)
        except folders.WriteError as err:  # a full disk: the cells written so far are kept
            raise folders.WriteError(f"{err}; the report is not written: free some space, "
                                     f"then actcli compare --resume {plan.folder}") from None
    return Comparison(plan, execution, results, found, files, notes, robust)


def _refuse_loss_across_kinds(grid: Mapping[str, Sequence[Any]], rank_by: str,
                              margins: Mapping[str, float]) -> None:
    """Losses of different kinds (bce, mse, ...) are not on one scale: a compare that
    varies the loss may not rank or judge cells by it."""
    varied = [key for key in grid if key == "loss" or key.startswith("loss.")]
    if varied and (rank_by == "loss" or "loss" in margins):
        raise ConfigError(f"--rank-by loss: the cells differ in {varied[0]}, and losses of "
                          "different kinds are not comparable (mse is smaller than bce on the "
                          "same predictions); rank by accuracy or epochs_to_target instead")


def _resolved(margins: Mapping[str, float] | None, rank_by: str) -> dict[str, float]:
    """Margins by metric name (:data:`report.RANKED` read as ``rank_by``), checked."""
    return report.check_margins({rank_by if key == report.RANKED else key: value
                                 for key, value in (margins or {}).items()})
