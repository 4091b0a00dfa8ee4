"""A compare that adds seeds until it is decided (``actcli compare --until-decided``).

It starts with the plan's seeds, then in rounds adds ``step`` seeds only to the cells whose
comparison with the best is still open on some decided metric (and to that best), until
every cell is worse, equivalent within its margin or tied exactly, or ``max_seeds`` or the
budget is reached. Each round's new cells are appended to plan.json (and its stacks), and
train like any compare's cells: as stacks. The verdicts of a look are those of
:func:`report.summarize` at that look; :mod:`actcli.sweep.sequential` says why they stay
valid although seeds are added after looking. plan.json's ``decide`` section keeps the
settings, the target fixed at the first look, every look's decisions and the seconds
spent, so that ``--resume`` continues a compare that was still deciding.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from actcli import folders
from actcli.errors import ActcliError, ConfigError
from actcli.sweep import executing, planning, report, sequential
from actcli.sweep.planning import Cell, Plan
from actcli.sweep.sequential import Schedule, Verdict

MAX_SEEDS = 20  # default seeds a cell may reach
STEP = 2  # default seeds added to each open cell a round


@dataclass
class Decide:
    """The settings of a deciding compare and what it has found so far (plan.json
    ``decide``)."""

    rank_by: str
    margins: dict[str, float]
    start: int
    max_seeds: int = MAX_SEEDS
    step: int = STEP
    budget: float | None = None  # seconds of the whole compare (None: no budget)
    target: dict[str, Any] | None = None  # report.Target fixed at the first look
    spent: float = 0.0  # seconds of training rounds so far
    looks: list[dict[str, Any]] = field(default_factory=list)  # n, open, decided, seconds
    stopped: str = ""  # why it stopped adding seeds ("" while deciding)

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.start, self.step, self.max_seeds)

    def decided(self) -> dict[str, dict[str, Verdict]]:
        """metric -> label -> the verdicts the looks so far reached (decided ones only)."""
        found: dict[str, dict[str, Verdict]] = {}
        for record in self.looks:
            for metric, verdicts in record.get("decided", {}).items():
                for label, data in verdicts.items():
                    found.setdefault(metric, {}).setdefault(label, Verdict.read(data))
        return found

    def fixed_target(self) -> report.Target | None:
        return None if self.target is None else report.Target(**self.target)

    def record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def read(cls, data: dict[str, Any]) -> Decide:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def check(start: int, max_seeds: int, step: int) -> None:
    if step < 1:
        raise ConfigError(f"compare.step: must be >= 1, got {step}")
    if max_seeds < max(2, start):
        raise ConfigError(f"--max-seeds: {max_seeds} is below the {start} seeds a deciding "
                          f"compare starts with (and at least 2 are needed to decide); give "
                          f"--max-seeds {max(2, start) + step} or more")


def load(folder: Path) -> Decide | None:
    """The decide section of a compare folder's plan.json (None: it is not deciding)."""
    data = planning.read(folder).get("decide")
    if data is None:
        return None
    try:
        return Decide.read(data)
    except (TypeError, ValueError) as err:
        raise ActcliError(f"{folder / 'plan.json'}: damaged decide section ({err})") from None


def save(folder: Path, decide: Decide, cells: list[Cell] | None = None,
         stacks: list[list[str]] | None = None) -> None:
    """plan.json with ``decide`` (and, after a round is planned, its cells and stacks)."""
    sections: dict[str, Any] = {"decide": decide.record()}
    if cells is not None:
        sections["cells"] = [asdict(c) for c in cells]
    if stacks is not None:
        sections["stacks"] = stacks
    _rewrite(folder, sections)


def ranking(rank_by: str, margins: dict[str, float]) -> dict[str, Any]:
    """plan.json's ``ranking`` section of a compare that does not decide: its rank-by and
    margins (a deciding compare keeps them in ``decide``)."""
    return {"ranking": {"rank_by": rank_by, "margins": dict(margins)}}


def _rewrite(folder: Path, sections: dict[str, Any]) -> None:
    """plan.json with ``sections`` replaced (the rest as it was)."""
    data = planning.read(folder)
    data.update(sections)
    folders.write_json(folder / "plan.json", data)


def open_labels(found: report.Report) -> list[str]:
    """The cells to give more seeds: on every decided metric, the undecided and their best
    (:func:`sequential.open_cells`, the rule the simulation test holds)."""
    labels: list[str] = []
    for metric in found.decided:
        key = report.RANKED if metric == found.rank_by else metric
        best = found.best(key)
        if best is None:
            continue
        judged = {row.label: row.verdicts[key] for row in found.complete
                  if key in row.verdicts}
        for label in sequential.open_cells([best.label, *judged], judged):
            if label not in labels:
                labels.append(label)
    return labels


def round_cells(plan: Plan, labels: list[str], upto: int) -> list[Cell]:
    """New cells: each of ``labels`` given the seeds it has not, up to ``upto`` (seeds
    0..upto-1), made from its seed-0 cell (the same overrides, another train.seed)."""
    new: list[Cell] = []
    for label in labels:
        mine = [c for c in plan.cells if c.label == label]
        first = min(mine, key=lambda c: c.seed)
        have = {c.seed for c in mine}
        new += [planning.with_seed(first, seed) for seed in range(upto) if seed not in have]
    return new


