"""Planning a compare: the grid settled, its cells, every cell's config checked, which
cells train together in one stack, and the compare folder with its plan.

A compare folder holds ``base.yaml`` (the resolved config every cell starts from) and
``plan.json`` (the cells and their overrides, the stacks, how the cells are to run); the
executing side (:mod:`actcli.sweep.executing`) trains the cells into ``cells/<id>/``.
Cells that share a network shape train together as one stacked model: which ones is
decided here, once, with :mod:`actcli.sweep.stacking` (plan.json ``stacks``), so that the
worker count never changes which cells train together, nor their numbers.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from actcli import config as config_mod
from actcli import folders, provenance
from actcli.errors import ActcliError, ConfigError, quote
from actcli.inspection import advice
from actcli.sweep import stacking
from actcli.sweep import workers as workers_mod
from actcli.training.budget import check_memory

ELEVEN = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish",
          "softplus", "hardswish")
STACKS = "stacks"  # a compare folder's stack checkpoints: stacks/<first cell id>.pt


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


@dataclass(frozen=True)
class Plan:
    """A planned compare: its folder and what its plan.json says."""

    folder: Path
    cells: list[Cell]  # in plan order
    execution: Execution
    varied: list[str]  # the config keys the grid varies, in grid order
    tuned_lr: dict[str, float]  # label -> the lr --tune-lr chose (empty: not tuned)


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


def settle(planned: config_mod.CompareConfig | None, grid: Mapping[str, Sequence[Any]],
           activations: Sequence[str] | None, seeds: int | None, workers: int | None,
           threads: int | None = None) -> Settings:
    """The settings of a compare: what the caller gives first (``grid``, as ``--over``;
    ``activations``, ``seeds``, ``workers``, ``threads``), then the config's ``compare:``
    section, then the eleven activations, one seed, one thread per cell and as many workers
    as that leaves cores. ``activations`` adds the activation key to the grid."""
    found = {key: list(values) for key, values in grid.items()}
    where = "--over"
    if activations is not None and "model.activation" in found:
        raise ConfigError("--activations and --over model.activation=... both name the "
                          "activations: give one of them")
    if not found and activations is None and planned is not None:
        found, where = {key: list(values) for key, values in planned.over.items()}, \
            "compare.over"
    if activations is not None and not [name for name in activations if name]:
        raise ConfigError("--activations: give one or more names, e.g. relu,tanh (no "
                          "--activations: the eleven)")
    if activations is not None or not found:
        names = list(activations) if activations is not None else list(ELEVEN)
        found = {"model.activation": names, **found}
    for key, values in found.items():
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
    return Settings(found, seeds, workers or default_workers(threads), threads)


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


def expand(grid: Mapping[str, Sequence[Any]], seeds: int) -> list[Cell]:
    """The cells of a grid: every combination of its values, each for seeds 0..seeds-1."""
    if seeds < 1:
        raise ConfigError(f"--seeds: must be >= 1, got {seeds}")
    keys = list(grid)
    cells = []
    for combo in itertools.product(*(grid[k] for k in keys)) if keys else [()]:
        sets = tuple(f"{k}={flow(v)}" for k, v in zip(keys, combo, strict=True))
        label = ", ".join(sets) or "base"
        slug = "__".join(f"{k.rsplit('.', 1)[-1]}={_slug(v)}"
                         for k, v in zip(keys, combo, strict=True))
        values = dict(zip(keys, combo, strict=True))
        cells += [seeded(slug or "base", label, sets, seed, values) for seed in range(seeds)]
    return cells


def seeded(stem: str, label: str, sets: tuple[str, ...], seed: int,
           values: dict[str, Any]) -> Cell:
    """The cell ``label`` (folder stem ``stem``, overrides ``sets``) for ``seed``: the one
    place a cell's id and its train.seed override, its last, are made."""
    return Cell(f"{stem}__seed{seed}", label, (*sets, f"train.seed={seed}"), seed, values)


def with_seed(cell: Cell, seed: int) -> Cell:
    """``cell`` for another seed (a deciding compare's rounds add them)."""
    return seeded(cell.id.rsplit("__seed", 1)[0], cell.label, cell.overrides[:-1], seed,
                  cell.values)


def _slug(value: Any) -> str:
    """A value as a folder-name part: its flow text with anything but letters, digits and
    ``_.=-`` made ``_``; a formula or a Python reference (whose operators would all become
    ``_``, so that ``x*x`` and ``x+x`` would meet), or any long text, is cut to 32
    characters and gets 8 hex digits of the text's hash: readable, stable, distinct."""
    text = flow(value)
    safe = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)
    custom = isinstance(value, dict) and ("formula" in value or "python" in value) or \
        isinstance(value, str) and (":" in value or any(c in value for c in "*/+()<>"))
    if custom or len(safe) > 48:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        return f"{safe[:32].strip('_')}-{digest}"
    return safe


