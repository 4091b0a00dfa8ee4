"""A compare folder's results: ranking, speed to a target, verdicts against the best.

Each cell's files are read once: its metrics.csv, for a completed run (what its summary.json
says, the models it trained with included, comes with its result). Cells are ranked, and
a target is reached, on the same split: validation where the task has one (the test figure
is shown beside), else test. Cells are compared with the best one seed by seed, by seed
number: a seed missing in either cell is left out of that pair. The verdicts come from
:mod:`actcli.sweep.sequential` (valid for a compare that adds seeds after looking, and for
one that does not); :mod:`actcli.sweep.robust` gives the interquartile means.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actcli import folders
from actcli.errors import ConfigError, quote
from actcli.sweep import robust, sequential, stats
from actcli.sweep.executing import CellResult
from actcli.sweep.sequential import Schedule, Verdict

TARGET_FRACTION = 0.99  # default target: this share of the best cell's final accuracy
RANK_BY = {  # what may rank the table: +1 higher is better, -1 lower is better
    "accuracy": 1, "loss": -1, "epochs_to_target": -1, "seconds_to_target": -1}


@dataclass(frozen=True)
class Target:
    """A level of the monitored accuracy (or loss) that a run reaches at some epoch."""

    metric: str  # accuracy | loss
    value: float
    key: str  # the metrics.csv column it is read from (val_accuracy, accuracy, val_loss, ...)
    how: str  # where the value comes from, for the report

    def reached(self, value: float) -> bool:
        return value >= self.value if self.metric == "accuracy" else value <= self.value

    def describe(self) -> str:
        sign = ">=" if self.metric == "accuracy" else "<="
        return f"{self.key} {sign} {self.value:.4g} ({self.how})"


def check_rank_by(name: str) -> str:
    if name not in RANK_BY:
        raise ConfigError(f"--rank-by: {quote(name)} is not allowed; valid: "
                          f"{', '.join(RANK_BY)}")
    return name


def check_margins(margins: dict[str, float]) -> dict[str, float]:
    for name, value in margins.items():
        if name not in RANK_BY:
            raise ConfigError(f"--margin: {quote(name)} is not a metric; valid: "
                              f"{', '.join(RANK_BY)}")
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ConfigError(f"--margin {name}: {value!r} must be a number >= 0")
    return margins


@dataclass
class Run:
    """One completed run of a cell, as the report reads it."""

    cell_id: str
    seed: int
    accuracy: float  # on the ranking split (validation where there is one, else test)
    loss: float  # on the same split
    seconds: float
    history: list[dict[str, float]]  # metrics.csv
    test: float = math.nan  # the test accuracy (summary.json), shown beside
    epochs_to_target: float | None = None  # None: never reached
    seconds_to_target: float | None = None

    @property
    def epochs(self) -> float:
        return self.history[-1]["epoch"] if self.history else 0.0

    def value(self, metric: str) -> float:
        """The run's figure for ``metric``. A target never reached counts as one epoch more
        than the run trained (its seconds in proportion): worse than any run that reached
        it within its epochs, and a lower bound of what reaching it would have taken."""
        if metric == "epochs_to_target":
            return self.epochs_to_target if self.epochs_to_target is not None \
                else self.epochs + 1
        if metric == "seconds_to_target":
            return (self.seconds_to_target if self.seconds_to_target is not None
                    else self.seconds * (self.epochs + 1) / max(self.epochs, 1.0))
        return float(getattr(self, metric))


@dataclass
class Row:
    label: str
    shown: str  # the label as tables show it
    runs: dict[int, Run]  # seed -> run
    planned: int = 0  # the seeds the plan has for this cell
    unfinished: int = 0  # of them, those not run to an end yet (interrupted, skipped)
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # metric -> against its best
    best_of: list[str] = field(default_factory=list)  # the metrics this cell is best on
    tie: str = ""  # when the rank metric ties the row above: what orders them

    @property
    def seeds(self) -> int:
        return len(self.runs)

    @property
    def complete(self) -> bool:
        """Every planned seed ran to its end (a diverged or failed one included), and at
        least one completed: the cell can be ranked."""
        return self.unfinished == 0 and self.seeds > 0

    def values(self, metric: str) -> dict[int, float]:
        return {seed: run.value(metric) for seed, run in self.runs.items()}

    def mean_std(self, metric: str) -> tuple[float, float]:
        """Over the seeds that completed; (nan, nan) for none."""
        if not self.runs:
            return math.nan, math.nan
        return stats.mean_std([run.value(metric) for run in self.runs.values()])

    def spread(self, metric: str, digits: int = 4) -> str:
        """mean ± std, or ``mean (n=1)`` for one seed (one value has no spread)."""
        mean, std = self.mean_std(metric)
        return f"{mean:.{digits}f} (n=1)" if self.seeds == 1 else \
            f"{mean:.{digits}f} ± {std:.{digits}f}"

    @property
    def reached(self) -> int:
        return sum(run.epochs_to_target is not None for run in self.runs.values())

    def to_target(self, metric: str = "epochs_to_target") -> float | None:
        """Mean over the seeds that reached the target; None when none did."""
        values = [run.value(metric) for run in self.runs.values()
                  if run.epochs_to_target is not None]
        return sum(values) / len(values) if values else None

    @property
    def verdict(self) -> str:
        """Against the best on the ranked metric: best, worse, equivalent within ±m, tied
        exactly, undecided (n seeds), incomplete (k/n seeds), or - (not compared)."""
        if not self.complete:
            return f"incomplete ({self.planned - self.unfinished}/{self.planned} seeds ran)"
        return "best" if RANKED in self.best_of else \
            self.verdicts[RANKED].text() if RANKED in self.verdicts else "-"

    def verdict_on(self, metric: str, interval: bool = False) -> str:
        """Against the best on ``metric``, a judged one besides the ranked: best, the
        verdict (``interval``: with best − this's interval), or - (not judged, or the cell
        incomplete)."""
        if metric in self.best_of:
            return "best"
        told = self.verdicts.get(metric)
        if told is None or not self.complete:
            return "-"
        return f"{told.text()}, {told.interval()}" if interval else told.text()


UNFINISHED = ("interrupted", "skipped")  # a run's statuses that a resume runs again
RANKED = "rank"  # Row.verdicts' key of the ranked metric (the others by their names)


@dataclass
class Report:
    rows: list[Row]  # the complete cells best first by rank_by, then the incomplete
    accuracy_name: str  # the ranking split's column (val_accuracy, accuracy, val_r2, ...)
    loss_name: str
    rank_by: str
    target: Target | None
    failures: list[CellResult]
    varied: list[str]
    test_name: str = ""  # summary.json's test accuracy, when it is not the ranking split's
    margins: dict[str, float] = field(default_factory=dict)  # metric -> equivalence margin
    decided: list[str] = field(default_factory=list)  # the metrics with verdicts, rank first
    schedule: Schedule = field(default_factory=lambda: Schedule(1))
    coverage: float = 0.95  # each interval's level
    cells: int = 0  # cells planned
    undecided: str = ""  # how many cells are left undecided, when some are
    stopped: str = ""  # a deciding compare's: why it stopped adding seeds
    time_note: str = ""  # said when seconds rank cells that shared a stack's time
    tuned_lr: dict[str, float] = field(default_factory=dict)  # label -> lr (--tune-lr)
    ties: list[str] = field(default_factory=list)  # exact ties on the ranked metric, named

    @property
    def note(self) -> str:
        """Said when verdicts are left undecided: how many, and what adds seeds to them (a
        deciding compare: why it stopped adding them)."""
        if not self.undecided:
            return ""
        if self.stopped:
            return f"{self.undecided}; it stopped adding seeds: {self.stopped}."
        return (f"{self.undecided}: actcli compare --until-decided adds seeds to them until "
                "each is worse or equivalent (--margin) or the budget is spent.")

    @property
    def complete(self) -> list[Row]:
        return [row for row in self.rows if row.complete]

    def best(self, metric: str) -> Row | None:
        return next((row for row in self.rows if metric in row.best_of), None)

    def name(self, metric: str) -> str:
        """A metric as tables head it: accuracy is the ranking split's column."""
        return {"accuracy": self.accuracy_name, "loss": self.loss_name}.get(metric, metric)


