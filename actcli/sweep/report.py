"""A compare folder's results: ranking, speed to a target, paired statistics.

Each cell's files are read once: its metrics.csv, for a completed run (what its summary.json
says, the models it trained with included, comes with its result).
Cells are compared with the best one seed by seed, by seed number: a seed missing in
either cell is left out of that pair. See ``stats`` for the method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from actcli import folders
from actcli.errors import ConfigError, quote
from actcli.sweep import stats
from actcli.sweep.executing import CellResult

ALPHA = 0.05  # a cell is "worse" than the best when its Holm-corrected p is below this
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


@dataclass
class Run:
    """One completed run of a cell, as the report reads it."""

    cell_id: str
    seed: int
    accuracy: float  # final, as in summary.json (test accuracy)
    loss: float
    seconds: float
    history: list[dict[str, float]]  # metrics.csv
    epochs_to_target: float | None = None  # None: never reached
    seconds_to_target: float | None = None

    @property
    def epochs(self) -> float:
        return self.history[-1]["epoch"] if self.history else 0.0

    def value(self, metric: str) -> float:
        """The run's figure for ``metric``; a target never reached counts as the whole run
        (a lower bound of what reaching it would have taken)."""
        if metric == "epochs_to_target":
            return self.epochs_to_target if self.epochs_to_target is not None else self.epochs
        if metric == "seconds_to_target":
            return (self.seconds_to_target if self.seconds_to_target is not None
                    else self.seconds)
        return float(getattr(self, metric))


@dataclass
class Row:
    label: str
    shown: str  # the label as tables show it
    runs: dict[int, Run]  # seed -> run
    pairs: int = 0  # seeds paired with the best cell
    difference: tuple[float, float, float] | None = None  # best - this: mean, 95% CI
    p_value: float | None = None  # exact sign-flip test
    p_holm: float | None = None
    verdict: str = "-"  # best | worse | no clear difference | too few seeds | -

    @property
    def seeds(self) -> int:
        return len(self.runs)

    def mean_std(self, metric: str) -> tuple[float, float]:
        return stats.mean_std([run.value(metric) for run in self.runs.values()])

    @property
    def reached(self) -> int:
        return sum(run.epochs_to_target is not None for run in self.runs.values())

    def to_target(self, metric: str = "epochs_to_target") -> float | None:
        """Mean over the seeds that reached the target; None when none did."""
        values = [run.value(metric) for run in self.runs.values()
                  if run.epochs_to_target is not None]
        return sum(values) / len(values) if values else None


@dataclass
class Report:
    rows: list[Row]  # best first, by rank_by
    accuracy_name: str
    loss_name: str
    rank_by: str
    target: Target | None
    failures: list[CellResult]
    varied: list[str]
    compared: int = 0  # cells tested against the best
    power_note: str = ""  # said when the seeds are too few for any difference to show
    time_note: str = ""  # said when seconds rank cells that shared a stack's time
    tuned_lr: dict[str, float] = field(default_factory=dict)  # label -> lr (--tune-lr)


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
              target: tuple[str, float] | None = None, rank_by: str = "accuracy") -> Report:
    """Rank the cells, find when each run reached the target, compare each with the best.

    ``final_names``: the task's (loss, accuracy) names in summary.json. ``target``: a
    given (metric, value); by default TARGET_FRACTION of the best cell's final monitored
    accuracy.
    """
    loss_name, accuracy_name = final_names
    check_rank_by(rank_by)
    rows_by_label: dict[str, Row] = {}
    for r in results:
        if r.status != "completed":
            continue
        row = rows_by_label.get(r.cell.label)
        if row is None:
            row = rows_by_label[r.cell.label] = Row(r.cell.label, r.cell.shown(varied), {})
        row.runs[r.cell.seed] = Run(
            r.cell.id, r.cell.seed, float(r.metrics[accuracy_name]), float(r.metrics[loss_name]),
            float(r.seconds), folders.read_rows(folder / "cells" / r.cell.id / "metrics.csv"))
    rows = list(rows_by_label.values())
    found = _target(rows, target)
    if found is not None:
        for row in rows:
            for run in row.runs.values():
                _time_to(run, found)
    direction = RANK_BY[rank_by]

    def rank(row: Row) -> tuple[float, float, float, str]:
        never = row.seeds - row.reached if rank_by.endswith("_to_target") else 0
        return (never, -direction * row.mean_std(rank_by)[0], row.mean_std("loss")[0],
                row.label)

    rows.sort(key=rank)
    report = Report(rows, accuracy_name, loss_name, rank_by, found,
                    [r for r in results if r.status != "completed"], varied,
                    tuned_lr=dict(tuned_lr or {}))
    _compare_with_best(report, direction)
    stacked = 0 if rank_by != "seconds_to_target" else sum(
        (r.stack or 1) > 1 for r in results if r.status == "completed")
    if stacked:
        report.time_note = (
            f"{stacked} runs trained in stacks: their seconds are shares of their stack's "
            "time, so seconds_to_target ranks their epochs, not what their activations cost; "
            "--no-fuse times every run alone.")
    return report


def _target(rows: list[Row], given: tuple[str, float] | None) -> Target | None:
    histories = [run.history for row in rows for run in row.runs.values() if run.history]
    if not histories:
        return None
    accuracy_key, loss_key = monitored(histories[0])
    if given is not None:
        metric, value = given
        return Target(metric, value, accuracy_key if metric == "accuracy" else loss_key,
                      "given with --target")
    finals = [np.mean([run.history[-1][accuracy_key] for run in row.runs.values()])
              for row in rows if all(run.history for run in row.runs.values())]
    best = float(max(finals))
    # within 1% of the best (an R² may be negative: 1% of its size below it)
    return Target("accuracy", best - (1 - TARGET_FRACTION) * abs(best), accuracy_key,
                  f"{TARGET_FRACTION:.0%} of the best cell's final {accuracy_key}, "
                  f"{best:.4g}")


def _time_to(run: Run, target: Target) -> None:
    """The first logged epoch at which ``run`` met ``target``, and the training seconds to
    it (the run's seconds in proportion to its epochs: epochs cost about the same)."""
    for row in run.history:
        value = row.get(target.key, math.nan)
        if math.isfinite(value) and target.reached(value):
            run.epochs_to_target = row["epoch"]
            run.seconds_to_target = run.seconds * row["epoch"] / max(run.epochs, 1.0)
            return


def _compare_with_best(report: Report, direction: int) -> None:
    """Paired differences of each cell with the best (seed by seed), their 95% CI, the exact
    sign-flip p and Holm's correction across the cells compared; the verdicts."""
    if not report.rows:
        return
    best, metric = report.rows[0], report.rank_by
    best.verdict = "best"
    tested: list[Row] = []
    for row in report.rows[1:]:
        seeds = sorted(set(best.runs) & set(row.runs))
        row.pairs = len(seeds)
        if not seeds:
            continue
        diffs = [direction * (best.runs[s].value(metric) - row.runs[s].value(metric))
                 for s in seeds]
        row.difference = stats.mean_ci(diffs)
        row.p_value = stats.sign_flip_p(diffs)
        tested.append(row)
    report.compared = len(tested)
    for row, adjusted in zip(tested, stats.holm([r.p_value or 1.0 for r in tested]),
                             strict=True):
        row.p_holm = adjusted
        if adjusted < ALPHA:
            row.verdict = "worse"
        elif len(tested) * stats.smallest_p(row.pairs) >= ALPHA:
            row.verdict = "too few seeds"
        else:
            row.verdict = "no clear difference"
    if tested:
        n = max(row.pairs for row in tested)
        m = len(tested)
        if m * stats.smallest_p(n) >= ALPHA:
            report.power_note = (
                f"With {n} paired seed{'s' if n != 1 else ''} no difference can reach "
                f"p < {ALPHA} after Holm's correction over {m} cell{'s' if m != 1 else ''}: "
                f"the smallest p the test can give is {stats.smallest_p(n):.3g} "
                f"({min(1.0, m * stats.smallest_p(n)):.3g} corrected). "
                f"{stats.seeds_needed(m, ALPHA)} seeds would be needed (--seeds).")


def target_cell(row: Row, epochs: bool = True) -> str:
    """Time to the target as a table shows it: mean over the seeds that reached it."""
    mean = row.to_target("epochs_to_target" if epochs else "seconds_to_target")
    if mean is None:
        return "never"
    text = f"{mean:.0f}" if epochs else f"{mean:.2f}"
    return text if row.reached == row.seeds else f"{text} ({row.reached}/{row.seeds})"
