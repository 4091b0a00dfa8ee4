"""Executing a planned compare: its unfinished cells trained as units of work (a stack, or
a cell alone), in this process, in spawned worker processes or on Ray; what finished kept.

Each cell is an ordinary run folder under ``cells/<id>``; a cell whose summary says
``completed`` is done, so that ``--resume`` runs the rest. A stack not finished yet keeps
its checkpoint in ``stacks/<its first cell id>.pt``, and a cell alone its own in its
folder, so that ``--resume`` continues them where they stopped. Every unit trains with the
plan's ``threads`` torch threads (1 by default) wherever it runs, so its numbers do not
depend on the worker count.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actcli import collector, folders, locks
from actcli import config as config_mod
from actcli.errors import ActcliError, ConfigError, quote
from actcli.sweep import planning
from actcli.sweep import workers as workers_mod
from actcli.sweep.planning import STACKS, Cell, Execution
from actcli.training import driver
from actcli.training.tracker import CHECKPOINT, RunResult


@dataclass
class CellResult:
    cell: Cell
    status: str  # completed | diverged | failed | interrupted | skipped
    metrics: dict[str, Any]
    seconds: float
    error: str = ""
    stopped: bool = False  # a Ctrl-C came while the cell's folder was written: stop after it
    # how many models it trained with (its summary.json `stack`); None: it did not run
    stack: int | None = None


@dataclass(frozen=True)
class Unit:
    """What one worker trains at once: one cell alone, or cells as one stack."""

    cells: tuple[Cell, ...]
    stacked: bool


def units(folder: Path, todo: Sequence[Cell], run: Execution) -> list[Unit]:
    """The units of work: the unfinished cells of each stack of the plan, the other cells
    alone (every cell alone without ``run.fuse``). A stack's checkpoint that cannot
    continue its cells is refused here, before anything runs (one ActcliError line)."""
    if not run.fuse:
        return [Unit((cell,), False) for cell in todo]
    by_id = {cell.id: cell for cell in todo}
    planned = planning.stacks(folder)
    found = [[by_id[i] for i in ids if i in by_id] for ids in planned]
    for ids, unit in zip(planned, found, strict=True):
        if unit and (folder / STACKS / f"{ids[0]}.pt").exists():
            _resumed_stack(folder, unit)
    found = [unit for unit in found if unit]
    stacked = {cell.id for unit in found for cell in unit}
    alone = [Unit((cell,), False) for cell in todo if cell.id not in stacked]
    # the longest first: the workers end together
    return sorted([Unit(tuple(unit), True) for unit in found] + alone,
                  key=lambda unit: len(unit.cells), reverse=True)


@dataclass(frozen=True)
class _Resumed:
    """A stack to continue from its checkpoint: every model it holds, in its order."""

    path: Path
    cells: list[Cell]
    configs: list[config_mod.Config]
    passengers: list[int]  # the cells completed already: they train along, unrecorded


def _resumed_stack(root: Path, cells: Sequence[Cell]) -> _Resumed | None:
    """The stack of the unfinished ``cells`` (of one planned stack) continued from its
    checkpoint: all the models the checkpoint holds (those completed meanwhile train
    along, so that the stack computes as it did); None when there is no checkpoint. A
    checkpoint that cannot continue them is one ActcliError line saying what to do."""
    path = planning.stack_checkpoint(root, cells[0].id)
    if path is None or not path.exists():
        return None
    from actcli.engine import checkpoints

    try:
        saved = checkpoints.read(path)
        planned = next(ids for ids in planning.stacks(root) if cells[0].id in ids)
        by_id = {cell.id: cell for cell in planning.load(root).cells}
        other = [name for name in saved.names if name not in planned or name not in by_id]
        if other:
            raise ActcliError(f"{path}: it holds {other[0]}, not a cell of this stack")
        absent = [cell.id for cell in cells if cell.id not in saved.names]
        if absent:
            raise ActcliError(f"{path}: it holds no state of cell {absent[0]}")
        members = [by_id[name] for name in saved.names]
        todo = {cell.id for cell in cells}
        passengers = [k for k, cell in enumerate(members) if cell.id not in todo]
        configs = [planning.cell_config(root, cell) for cell in members]
        problem = driver.misfit(saved, configs, saved.names, passengers)
        if problem is not None:
            raise ActcliError(f"{path}: {problem}")
    except ActcliError as err:
        raise ActcliError(f"{err}; delete it to train the stack's unfinished cells from "
                          f"zero (actcli compare --resume {root}), or start the compare "
                          "again") from None
    return _Resumed(path, members, configs, passengers)


def cell_status(folder: Path, cell: Cell) -> str | None:
    """The status a cell's summary.json records; None when it has none that can be read
    (a damaged one too: the cell is trained again)."""
    summary = _summary(folder, cell)
    return None if summary is None else str(summary["status"])


def _summary(folder: Path, cell: Cell) -> dict[str, Any] | None:
    """A cell's summary.json; None when it has none that can be read."""
    try:
        return folders.read_summary(folder / "cells" / cell.id)
    except ActcliError:
        return None


