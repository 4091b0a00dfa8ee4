"""Sweeps: expand a grid of overrides x seeds into cells, run them, keep what finished.

A compare folder holds ``base.yaml`` (the resolved config every cell starts from),
``plan.json`` (the cells and their overrides) and ``cells/<id>/``, each an ordinary run
folder. A cell whose summary says ``completed`` is done; ``--resume`` runs the rest.
Cells that share a network shape train together as one stacked model (``fused``; plan.json
``stacks`` lists them; ``--no-fuse`` trains every cell alone); a stack not finished yet
keeps its checkpoint in ``stacks/<its first cell id>.pt``, and a cell alone its own in
its folder, so that ``--resume`` continues them where they stopped. The units of work, stacks
or single cells, run in this process (workers = 1), in spawned worker processes or on Ray.
Every unit trains with the plan's ``threads`` torch threads (1 by default) wherever it runs,
so its numbers do not depend on the worker count; by default there are cores // threads
workers.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from actcli import config as config_mod
from actcli import folders, locks, provenance
from actcli.errors import ActcliError, ConfigError, quote
from actcli.inspection import advice
from actcli.sweep import stacking
from actcli.sweep import workers as workers_mod
from actcli.training import experiment, fused

ELEVEN = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish",
          "softplus", "hardswish")


@dataclass(frozen=True)
class Cell:
    id: str  # folder name under cells/
    label: str  # what varies, e.g. "model.activation=relu"
    overrides: tuple[str, ...]  # --set strings on top of base.yaml, the seed included
    seed: int
    values: dict[str, Any] = field(default_factory=dict, compare=False)  # key -> value varied

    def shown(self, varied: Sequence[str]) -> str:
        """The label a table shows: the value alone when one key varies."""
        if len(varied) == 1 and varied[0] in self.values:
            return flow(self.values[varied[0]])
        return self.label


@dataclass(frozen=True)
class Execution:
    """How a compare's cells run; plan.json keeps it so that a resume runs them alike."""

    workers: int = 1
    threads: int = 1  # torch threads per cell: the cell's numbers depend on it
    backend: str = "processes"  # processes | ray
    address: str | None = None  # the Ray cluster (None: a local Ray)
    cell_figures: bool = False  # each cell's own PNGs (the compare draws its own figures)
    fuse: bool = True  # cells that share a network shape train as one stacked model


@dataclass
class CellResult:
    cell: Cell
    status: str  # completed | diverged | failed | interrupted | skipped
    metrics: dict[str, Any]
    seconds: float
    error: str = ""
    stopped: bool = False  # a Ctrl-C came while the cell's folder was written: stop after it