def monitored(history: list[dict[str, float]]) -> tuple[str, str]:
    """(accuracy, loss) columns of metrics.csv watched during training: validation where
    the task has a validation split, else test (else the training set, when the task holds
    nothing out)."""
    first = history[0] if history else {}
    score = "r2" if "r2" in first or "val_r2" in first else "accuracy"  # a regression's R²
    if f"val_{score}" in first:
        return f"val_{score}", "val_loss"
    return score, "train_set_loss" if "train_set_loss" in first else "test_loss"


def summarize(folder: Path, results: list[CellResult], final_names: tuple[str, str],
              varied: list[str], *, tuned_lr: dict[str, float] | None = None,
              target: tuple[str, float] | None = None, rank_by: str = "accuracy",
              margins: dict[str, float] | None = None, schedule: Schedule | None = None,
              decided: dict[str, dict[str, Verdict]] | None = None,
              fixed_target: Target | None = None, look: int = 0,
              histories: dict[str, list[dict[str, float]]] | None = None) -> Report:
    """Rank the cells, find when each run reached the target, judge each against the best.

    ``final_names``: the task's (loss, accuracy) names in summary.json. ``target``: a
    given (metric, value); by default TARGET_FRACTION of the best cell's final monitored
    accuracy (``fixed_target``: the one a deciding compare fixed at its first look).
    ``margins``: metric -> equivalence margin (the ranked metric is always judged, the
    others named here too); ``schedule``: the looks a deciding compare planned (default:
    one look); ``decided``: metric -> label -> verdicts its earlier looks reached, kept as
    they are; ``look``: the number of this look (0 the first), recorded in new verdicts.
    ``histories``: cell id -> its metrics.csv rows, kept across the looks of one compare
    (a completed cell's file does not change): each is read once, not at every look.
    """
    loss_name, test_name = final_names
    check_rank_by(rank_by)
    margins = check_margins(dict(margins or {}))
    planned = Counter(r.cell.label for r in results)
    rows_by_label: dict[str, Row] = {}
    keys: tuple[str, str] | None = None
    for r in results:
        row = rows_by_label.get(r.cell.label)
        if row is None:
            row = rows_by_label[r.cell.label] = Row(r.cell.label, r.cell.shown(varied), {},
                                                   planned[r.cell.label])
        if r.status in UNFINISHED:
            row.unfinished += 1
        if r.status != "completed":
            continue
        history = histories.get(r.cell.id) if histories is not None else None
        if history is None:
            history = folders.read_rows(folder / "cells" / r.cell.id / "metrics.csv")
            if histories is not None:
                histories[r.cell.id] = history
        keys = keys or (monitored(history) if history else None)
        row.runs[r.cell.seed] = _run(r, history, keys, loss_name, test_name)
    accuracy_key, loss_key = keys or (test_name, loss_name)
    # a cell none of whose seeds completed is listed only while it has seeds to run
    rows = [row for row in rows_by_label.values() if row.runs or row.unfinished]
    found = fixed_target or _target([row for row in rows if row.complete], target, keys)
    if found is not None:
        for row in rows:
            for run in row.runs.values():
                _time_to(run, found)
    metrics = [rank_by, *(m for m in margins if m != rank_by)]
    if found is None:  # nothing logged: nothing reached a target
        metrics = [m for m in metrics if not m.endswith("_to_target")]
    complete = [row for row in rows if row.complete]
    complete.sort(key=lambda row: _order(row, rank_by))
    # a cell an earlier look decided worse is never shown first
    ranked = sequential.crowned([row.label for row in complete], (decided or {}).get(rank_by))
    complete.sort(key=lambda row: ranked.index(row.label))
    ties = _name_ties(complete, rank_by, {"accuracy": accuracy_key, "loss": loss_key}.get(
        rank_by, rank_by))
    schedule = schedule or Schedule(max((row.seeds for row in complete), default=1))
    coverage = sequential.level(schedule, sequential.pairs(len(planned), len(metrics) or 1))
    for metric in metrics:
        earlier = (decided or {}).get(metric)
        by_label = {row.label: row for row in complete}
        order = complete if metric == rank_by else [  # (the rank metric's: sorted above)
            by_label[label] for label in sequential.crowned(
                [row.label for row in sorted(complete, key=lambda row: _order(row, metric))],
                earlier)]
        verdicts = sequential.look(
            {row.label: row.values(metric) for row in order}, [row.label for row in order],
            RANK_BY[metric], margins.get(metric, 0.0), coverage, earlier, look)
        key = RANKED if metric == rank_by else metric
        if order:
            order[0].best_of.append(key)
        for row in order[1:]:
            row.verdicts[key] = verdicts[row.label]
    incomplete = [row for row in rows if not row.complete]
    report = Report(complete + incomplete, accuracy_key, loss_key, rank_by, found,
                    [r for r in results if r.status != "completed"], varied,
                    test_name if test_name != accuracy_key else "", margins,
                    metrics, schedule, coverage, len(planned),
                    tuned_lr=dict(tuned_lr or {}), ties=ties)
    judged = [row for row in complete if row.verdicts]
    open_ = [row for row in judged if any(not v.decided for v in row.verdicts.values())]
    if open_:
        n = max(row.seeds for row in complete)
        report.undecided = (f"{len(open_)} of the {len(judged)} cells judged against a best "
                            f"are undecided at up to {n} seed{'s' if n != 1 else ''}")
    stacked = 0 if rank_by != "seconds_to_target" else sum(
        (r.stack or 1) > 1 for r in results if r.status == "completed")
    if stacked:
        report.time_note = (
            f"{stacked} runs trained in stacks: their seconds are shares of their stack's "
            "time, so seconds_to_target ranks their epochs, not what their activations cost; "
            "--no-fuse times every run alone.")
    return report