def _stack_recorded(summary: dict[str, Any] | None) -> int | None:
    """How many models a cell's summary says it trained with; None: no summary (it did not
    run). For a cell whose result is not in memory: completed by an earlier process, or
    not run, or lost with a crash."""
    return None if summary is None else int(summary.get("stack", 1))


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """Torch uses ``count`` threads inside, the caller's count again after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_cell(folder: str, cell: Cell, threads: int = 1, figures: bool = False) -> CellResult:
    """Train one cell into ``cells/<id>`` (a fresh folder) with ``threads`` torch threads;
    never raises. The thread count is set for every cell, in this process or a worker's,
    so that a cell's numbers never depend on how many workers ran beside it."""
    with _threads(threads):
        return _run_cell(Path(folder), cell, figures)


def run_unit(folder: str, unit: Unit, threads: int = 1, figures: bool = False
             ) -> list[CellResult]:
    """Train a unit of work: a cell alone, or cells as one stack (driver.run_stack: from the
    stack's checkpoint with every model it holds, so that it computes as it did; without
    one, from the start as a stack of these cells, a stack of one for the last unfinished
    cell of a stack); never raises. ``threads`` as in :func:`run_cell`."""
    if not unit.stacked:
        found = []
        for cell in unit.cells:
            found.append(run_cell(folder, cell, threads, figures))
            if found[-1].stopped:  # Ctrl-C during its wrap-up: no further cell
                break
        return found
    with _threads(threads):
        return _run_stack(Path(folder), unit.cells, figures)


def _run_stack(root: Path, cells: Sequence[Cell], figures: bool) -> list[CellResult]:
    """Train the unfinished ``cells`` of a planned stack: from the stack's checkpoint when it
    has one (:func:`_resumed_stack`), else from the start as a stack of these cells; the
    stack checkpoints into ``stacks/`` as it trains."""
    start = time.perf_counter()
    try:
        resumed = _resumed_stack(root, cells)
        if resumed is None:
            members, configs = list(cells), [_fresh_cell(root, cell) for cell in cells]
            path, passengers = planning.stack_checkpoint(root, cells[0].id), []
        else:
            members, configs = resumed.cells, resumed.configs
            path, passengers = resumed.path, resumed.passengers
        results = driver.run_stack(configs, [root / "cells" / cell.id for cell in members],
                            command=planning.read(root).get("command"), figures=figures,
                            checkpoint=path, passengers=passengers,
                            resume=f"actcli compare --resume {root}")
        return [_cell_result(cell, r, len(members))
                for cell, r in zip(members, results, strict=True) if r is not None]
    except Exception as err:  # a failing stack must not stop the others
        reason = _first_line(err)
        return [_recorded(root, cell, reason, time.perf_counter() - start) for cell in cells]


def _recorded(root: Path, cell: Cell, reason: str, seconds: float) -> CellResult:
    """A cell of a stack that crashed: what its folder says it did (a model that diverged
    or completed before the crash keeps that), else failed with ``reason``."""
    summary = _summary(root, cell)
    stack = _stack_recorded(summary)
    if summary is not None and summary["status"] in ("completed", "diverged"):
        return CellResult(cell, str(summary["status"]), summary["metrics"],
                          summary["seconds"], summary.get("reason", ""), stack=stack)
    return CellResult(cell, "failed", {}, seconds, reason, stack=stack)


def _run_cell(root: Path, cell: Cell, figures: bool = False) -> CellResult:
    start = time.perf_counter()
    try:
        target = root / "cells" / cell.id
        if (target / CHECKPOINT).exists() and \
                cell_status(root, cell) in ("interrupted", "running"):
            try:  # continued from its checkpoint, as train --resume does
                return _cell_result(cell, driver.resume(target), 1)
            except (locks.FolderBusy, folders.WriteError):
                raise
            except ActcliError:  # a checkpoint it cannot continue from: trained again
                pass
        config = _fresh_cell(root, cell)
        result = driver.run(config, root / "cells", folder=target,
                                command=planning.read(root).get("command"), figures=figures)
        return _cell_result(cell, result, 1)
    except Exception as err:  # a failing cell must not stop the others
        return CellResult(cell, "failed", {}, time.perf_counter() - start, _first_line(err),
                          stack=_stack_recorded(_summary(root, cell)))


def _fresh_cell(root: Path, cell: Cell) -> config_mod.Config:
    """The cell's config, its folder removed if an unfinished earlier attempt left one."""
    config = planning.cell_config(root, cell)
    target = root / "cells" / cell.id
    if target.exists():  # an unfinished earlier attempt: start the cell again
        shutil.rmtree(target)
    return config