def parse_over(items: Sequence[str]) -> dict[str, list[Any]]:
    """``KEY=v1,v2`` (values read as one YAML flow list, so [8,8] stays a list) -> key: values."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(f"--over {quote(item)}: expected KEY=v1,v2,..., "
                              "e.g. model.activation=relu,tanh")
        values = config_mod.parse_yaml(f"[{text}]", f"--over {key}")
        if key in grid:
            raise ConfigError(f"--over: {key} is given twice")
        grid[key] = values
    return grid


@dataclass(frozen=True)
class Settings:
    """How a compare runs: what varies, over how many seeds, on how many workers/threads."""

    grid: dict[str, list[Any]]
    seeds: int
    workers: int
    threads: int


def default_workers(threads: int) -> int:
    """Workers that fill this machine's cores when each cell uses ``threads`` threads."""
    return max(1, (os.cpu_count() or 1) // threads)


def settle(planned: config_mod.CompareConfig | None, over: Sequence[str],
           activations: str | None, seeds: int | None, workers: int | None,
           threads: int | None = None) -> Settings:
    """The settings of a compare: the command line first (``--over``, ``--activations``,
    ``--seeds``, ``--workers``, ``--threads``), then the config's ``compare:`` section, then
    the eleven activations, one seed, one thread per cell and as many workers as that
    leaves cores. ``--activations`` adds the activation key to an ``--over`` grid."""
    grid = parse_over(list(over))
    where = "--over"
    if activations is not None and "model.activation" in grid:
        raise ConfigError("--activations and --over model.activation=... both name the "
                          "activations: give one of them")
    if not grid and activations is None and planned is not None:
        grid, where = dict(planned.over), "compare.over"
    if activations is not None and not [n for n in activations.split(",") if n.strip()]:
        raise ConfigError("--activations: give one or more names, e.g. relu,tanh (no "
                          "--activations: the eleven)")
    if activations is not None or not grid:
        names = [n.strip() for n in activations.split(",")] if activations else list(ELEVEN)
        grid = {"model.activation": names, **grid}
    for key, values in grid.items():
        option = "--activations" if key == "model.activation" and activations is not None \
            else f"{where} {key}"
        _refuse_repeats(option, values)
    if seeds is None:
        seeds = planned.seeds if planned is not None else 1
    if threads is None:
        threads = planned.threads if planned is not None else 1
    if workers is None and planned is not None:
        workers = planned.workers
    for option, value in (("--seeds", seeds), ("--workers", workers), ("--threads", threads)):
        if value is not None and value < 1:
            raise ConfigError(f"{option}: must be >= 1, got {value}")
    return Settings(grid, seeds, workers or default_workers(threads), threads)


def _refuse_repeats(option: str, values: Sequence[Any]) -> None:
    """A value given twice would make two cells of one config (and one folder): refused."""
    seen: set[str] = set()
    for value in values:
        text = flow(value)
        if text in seen:
            raise ConfigError(f"{option}: {quote(text)} is given twice; give each value once")
        seen.add(text)


def flow(value: Any) -> str:
    """A value as one line of YAML flow style: relu, [8, 8], {name: constant, value: 5}."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n...").strip()


def plan(grid: dict[str, list[Any]], seeds: int) -> list[Cell]:
    """Every combination of the grid's values, each for seeds 0..seeds-1."""
    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1, got {seeds}")
    keys = list(grid)
    cells = []
    for combo in itertools.product(*(grid[k] for k in keys)) if keys else [()]:
        sets = tuple(f"{k}={flow(v)}" for k, v in zip(keys, combo, strict=True))
        label = ", ".join(sets) or "base"
        slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", "__".join(
            f"{k.rsplit('.', 1)[-1]}={flow(v)}" for k, v in zip(keys, combo, strict=True)))
        values = dict(zip(keys, combo, strict=True))
        for seed in range(seeds):
            cells.append(Cell(f"{slug or 'base'}__seed{seed}", label,
                              (*sets, f"train.seed={seed}"), seed, values))
    return cells


def create(config_path: Path, overrides: Sequence[str], grid: dict[str, list[Any]], seeds: int,
           out: Path, name: str | None = None, tune_lr: bool = False,
           execution: Execution | None = None, notes: list[str] | None = None
           ) -> tuple[Path, list[Cell]]:
    """Validate every cell's config, then make the compare folder with its plan.

    ``notes`` collects, once each, what the cells' overrides changed besides their own key
    (the options dropped when a cell names another optimizer, say).
    ``tune_lr``: first run a learning-rate range test for each cell (seed 0) and give all
    its seeds the lr it picks; the plan and the report record which lr each used.
    ``execution``: how the cells are to run, recorded so that ``--resume`` runs them alike.
    """
    for item in overrides:
        key = item.partition("=")[0].strip()
        swept = next((k for k in grid if key == k or key.startswith(f"{k}.")), None)
        if swept is not None:  # the sweep's value would replace the --set one in every cell
            where = "--activations" if swept == "model.activation" else f"--over {swept}"
            raise ConfigError(f"--set {key}=... and {where} both set {key}: every cell would "
                              "take the sweep's value; give one of them")
    base = config_mod.load(config_path, list(overrides))
    if base.log.tensorboard:
        from actcli.training import tboard

        tboard.require()
    cells = plan(grid, seeds)
    base_doc = config_mod.dump(base)
    # label -> the config of its seed 0, which the lr range test starts from
    configs: dict[str, config_mod.Config] = {}
    trains: dict[tuple[str, int], Cell] = {}  # (network signature, seed) -> first cell
    checked_all = []
    for cell in cells:  # every cell must be a valid config, and differ, before anything runs
        found: list[str] = []
        checked = config_mod.validate(_document(base_doc, cell.overrides, found),
                                      f"cell {cell.label}")
        if notes is not None:
            notes += [note for note in found if note not in notes]
        checked_all.append(checked)
        configs.setdefault(cell.label, checked)
        twin = trains.setdefault((advice.network_signature(checked), cell.seed), cell)
        if twin.label != cell.label:
            raise ConfigError(_same_network(twin, cell, advice.no_effect(checked)))
    tuned: dict[str, float] = {}
    tests = {}
    if tune_lr:
        from actcli.inspection import lr_finder

        for label, cfg in configs.items():
            tests[label] = lr_finder.find_lr(cfg)
            tuned[label] = float(f"{tests[label].chosen:.3g}")
        cells = [Cell(c.id, c.label, (*c.overrides[:-1], f"optimizer.lr={tuned[c.label]}",
                                      c.overrides[-1]), c.seed, c.values) for c in cells]
    run = execution or Execution()
    # a Ray cluster's CPUs, not this machine's, bound how many parts a long stack is cut in
    cpus = workers_mod.ray_cpus(run.address) if run.backend == "ray" else None
    stacks = _stacks(cells, checked_all, run.threads, cpus)
    folder = folders.create(out, f"compare-{name or base.name}")
    folders.write_text(folder / "base.yaml", base_doc)
    folders.write_json(folder / "plan.json", {
        "config": str(config_path), "overrides": list(overrides),
        "over": {k: [flow(v) for v in vs] for k, vs in grid.items()}, "seeds": seeds,
        "tuned_lr": tuned, "execution": asdict(execution or Execution()),
        "command": provenance.command_line(),
        "cells": [asdict(c) for c in cells],
        "stacks": stacks})
    if tests:
        from actcli import plots

        shown = {c.label: c.shown(list(grid)) for c in cells}
        folders.save_figure(plots.lr_range_tests({shown[k]: (t.lrs, t.losses, t.chosen)
                                               for k, t in tests.items()}),
                         folder / "lr_range_test.png")
    return folder, cells