def _run(r: CellResult, history: list[dict[str, float]], keys: tuple[str, str] | None,
         loss_name: str, test_name: str) -> Run:
    """A completed cell's figures on the ranking split: summary.json's test figures when
    the task has no validation split, else its best validation accuracy (the epoch whose
    model it kept) and that epoch's validation loss."""
    test = float(r.metrics[test_name])
    accuracy, loss = test, float(r.metrics[loss_name])
    if keys is not None and keys[0].startswith("val_") and history:
        epoch = r.metrics.get("best_epoch")
        kept = next((row for row in history if row["epoch"] == epoch), history[-1])
        accuracy = float(r.metrics.get(keys[0], kept[keys[0]]))
        loss = float(kept.get(keys[1], math.nan))
    return Run(r.cell.id, r.cell.seed, accuracy, loss, float(r.seconds), history, test)


def _order(row: Row, metric: str) -> tuple[float, float, float, str]:
    """The ranking key on ``metric``: the share of runs that never reached the target
    (to-target metrics; fewest first), then the mean, then the mean loss, then the label."""
    # the share of its seeds that never reached it (cells may have different seed counts)
    never = (row.seeds - row.reached) / max(row.seeds, 1) if metric.endswith("_to_target") \
        else 0.0
    return (never, -RANK_BY[metric] * row.mean_std(metric)[0], row.mean_std("loss")[0],
            row.label)