def extend(plan: Plan, decide: Decide, new: list[Cell]) -> Plan:
    """plan.json with the round's cells and their stacks (decided as at planning: cells
    that share a network shape train as one stacked model)."""
    configs = [planning.cell_config(plan.folder, cell) for cell in new]
    stacks = planning.stacks(plan.folder) + planning.plan_stacks(new, configs, plan.execution)
    cells = [*plan.cells, *new]
    save(plan.folder, decide, cells, stacks)
    return Plan(plan.folder, cells, plan.execution, plan.varied, plan.tuned_lr)


def run(plan: Plan, decide: Decide, train: Callable[[Plan, list[Cell]], list[Any]],
        summarize: Callable[..., report.Report],
        say: Callable[[str], None] = lambda _: None) -> tuple[Plan, list[Any], report.Report]:
    """Train, look, add seeds where still open, until decided, ``max_seeds`` or the budget.

    ``train(plan, cells)`` trains those of ``cells`` not completed and returns their
    results: every cell of the plan at first (a resume continues what it left), then each
    round's new cells only. ``summarize(results, schedule=, decided=, fixed_target=,
    look=)`` is report.summarize for this compare. A look already recorded (a resumed
    compare) is not taken again."""
    schedule = decide.schedule
    # the runs the first call trains (a resume: what was not completed), then each round's
    todo = sum(executing.cell_status(plan.folder, c) != "completed" for c in plan.cells)
    cells, done = plan.cells, {}
    while True:
        started = time.perf_counter()
        done.update({r.cell.id: r for r in train(plan, cells)})
        results = [done[c.id] for c in plan.cells]
        if executing.was_interrupted(results):  # a Ctrl-C in a cell, or between two
            decide.spent += time.perf_counter() - started  # the budget counts it too
            save(plan.folder, decide)
            shown = results  # the report: the last look taken, its seeds only
            if decide.looks:
                shown = [r for r in results if r.cell.seed < decide.looks[-1]["n"]]
            return plan, results, summarize(shown, schedule=schedule,
                                            decided=decide.decided(),
                                            fixed_target=decide.fixed_target(),
                                            look=len(decide.looks))
        trained = time.perf_counter() - started
        n = max(r.cell.seed for r in results) + 1
        at = len(decide.looks)
        found = summarize(results, schedule=schedule, decided=decide.decided(),
                          fixed_target=decide.fixed_target(), look=at)
        if decide.target is None and found.target is not None:
            fixed = asdict(found.target)
            if found.target.how != "given with --target":
                fixed["how"] = f"{fixed['how']}, fixed at the first look ({n} seeds)"
            decide.target = fixed
        if decide.stopped:  # a resume of a compare that had stopped: report only
            return plan, results, found
        decide.spent += trained
        opened = open_labels(found)
        decided_now = {
            metric: {row.label: row.verdicts[key].record() for row in found.complete
                     if key in row.verdicts and row.verdicts[key].decided
                     and row.verdicts[key].look == at}
            for metric in found.decided
            for key in [report.RANKED if metric == found.rank_by else metric]}
        runs = len(plan.cells) if at == 0 else decide.looks[-1]["added"]  # the round's
        upto = schedule.next_count(n)
        new = round_cells(plan, opened, upto) if opened and upto is not None else []
        decide.looks.append({"n": n, "open": opened, "seconds": round(trained, 3),
                             "runs": runs, "trained": todo, "added": len(new),
                             "decided": decided_now})
        last = decide.looks[-1]
        # its seconds were those of the runs it trained (a resumed round: the rest only)
        estimate = last["seconds"] / max(1, last["trained"]) * len(new)
        if not opened:
            decide.stopped = f"decided at look {at + 1} ({n} seeds)"
        elif upto is None:
            decide.stopped = f"max seeds ({decide.max_seeds}) reached"
        elif decide.budget is not None and decide.spent + estimate > decide.budget:
            decide.stopped = (f"budget: {decide.spent:.3g} s spent of {decide.budget:.3g} s; "
                              f"the next round ({len(new)} runs) would take about "
                              f"{estimate:.3g} s")
        if decide.stopped or upto is None:
            decide.looks[-1]["added"] = 0
            save(plan.folder, decide)
            return plan, results, found
        say(f"look {at + 1} at {n} seeds: {len(opened)} cell(s) open; training their seeds "
            f"up to seed {upto - 1} ({len(new)} runs)")
        plan = extend(plan, decide, new)
        cells, todo = new, len(new)


def describe(decide: Decide) -> str:
    """A deciding compare's rounds and why it stopped, for report.md."""
    looks = decide.looks
    runs = sum(look.get("runs", 0) for look in looks)
    budget = f", budget {decide.budget:g} s" if decide.budget is not None else ""
    steps = "; ".join(f"look {i + 1} at {look['n']} seeds: {len(look['open'])} open"
                      for i, look in enumerate(looks))
    return (f"Deciding (`--until-decided`): {decide.start} seeds first, then {decide.step} "
            f"more a round to the cells still open, up to {decide.max_seeds} "
            f"({decide.schedule.looks} looks planned{budget}). {len(looks)} look(s), "
            f"{runs} runs, {decide.spent:.1f} s of training: {steps}. "
            f"Stopped: {decide.stopped or 'still deciding (--resume continues it)'}.")