def _stacks(cells: Sequence[Cell], configs: Sequence[config_mod.Config], threads: int,
            cpus: int | None = None) -> list[list[str]]:
    """The cell ids of each stack: the cells that can train together, a long stack split
    in up to as many parts as this machine has cores for (cores // threads), each part at
    least :data:`stacking.SPLIT_SECONDS` of training by :func:`stacking.seconds_estimate` (a
    worker costs about 3 s to start). Fixed in the plan: the worker count never changes
    which cells train together, so it never changes their numbers. ``cpus``: the CPUs the
    units will run on (a Ray cluster's), default this machine's cores."""
    cores = max(1, (cpus or os.cpu_count() or 1) // threads)
    found = []
    for group in stacking.groups(configs):
        estimate = stacking.seconds_estimate(configs[group[0]], len(group))
        parts = max(1, min(cores, len(group), int(estimate // stacking.SPLIT_SECONDS)))
        size = -(-len(group) // parts)  # ceil: the parts differ by at most one cell
        experiment.check_memory(configs[group[0]], size)  # before any folder exists
        found += [[cells[i].id for i in group[start:start + size]]
                  for start in range(0, len(group), size)]
    return found


def _same_network(a: Cell, b: Cell, no_effect: dict[str, str]) -> str:
    """Why two cells of a sweep would train the same network, in one line."""
    differ = [key for key in a.values if a.values.get(key) != b.values.get(key)]
    for key in differ:
        for inert, reason in no_effect.items():
            if key == inert or key.startswith(inert + "."):
                return f"{key} has no effect: {reason}; the sweep would compare identical " \
                       f"networks ({a.label} and {b.label})"
    return (f"cells {a.label} and {b.label} would train the same network: "
            f"{', '.join(differ) or 'their values'} change nothing here")


def tuned_lrs(folder: Path) -> dict[str, float]:
    """label -> lr chosen by --tune-lr (empty when the compare did not tune)."""
    return dict(_read_plan(folder).get("tuned_lr", {}))


def varied_keys(folder: Path) -> list[str]:
    """The config keys a compare varies, in grid order."""
    return list(_read_plan(folder).get("over", {}))


def _read_plan(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ActcliError(f"{folder}: not a compare folder (no plan.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ActcliError(f"{folder / 'plan.json'}: not valid JSON: {err}") from None


def load_plan(folder: Path) -> tuple[list[Cell], Execution]:
    """The cells of a compare folder and how they were to run."""
    data = _read_plan(folder)
    try:
        cells = [Cell(str(c["id"]), str(c["label"]), tuple(str(o) for o in c["overrides"]),
                      int(c["seed"]), dict(c.get("values", {}))) for c in data["cells"]]
        known = {k: v for k, v in data.get("execution", {}).items()
                 if k in Execution.__annotations__}
        execution = Execution(**known)
        _check_execution(execution)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ActcliError(f"{folder / 'plan.json'}: damaged ({type(err).__name__}: "
                          f"{quote(str(err), 60)}); start the compare again") from None
    if any("/" in cell.id or cell.id in ("", ".", "..") for cell in cells):
        raise ActcliError(f"{folder / 'plan.json'}: damaged (a cell id is not a folder "
                          "name); start the compare again")
    return cells, execution


def _check_execution(run: Execution) -> None:
    """plan.json's execution section has the types and ranges a compare needs."""
    for name in ("workers", "threads"):
        value = getattr(run, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"execution.{name} is {value!r}, not a whole number >= 1")
    if run.backend not in ("processes", "ray"):
        raise ValueError(f"execution.backend is {run.backend!r}")
    if run.address is not None and not isinstance(run.address, str):
        raise ValueError(f"execution.address is {run.address!r}")
    for name in ("cell_figures", "fuse"):
        if not isinstance(getattr(run, name), bool):
            raise ValueError(f"execution.{name} is {getattr(run, name)!r}, not true/false")


def stacks(folder: Path) -> list[list[str]]:
    """The ids of the cells that can train together, one list per stack (plan.json); a
    cell in none trains alone (a CNN, batch norm, prelu; in a plan of an earlier actcli,
    periodic checkpoints too)."""
    return [list(ids) for ids in _read_plan(folder).get("stacks", [])]


STACKS = "stacks"  # a compare folder's stack checkpoints: stacks/<first cell id>.pt


def stack_checkpoint(folder: Path, cell_id: str) -> Path | None:
    """The checkpoint file of the planned stack that holds cell ``cell_id`` (None: the cell
    is in no stack). One file per stack: its models are saved at one moment, together."""
    for ids in stacks(folder):
        if cell_id in ids:
            return folder / STACKS / f"{ids[0]}.pt"
    return None


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
    planned = stacks(folder)
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
    path = stack_checkpoint(root, cells[0].id)
    if path is None or not path.exists():
        return None
    from actcli.engine import checkpoints

    try:
        saved = checkpoints.read_stack(path)
        planned = next(ids for ids in stacks(root) if cells[0].id in ids)
        by_id = {cell.id: cell for cell in load_plan(root)[0]}
        other = [name for name in saved.names if name not in planned or name not in by_id]
        if other:
            raise ActcliError(f"{path}: it holds {other[0]}, not a cell of this stack")
        absent = [cell.id for cell in cells if cell.id not in saved.names]
        if absent:
            raise ActcliError(f"{path}: it holds no state of cell {absent[0]}")
        members = [by_id[name] for name in saved.names]
        todo = {cell.id for cell in cells}
        passengers = [k for k, cell in enumerate(members) if cell.id not in todo]
        configs = [_cell_config(root, cell) for cell in members]
        problem = fused.misfit(saved, configs, saved.names, passengers)
        if problem is not None:
            raise ActcliError(f"{path}: {problem}")
    except ActcliError as err:
        raise ActcliError(f"{err}; delete it to train the stack's unfinished cells from "
                          f"zero (actcli compare --resume {root}), or start the compare "
                          "again") from None
    return _Resumed(path, members, configs, passengers)


@functools.lru_cache(maxsize=4)
def _parsed(base_doc: str) -> dict[str, Any]:
    return config_mod.parse_yaml(base_doc, "base.yaml")


def _document(base_doc: str, overrides: Sequence[str], notes: list[str] | None = None
              ) -> dict[str, Any]:
    """base.yaml with a cell's overrides (base.yaml is parsed once: 6 ms a cell here);
    ``notes`` as in :func:`config.apply_override`."""
    document = copy.deepcopy(_parsed(base_doc))
    for item in overrides:
        config_mod.apply_override(document, item, notes)
    return document


def cell_status(folder: Path, cell: Cell) -> str | None:
    """The status a cell's summary.json records; None when it has none that can be read
    (a damaged one too: the cell is trained again)."""
    try:
        return str(folders.read_summary(folder / "cells" / cell.id)["status"])
    except ActcliError:
        return None


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
    """Train a unit of work: a cell alone, or cells as one stack (fused.run: from the
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
            path, passengers = stack_checkpoint(root, cells[0].id), []
        else:
            members, configs = resumed.cells, resumed.configs
            path, passengers = resumed.path, resumed.passengers
        results = fused.run(configs, [root / "cells" / cell.id for cell in members],
                            command=_read_plan(root).get("command"), figures=figures,
                            checkpoint=path, passengers=passengers,
                            resume=f"actcli compare --resume {root}")
        return [_cell_result(cell, r) for cell, r in zip(members, results, strict=True)
                if r is not None]
    except Exception as err:  # a failing stack must not stop the others
        reason = _first_line(err)
        return [_recorded(root, cell, reason, time.perf_counter() - start) for cell in cells]


def _recorded(root: Path, cell: Cell, reason: str, seconds: float) -> CellResult:
    """A cell of a stack that crashed: what its folder says it did (a model that diverged
    or completed before the crash keeps that), else failed with ``reason``."""
    status = cell_status(root, cell)
    if status in ("completed", "diverged"):
        summary = folders.read_summary(root / "cells" / cell.id)
        return CellResult(cell, status, summary["metrics"], summary["seconds"],
                          summary.get("reason", ""))
    return CellResult(cell, "failed", {}, seconds, reason)


def _run_cell(root: Path, cell: Cell, figures: bool = False) -> CellResult:
    start = time.perf_counter()
    try:
        target = root / "cells" / cell.id
        if (target / experiment.CHECKPOINT).exists() and \
                cell_status(root, cell) in ("interrupted", "running"):
            try:  # continued from its checkpoint, as train --resume does
                return _cell_result(cell, experiment.resume(target))
            except (locks.FolderBusy, folders.WriteError):
                raise
            except ActcliError:  # a checkpoint it cannot continue from: trained again
                pass
        config = _fresh_cell(root, cell)
        result = experiment.run(config, root / "cells", folder=target,
                                command=_read_plan(root).get("command"), figures=figures)
        return _cell_result(cell, result)
    except Exception as err:  # a failing cell must not stop the others
        return CellResult(cell, "failed", {}, time.perf_counter() - start, _first_line(err))


def _cell_config(root: Path, cell: Cell) -> config_mod.Config:
    """The cell's config: base.yaml with its overrides."""
    return config_mod.validate(_document((root / "base.yaml").read_text(encoding="utf-8"),
                                         cell.overrides), f"cell {cell.label}")


def _fresh_cell(root: Path, cell: Cell) -> config_mod.Config:
    """The cell's config, its folder removed if an unfinished earlier attempt left one."""
    config = _cell_config(root, cell)
    target = root / "cells" / cell.id
    if target.exists():  # an unfinished earlier attempt: start the cell again
        shutil.rmtree(target)
    return config


def _cell_result(cell: Cell, result: experiment.RunResult) -> CellResult:
    """A cell's CellResult from its experiment.RunResult."""
    return CellResult(cell, result.status, result.metrics, result.seconds,
                      result.reason if result.status != "completed" else "", result.stopped)


def _first_line(err: Exception) -> str:
    return f"{type(err).__name__}: {err}".splitlines()[0]


def execute(folder: Path, cells: Sequence[Cell], execution: Execution | None = None, *,
            fail_fast: bool = False, on_done: Callable[[CellResult], None] | None = None
            ) -> list[CellResult]:
    """Run every cell not yet completed; return one result per cell, in plan order.

    ``execution.backend="ray"`` sends the cells to a Ray cluster (``address``; a local Ray
    when None), each asking for ``threads`` CPUs; the compare folder must be on storage
    every Ray node can write (a shared file system), since each cell writes its own run
    folder there. One process at a time: a second one on the same folder is refused
    (locks.FolderBusy, one line) while the first holds the folder's lock.
    """
    with locks.FolderLock(folder, "actcli compare"):
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
        if cell_status(folder, cell) == "completed":
            summary = folders.read_summary(folder / "cells" / cell.id)
            results[cell.id] = CellResult(cell, "completed", summary["metrics"],
                                          summary["seconds"])
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
        if cell.id not in results:
            reason = ("not run: interrupted" if interrupted else
                      "not run: stopped by --fail-fast" if stopped else "not run")
            results[cell.id] = CellResult(cell, "skipped", {}, 0.0, reason)
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
