"""A compare folder's results: mean ± std over seeds, ties with the best, files and pictures."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from actcli import plots, runs, stats
from actcli.compare import CellResult

ALPHA = 0.05  # a cell is "tied" with the best when the paired test gives p >= ALPHA


@dataclass
class Row:
    label: str
    seeds: int  # completed seeds
    accuracy: tuple[float, float]  # mean, std
    loss: tuple[float, float]
    seconds: float
    tied: bool | None = None  # None: fewer than 3 seeds, no test
    p_value: float | None = None
    values: list[float] = field(default_factory=list)  # accuracy per seed, seed order
    shown: str = ""  # the label as tables show it


@dataclass
class Report:
    rows: list[Row]  # best first
    accuracy_name: str
    loss_name: str
    failures: list[CellResult]
    tested: bool
    tuned_lr: dict[str, float] = field(default_factory=dict)  # label -> lr (--tune-lr)


def _names(results: list[CellResult]) -> tuple[str, str]:
    for r in results:
        if "test_accuracy" in r.metrics:
            return "test_accuracy", "test_loss"
    return "accuracy", "loss"


def summarize(results: list[CellResult], tuned_lr: dict[str, float] | None = None) -> Report:
    accuracy_name, loss_name = _names(results)
    by_label: dict[str, list[CellResult]] = defaultdict(list)
    for r in results:
        if r.status == "completed":
            by_label[r.cell.label].append(r)
    rows = []
    for label, done in by_label.items():
        done.sort(key=lambda r: r.cell.seed)
        acc = [float(r.metrics[accuracy_name]) for r in done]
        loss = [float(r.metrics[loss_name]) for r in done]
        rows.append(Row(label, len(done), stats.mean_std(acc), stats.mean_std(loss),
                        float(np.mean([r.seconds for r in done])), values=acc))
    rows.sort(key=lambda row: (-row.accuracy[0], row.loss[0]))
    keys = {row.label.split("=", 1)[0] for row in rows}
    if len(keys) == 1 and all(", " not in row.label for row in rows):
        for row in rows:  # one key varies: its values say it all
            row.shown = row.label.split("=", 1)[1]
    for row in rows:
        row.shown = row.shown or row.label
    tested = bool(rows) and rows[0].seeds >= 3
    if tested:
        best = rows[0]
        for row in rows:
            if row is best:
                row.tied, row.p_value = True, 1.0
            elif row.seeds == best.seeds:
                _, p = stats.paired_t_test(best.values, row.values)
                row.tied, row.p_value = p >= ALPHA, p
    failures = [r for r in results if r.status != "completed"]
    return Report(rows, accuracy_name, loss_name, failures, tested, dict(tuned_lr or {}))


def write(folder: Path, results: list[CellResult], report: Report) -> list[str]:
    """summary.csv, report.md and the pictures; returns the files written."""
    table = [{"cell": r.cell.id, "label": r.cell.label, "seed": r.cell.seed,
              "status": r.status, report.accuracy_name: r.metrics.get(report.accuracy_name),
              report.loss_name: r.metrics.get(report.loss_name), "seconds": r.seconds,
              "error": r.error} for r in results]
    runs.write_csv(folder / "summary.csv", table)
    files = ["summary.csv"]
    curves = _curves(folder, results, report)
    if curves:
        runs.save_figure(plots.compare_curves(curves), folder / "curves.png")
        files.append("curves.png")
    if report.rows:
        runs.save_figure(plots.compare_bars(
            [r.label for r in report.rows], [r.accuracy for r in report.rows],
            report.accuracy_name), folder / "bars.png")
        files.append("bars.png")
    flow = _gradient_flow(folder, results)
    if flow:
        runs.save_figure(plots.gradient_flow(flow), folder / "gradient_flow.png")
        files.append("gradient_flow.png")
    activations = _activations(results)
    if activations:
        from actcli import curves as curves_mod

        shown = [curves_mod.evaluate(name, -4, 4) for name in activations]
        runs.save_figure(plots.activation_curves(shown, grad=True), folder / "activations.png")
        files.append("activations.png")
    runs.write_text(folder / "report.md", markdown(report, files))
    return [*files, "report.md"]


def markdown(report: Report, pictures: list[str]) -> str:
    out = io.StringIO()
    out.write("# actcli compare\n\n")
    if report.rows and report.rows[0].shown != report.rows[0].label:
        out.write(f"Varied: `{report.rows[0].label.split('=', 1)[0]}`.\n\n")
    acc, loss = report.accuracy_name, report.loss_name
    lr_head = " lr (range test) |" if report.tuned_lr else ""
    out.write(f"| rank | cell | seeds | {acc} (mean ± std) | {loss} (mean ± std) | s/run |"
              f" tied with best |{lr_head}\n|---|---|---|---|---|---|---|"
              f"{'---|' if lr_head else ''}\n")
    for i, row in enumerate(report.rows, 1):
        tie = "-" if row.tied is None else (f"yes (p={row.p_value:.3f})" if row.tied and i > 1
                                            else "best" if i == 1 else f"no (p={row.p_value:.3g})")
        out.write(f"| {i} | {row.shown} | {row.seeds} | {row.accuracy[0]:.4f} ± "
                  f"{row.accuracy[1]:.4f} | {row.loss[0]:.4f} ± {row.loss[1]:.4f} | "
                  f"{row.seconds:.1f} | {tie} |"
                  f"{f' {report.tuned_lr[row.label]:g} |' if report.tuned_lr else ''}\n")
    out.write("\n")
    if report.tuned_lr:
        out.write("Each cell ran at its own learning rate: a range test from its seed-0 "
                  "network picked the lr at the smoothed-loss minimum divided by 10 "
                  "(lr_range_test.png).\n\n")
    if report.tested:
        out.write(f"Ties: a two-sided paired t-test over seeds (same seed, same data split and "
                  f"initialisation stream) of each cell against the best; p >= {ALPHA} counts "
                  "as statistically tied.\n\n")
    else:
        out.write("Fewer than 3 seeds: no test of ties; differences may be noise.\n\n")
    for picture in pictures:
        if picture.endswith(".png"):
            out.write(f"![{picture}]({picture})\n\n")
    if report.failures:
        out.write("## Not completed\n\n")
        for r in report.failures:
            out.write(f"- {r.cell.label}, seed {r.cell.seed}: {r.status}"
                      f"{': ' + r.error if r.error else ''}\n")
    return out.getvalue()


def _curves(folder: Path, results: list[CellResult], report: Report) -> dict[str, Any]:
    """label -> (epochs, mean, std) of the monitored accuracy over the completed seeds."""
    by_label: dict[str, list[list[dict[str, float]]]] = defaultdict(list)
    for r in results:
        if r.status == "completed":
            path = folder / "cells" / r.cell.id / "metrics.csv"
            by_label[r.cell.label].append(runs.read_rows(path))
    found = {}
    for label, histories in by_label.items():
        key = "val_accuracy" if "val_accuracy" in histories[0][0] else "accuracy"
        length = min(len(h) for h in histories)
        values = np.array([[row[key] for row in h[:length]] for h in histories])
        epochs = np.array([row["epoch"] for row in histories[0][:length]])
        found[label] = (epochs, values.mean(axis=0), values.std(axis=0), key)
    return found


def _gradient_flow(folder: Path, results: list[CellResult]) -> dict[str, Any]:
    """label -> mean gradient norm per layer over the logged epochs and seeds."""
    by_label: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in results:
        if r.status != "completed":
            continue
        rows = runs.read_rows(folder / "cells" / r.cell.id / "diagnostics.csv")
        keys = [k for k in rows[0] if k.startswith("grad_norm/")] if rows else []
        if keys:
            by_label[r.cell.label].append(np.array([[row[k] for k in keys] for row in rows]
                                                   ).mean(axis=0))
    return {label: np.mean(v, axis=0) for label, v in by_label.items()
            if len({len(x) for x in v}) == 1}


def _activations(results: list[CellResult]) -> list[str]:
    names = []
    for r in results:
        for item in r.cell.overrides:
            key, _, value = item.partition("=")
            if key == "model.activation" and value.isidentifier() and value not in names:
                names.append(value)
    return names