def _name_ties(rows: list[Row], metric: str, shown: str) -> list[str]:
    """Where rows have the same mean ``metric`` exactly, one line a group saying what
    orders them: the lower mean loss, then the name (each such row's ``tie`` says it);
    ``shown``: the metric as tables head it (val_accuracy, say)."""
    groups: list[list[Row]] = []
    for above, row in zip(rows, rows[1:], strict=False):
        if _order(above, metric)[:2] != _order(row, metric)[:2]:
            continue
        if groups and groups[-1][-1] is above:
            groups[-1].append(row)
        else:
            groups.append([above, row])
    lines = []
    for group in groups:
        value = group[0].mean_std(metric)[0]
        losses = ", ".join(f"{r.mean_std('loss')[0]:.6g}" for r in group)
        for row in group[1:]:
            row.tie = f"ties {group[0].shown} on {shown}; ordered by mean loss, then name"
        lines.append(f"equal mean {shown} ({value:.6g}): {', '.join(r.shown for r in group)}"
                     f"; ordered by their mean loss (the tie-break: {losses}), then by name")
    return lines


def _target(rows: list[Row], given: tuple[str, float] | None,
            keys: tuple[str, str] | None) -> Target | None:
    if keys is None:
        return None
    accuracy_key, loss_key = keys
    if given is not None:
        metric, value = given
        return Target(metric, value, accuracy_key if metric == "accuracy" else loss_key,
                      "given with --target")
    finals = [np.mean([run.history[-1][accuracy_key] for run in row.runs.values()])
              for row in rows if row.runs and all(run.history for run in row.runs.values())]
    if not finals:
        return None
    best = float(max(finals))
    # within 1% of the best (an R² may be negative: 1% of its size below it)
    return Target("accuracy", best - (1 - TARGET_FRACTION) * abs(best), accuracy_key,
                  f"{TARGET_FRACTION:.0%} of the best cell's final {accuracy_key}, "
                  f"{best:.4g}")