def create(config_path: Path, overrides: Sequence[str], grid: Mapping[str, Sequence[Any]],
           seeds: int, out: Path, *, base: config_mod.Config | None = None,
           name: str | None = None, tune_lr: bool = False, execution: Execution | None = None,
           notes: list[str] | None = None, sections: Mapping[str, Any] | None = None
           ) -> Plan:
    """Validate every cell's config, decide the stacks, then make the compare folder with
    its base.yaml and plan.json (with ``sections`` beside the plan's own: a compare's
    ``decide`` or ``ranking``).

    ``config_path`` with ``overrides`` (``--set`` items) is the config every cell starts
    from; ``base``: that config when the caller has loaded it already (it is not read
    again). ``notes`` collects, once each, what the cells' overrides changed besides their
    own key (the options dropped when a cell names another optimizer, say).
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
    if base is None:
        base = config_mod.load(config_path, list(overrides))
    if base.log.tensorboard:
        from actcli.training import tboard

        tboard.require()
    cells = expand(grid, seeds)
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
    stacks_found = plan_stacks(cells, checked_all, run)
    folder = folders.create(out, f"compare-{name or base.name}")
    folders.write_text(folder / "base.yaml", base_doc)
    folders.write_json(folder / "plan.json", {
        "config": str(config_path), "overrides": list(overrides),
        "over": {k: [flow(v) for v in vs] for k, vs in grid.items()}, "seeds": seeds,
        "tuned_lr": tuned, "execution": asdict(run),
        "command": provenance.command_line(),
        "cells": [asdict(c) for c in cells],
        "stacks": stacks_found, **(sections or {})})
    if tests:
        from actcli import plots

        shown = {c.label: c.shown(list(grid)) for c in cells}
        folders.save_figure(plots.lr_range_tests({shown[k]: (t.lrs, t.losses, t.chosen)
                                                  for k, t in tests.items()}),
                            folder / "lr_range_test.png")
    return Plan(folder, cells, run, list(grid), tuned)


def plan_stacks(cells: Sequence[Cell], configs: Sequence[config_mod.Config],
                execution: Execution) -> list[list[str]]:
    """The stacks of ``cells`` (as :func:`create` decides them) for how they are to run."""
    cpus = workers_mod.ray_cpus(execution.address) if execution.backend == "ray" else None
    return _stacks(cells, configs, execution.threads, cpus)


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
        check_memory(configs[group[0]], size)  # before any folder exists
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


def read(folder: Path) -> dict[str, Any]:
    """A compare folder's plan.json as written, or one ActcliError line saying why not."""
    try:
        return json.loads((folder / "plan.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise ActcliError(f"{folder}: not a compare folder (no plan.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ActcliError(f"{folder / 'plan.json'}: not valid JSON: {err}") from None


def load(folder: Path) -> Plan:
    """The plan of a compare folder (plan.json checked: a damaged one is one line)."""
    data = read(folder)
    try:
        cells = [Cell(str(c["id"]), str(c["label"]), tuple(str(o) for o in c["overrides"]),
                      int(c["seed"]), dict(c.get("values", {}))) for c in data["cells"]]
        known = {k: v for k, v in data.get("execution", {}).items()
                 if k in Execution.__annotations__}
        execution = Execution(**known)
        _check_execution(execution)
        varied = [str(key) for key in data.get("over", {})]
        tuned = {str(k): float(v) for k, v in data.get("tuned_lr", {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ActcliError(f"{folder / 'plan.json'}: damaged ({type(err).__name__}: "
                          f"{quote(str(err), 60)}); start the compare again") from None
    if any("/" in cell.id or cell.id in ("", ".", "..") for cell in cells):
        raise ActcliError(f"{folder / 'plan.json'}: damaged (a cell id is not a folder "
                          "name); start the compare again")
    return Plan(folder, cells, execution, varied, tuned)


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
    cell in none trains alone (a CNN, batch norm; in a plan of an earlier actcli, prelu
    and periodic checkpoints too)."""
    return [list(ids) for ids in read(folder).get("stacks", [])]


def stack_checkpoint(folder: Path, cell_id: str) -> Path | None:
    """The checkpoint file of the planned stack that holds cell ``cell_id`` (None: the cell
    is in no stack). One file per stack: its models are saved at one moment, together."""
    for ids in stacks(folder):
        if cell_id in ids:
            return folder / STACKS / f"{ids[0]}.pt"
    return None


def cell_config(folder: Path, cell: Cell) -> config_mod.Config:
    """A cell's config: the compare folder's base.yaml with the cell's overrides."""
    return config_mod.validate(_document((folder / "base.yaml").read_text(encoding="utf-8"),
                                         cell.overrides), f"cell {cell.label}")


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