def _cell_result(cell: Cell, result: RunResult, stack: int) -> CellResult:
    """A cell's CellResult from its RunResult, trained in a stack of ``stack``."""
    return CellResult(cell, result.status, result.metrics, result.seconds,
                      result.reason if result.status != "completed" else "", result.stopped,
                      stack)


def _first_line(err: Exception) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0]


def execute(folder: Path, cells: Sequence[Cell], execution: Execution | None = None, *,
            fail_fast: bool = False, on_done: Callable[[CellResult], None] | None = None,
            held: bool = False) -> list[CellResult]:
    """Run every cell not yet completed; return one result per cell, in plan order.

    ``execution.backend="ray"`` sends the cells to a Ray cluster (``address``; a local Ray
    when None), each asking for ``threads`` CPUs; the compare folder must be on storage
    every Ray node can write (a shared file system), since each cell writes its own run
    folder there. One process at a time: a second one on the same folder is refused
    (locks.FolderBusy, one line) while the first holds the folder's lock; ``held``: the
    caller holds it already (a compare holds it from its first round to its report).
    """
    collector.release()  # the long part begins (a Ray compare's parent never trains)
    with contextlib.nullcontext() if held else locks.FolderLock(folder, "actcli compare"):
        return _execute(folder, cells, execution, fail_fast, on_done)


def _execute(folder: Path, cells: Sequence[Cell], execution: Execution | None,
             fail_fast: bool, on_done: Callable[[CellResult], None] | None
             ) -> list[CellResult]:
    run = execution or Execution()
    workers, threads = run.workers, run.threads
    if workers < 1 or threads < 1:
        raise ConfigError(f"--workers and --threads: must be >= 1, got {workers} and {threads}")
    if run.backend not in ("processes", "ray"):
        raise ConfigError(f"--backend: {quote(run.backend)} is not a backend; valid: "
                          "processes, ray")
    results: dict[str, CellResult] = {}
    todo = []
    for cell in cells:
        summary = _summary(folder, cell)
        if summary is not None and summary["status"] == "completed":  # by an earlier process
            results[cell.id] = CellResult(cell, "completed", summary["metrics"],
                                          summary["seconds"], stack=_stack_recorded(summary))
        else:
            todo.append(cell)

    def done(result: CellResult) -> bool:
        results[result.cell.id] = result
        if on_done is not None:
            on_done(result)
        if result.status == "interrupted" or result.stopped:  # Ctrl-C stops the compare
            return True
        return fail_fast and result.status not in ("completed",)

    def all_done(found: list[CellResult]) -> bool:
        return any([done(result) for result in found])  # record every one, then decide

    work = units(folder, todo, run) if todo else []
    stopped = interrupted = False
    try:
        if run.backend == "ray":
            stopped = workers_mod.on_ray(run_unit, str(folder.resolve()), work, threads,
                                         run.cell_figures, run.address, all_done)
        else:
            stopped = workers_mod.on_processes(run_unit, str(folder), work, threads,
                                               run.cell_figures, workers, all_done)
    except KeyboardInterrupt:  # Ctrl-C between two cells: keep what finished
        interrupted = True
    except (workers_mod.ClusterLost, workers_mod.WorkerLost) as err:
        # what ran elsewhere is lost: say so, and how to go on
        for cell in cells:
            if cell.id not in results:
                _mark_interrupted(folder / "cells" / cell.id, f"{err}")
        here = " --backend processes" if isinstance(err, workers_mod.ClusterLost) else ""
        where = " on this machine" if here else ""
        raise type(err)(
            f"{err}; the cells it had not finished are marked interrupted; to go on"
            f"{where}: actcli compare --resume {folder}{here}") from None
    interrupted = interrupted or was_interrupted(list(results.values()))
    for cell in cells:
        if cell.id not in results:  # not run now: its folder, if any, is an earlier one's
            reason = ("not run: interrupted" if interrupted else
                      "not run: stopped by --fail-fast" if stopped else "not run")
            results[cell.id] = CellResult(cell, "skipped", {}, 0.0, reason,
                                          stack=_stack_recorded(_summary(folder, cell)))
    return [results[cell.id] for cell in cells]


def _mark_interrupted(cell: Path, reason: str) -> None:
    """A cell whose summary says running while no process holds it: interrupted."""
    try:
        summary = folders.read_summary(cell)
    except ActcliError:
        return  # never started here, or unreadable: --resume trains it again anyway
    if summary["status"] == "running" and not locks.is_held(cell):
        summary.update(status="interrupted", reason=reason)
        folders.write_json(cell / folders.SUMMARY, summary)


def was_interrupted(results: Sequence[CellResult]) -> bool:
    return any(r.status == "interrupted" or r.stopped or r.error == "not run: interrupted"
               for r in results)