def _time_to(run: Run, target: Target) -> None:
    """The first logged epoch at which ``run`` met ``target``, and the training seconds to
    it (the run's seconds in proportion to its epochs: epochs cost about the same)."""
    run.epochs_to_target = run.seconds_to_target = None
    for row in run.history:
        value = row.get(target.key, math.nan)
        if math.isfinite(value) and target.reached(value):
            run.epochs_to_target = row["epoch"]
            run.seconds_to_target = run.seconds * row["epoch"] / max(run.epochs, 1.0)
            return


def robust_summary(row: Row, best: Row | None, metric: str) -> tuple[float, float, float,
                                                                      float]:
    """(IQM, its bootstrap 95% interval low and high, the probability that this cell beats
    the best on a random pair of seeds) of ``metric``, signed back to its own units."""
    sign = RANK_BY[metric]
    values = [sign * v for v in row.values(metric).values() if math.isfinite(v)]
    if not values:
        return math.nan, math.nan, math.nan, math.nan
    low, high = robust.bootstrap_interval(values)
    middle = robust.iqm(values)
    beats = math.nan if best is None or best is row else robust.probability_of_improvement(
        values, [sign * v for v in best.values(metric).values() if math.isfinite(v)] or
        [math.inf])
    if sign < 0:
        middle, low, high = -middle, -high, -low
    return middle, low, high, beats


def target_cell(row: Row, epochs: bool = True) -> str:
    """Time to the target as a table shows it: the mean over the seeds that reached it, to
    the decimals that order cells (2), with how many reached it when not all did."""
    mean = row.to_target("epochs_to_target" if epochs else "seconds_to_target")
    if mean is None:
        return "never"
    text = f"{mean:.2f}" if epochs else f"{mean:.3g}"  # a stacked cell's seconds are small
    return text if row.reached == row.seeds else f"{text} ({row.reached}/{row.seeds})"


def describe(report: Report) -> dict[str, Any]:
    """What the verdicts rest on, for report.md and the console."""
    return {"procedure": sequential.PROCEDURE, "alpha": sequential.ALPHA,
            "looks": report.schedule.looks, "coverage": report.coverage,
            "comparisons": sequential.pairs(report.cells, len(report.decided) or 1)}
