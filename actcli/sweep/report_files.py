"""A compare's report files: summary.csv, report.md and the compare's own pictures."""

from __future__ import annotations

import io
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from actcli import folders, plots
from actcli.plots.compare import NAMED
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import flow, stacks
from actcli.sweep.report import RANKED, Report, describe, monitored, robust_summary, target_cell

LISTED = 8  # report.md names at most this many cells of a stack, and this many stacks


def write(folder: Path, results: list[CellResult], report: Report, *, plane: bool = False,
          decide: str = "", robust: dict[str, tuple[float, float, float, float]] | None = None
          ) -> list[str]:
    """summary.csv, report.md and the pictures; returns the files written. ``plane``: the
    task is 2-D, so decision_maps.png shows each cell's decision map. ``robust``:
    :func:`robust_summaries` of ``report`` when the caller has them (else computed).

    Each cell's files are read once: its metrics.csv by :func:`report.summarize`
    (``report`` holds what it says), its diagnostics.csv here; what its summary.json says
    (the models it trained with: ``stack``) comes with its result.
    A compare of more than NAMED cells names its best NAMED in each figure and shows the
    others in grey or by their rank."""
    by_id = {run.cell_id: run for row in report.rows for run in row.runs.values()}
    rows_of = {run.cell_id: row for row in report.rows for run in row.runs.values()}
    robust = robust_summaries(report) if robust is None else robust
    sizes = {r.cell.id: r.stack for r in results}  # None: the cell did not run
    table = []
    for r in results:
        run, row = by_id.get(r.cell.id), rows_of.get(r.cell.id)
        middle, low, high, beats = robust.get(row.label if row else "", (None,) * 4)
        split = {report.accuracy_name: run.accuracy if run else None,
                 report.loss_name: _round(run.loss, 6) if run else None}
        if report.test_name:
            split[report.test_name] = r.metrics.get(report.test_name)
        table.append({
            "cell": r.cell.id, "label": r.cell.label, "seed": r.cell.seed, "status": r.status,
            **split, "seconds": r.seconds,
            "epochs_to_target": run.epochs_to_target if run else None,
            "seconds_to_target": _round(run.seconds_to_target) if run else None,
            "stack": sizes[r.cell.id], "error": r.error,
            # the cell's, on every one of its rows: the ranked metric's interquartile mean,
            # its bootstrap 95% interval, the probability of beating the best on a random
            # pair of seeds, and its verdict
            "cell_iqm": middle, "cell_iqm_low": low, "cell_iqm_high": high,
            "p_beats_best": beats, "verdict": row.verdict if row else r.status,
            **{f"set:{k}": csv_value(v) for k, v in r.cell.values.items()},
        })
    folders.write_csv(folder / "summary.csv", table)
    files = ["summary.csv"]
    colors = _colors(results, report)
    curves = _curves(report)
    if curves:
        folders.save_figure(plots.compare_curves(
            curves, report.target.value if report.target and report.target.metric ==
            "accuracy" else None, colors=colors, named=NAMED), folder / "curves.png")
        files.append("curves.png")
    if report.rows:
        folders.save_figure(plots.compare_bars(
            [r.shown for r in report.rows],
            [r.mean_std("accuracy") for r in report.rows], report.accuracy_name,
            named=NAMED), folder / "bars.png")
        files.append("bars.png")
    ranked = report.complete
    if ranked:
        folders.save_figure(plots.seed_scores(
            [r.shown for r in ranked], [list(r.values(report.rank_by).values()) for r in ranked],
            report.name(report.rank_by), [robust[r.label][:3] for r in ranked], named=NAMED),
            folder / "seeds.png")
        files.append("seeds.png")
    if report.target is not None and report.rows:
        folders.save_figure(plots.time_to_target(
            [r.shown for r in report.rows],
            [[run.epochs_to_target for run in r.runs.values()] for r in report.rows],
            report.target.describe(), named=NAMED), folder / "to_target.png")
        files.append("to_target.png")
    flow = _gradient_flow(folder, results, report)
    if flow:
        folders.save_figure(plots.gradient_flow(flow, colors=colors, named=NAMED),
                         folder / "gradient_flow.png")
        files.append("gradient_flow.png")
    maps = _decision_maps(folder, report) if plane else None
    if maps is not None:
        folders.save_figure(maps, folder / "decision_maps.png")
        files.append("decision_maps.png")
    activations = _activations(results)
    if activations:
        from actcli.inspection import curves as curves_mod

        shown = [curves_mod.evaluate(name, -4, 4) for name in activations]
        folders.save_figure(plots.activation_curves(shown, grad=True), folder / "activations.png")
        files.append("activations.png")
    folders.write_text(folder / "report.md",
                    markdown(report, files, _training(folder, results, sizes), decide=decide,
                             robust=robust))
    return [*files, "report.md"]


def _colors(results: list[CellResult], report: Report) -> dict[str, str]:
    """A colour per cell (as tables show it) for every picture of the compare: in plan
    order, so that a cell keeps its colour in curves.png and gradient_flow.png whatever the
    ranking, and when only the activation varies it is its colour in activations.png
    (which draws the activations in plan order too). Past NAMED cells only the best are
    drawn in colour: colours go by rank, so that they take the most distinct ones."""
    shown = list(dict.fromkeys(r.cell.shown(report.varied) for r in results))
    if len(shown) > NAMED:
        shown = [row.shown for row in report.rows]
    return dict(zip(shown, plots.series_colors(len(shown)), strict=True))


def _training(folder: Path, results: list[CellResult], sizes: dict[str, int | None]) -> str:
    """Which cells trained together (``sizes``: each cell's stack, None if it did not
    run), in one paragraph for report.md."""
    ran = [r for r in results if sizes[r.cell.id] is not None]
    together = [r for r in ran if (sizes[r.cell.id] or 1) > 1]
    if not together:
        return (f"Training. Every cell trained alone ({len(ran)} runs)."
                if ran else "")
    shown = {r.cell.id: f"{r.cell.label}, seed {r.cell.seed}" for r in results}
    groups = []
    for ids in stacks(folder):
        members = [i for i in ids if sizes.get(i) not in (None, 1)]
        if members:
            named = "; ".join(shown[i] for i in members[:LISTED])
            more = f"; and {len(members) - LISTED} more" if len(members) > LISTED else ""
            groups.append(f"{len(members)} ({named}{more})")
    alone = len(ran) - len(together)
    listed = ", ".join(groups[:LISTED]) + (
        f", and {len(groups) - LISTED} more (plan.json)" if len(groups) > LISTED else "")
    return (f"Training. Cells that share a network shape trained together as one stacked "
            f"model (plan.json `stacks`; each cell's summary.json gives `stack`, the number "
            f"of models it trained with): {len(groups)} stack(s) of "
            f"{listed}" + (f"; {alone} cell(s) alone" if alone else "") +
            ". A stacked cell's seconds are its share of its stack's wall time "
            "(`stack_seconds` / `stack`), so they compare the cells' epochs, not the cost of "
            "their activations; `--no-fuse` trains every cell alone and times each.")


def csv_value(value: Any) -> Any:
    """A varied value as one CSV cell: scalars as they are, lists and mappings as YAML."""
    return value if isinstance(value, str | int | float | bool) else flow(value)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def robust_summaries(report: Report) -> dict[str, tuple[float, float, float, float]]:
    """label -> (IQM, low, high, P(beats the best)) of the ranked metric, complete cells."""
    best = report.best(RANKED)
    return {row.label: robust_summary(row, best, report.rank_by) for row in report.complete}


def markdown(report: Report, pictures: list[str], training: str = "",
             title: str = "# actcli compare", decide: str = "",
             robust: dict[str, tuple[float, float, float, float]] | None = None) -> str:
    """report.md: the table, what the verdicts rest on, how the cells trained, the pictures.
    ``decide``: a deciding compare's paragraph (its rounds and why it stopped); ``robust``:
    :func:`robust_summaries` of ``report`` when the caller has them (else computed)."""
    out = io.StringIO()
    out.write(f"{title}\n\n")
    if report.varied:
        out.write(f"Varied: {', '.join(f'`{k}`' for k in report.varied)}. Ranked by "
                  f"`{report.name(report.rank_by)}`.\n\n")
    if report.target is not None:
        out.write(f"Target: {report.target.describe()}.\n\n")
    complete = len(report.complete)
    if complete < report.cells:
        out.write(f"**{complete} of {report.cells} cells are complete** (every planned seed "
                  f"trained); the best is named among those only, the others are listed "
                  f"last as incomplete.\n\n")
    if decide:
        out.write(f"{decide}\n\n")
    out.write(_table(report, robust_summaries(report) if robust is None else robust))
    for line in report.ties:
        out.write(f"- {line[0].upper()}{line[1:]}.\n")
    out.write("\n" if report.ties else "")
    if report.tuned_lr:
        out.write("Each cell ran at its own learning rate: a range test from its seed-0 "
                  "network picked the lr at the smoothed-loss minimum divided by 10 "
                  "(lr_range_test.png).\n\n")
    out.write(method(report) + "\n\n")
    if training:
        out.write(f"{training}\n\n")
    if report.time_note:
        out.write(f"**{report.time_note}**\n\n")
    if report.note:
        out.write(f"**{report.note}**\n\n")
    for picture in pictures:
        if picture.endswith(".png"):
            out.write(f"![{picture}]({picture})\n\n")
    if report.failures:
        out.write("## Not completed\n\n")
        for r in report.failures:
            out.write(f"- {r.cell.label}, seed {r.cell.seed}: {r.status}"
                      f"{': ' + r.error if r.error else ''}\n")
    return out.getvalue()


def _table(report: Report, robust: dict[str, tuple[float, float, float, float]]) -> str:
    """The ranking as a Markdown table: one row a cell, best first."""
    acc, loss, metric = report.accuracy_name, report.loss_name, report.name(report.rank_by)
    extra = [m for m in report.decided if m != report.rank_by]
    heads = ["rank", "cell", "seeds", f"{acc} (mean ± std)"]
    heads += [f"{report.test_name} (mean ± std)"] if report.test_name else []
    heads += [f"{loss} (mean ± std)", "epochs to target", "s to target", "s/run"]
    heads += [f"{metric} IQM [95% CI]", "P(beats best)",
              f"best − this [{report.coverage:.4%} CI]", "verdict"]
    heads += [f"{report.name(m)}: verdict, best − this" for m in extra]
    heads += ["lr (range test)"] if report.tuned_lr else []
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for i, row in enumerate(report.rows, 1):
        done = row.complete
        middle, low, high, beats = robust.get(row.label, (math.nan,) * 4)
        verdict = row.verdicts.get(RANKED)
        cells = [str(i) if done else "-", row.shown, str(row.seeds),
                 row.spread("accuracy") if row.runs else "-"]
        if report.test_name:
            cells.append(row.spread("test") if row.runs else "-")
        cells += [row.spread("loss") if row.runs else "-", target_cell(row) if row.runs
                  else "-", target_cell(row, epochs=False) if row.runs else "-",
                  f"{row.mean_std('seconds')[0]:.1f}" if row.runs else "-"]
        cells += ["-", "-"] if not done else [
            f"{middle:.4g} [{low:.4g}, {high:.4g}]",
            "-" if math.isnan(beats) else f"{beats:.2f}"]
        cells += [verdict.interval() if verdict else "-", row.verdict]
        cells += [row.verdict_on(m, interval=True) for m in extra]
        if report.tuned_lr:
            cells.append(f"{report.tuned_lr[row.label]:g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n"


def method(report: Report) -> str:
    """What the verdicts rest on, in one paragraph."""
    told = describe(report)
    margins = ", ".join(f"`{report.name(m)}` ±{v:g}" for m, v in report.margins.items())
    return (
        f"Method. Each cell is compared with the best one seed by seed: runs with the same "
        f"seed number share their data and initialisation stream, so each pair gives one "
        f"difference (best − this, signed so that positive means the best is better; a seed "
        f"missing in either cell is left out). Verdicts: {told['procedure']} "
        f"({told['looks']} look{'s' if told['looks'] != 1 else ''} x "
        f"{told['comparisons']} comparisons at alpha {told['alpha']}: each interval covers "
        f"{told['coverage']:.4%}). With probability at least {1 - told['alpha']:.0%} every "
        f"interval covers its true difference at once, so every verdict holds together, "
        f"however many looks the compare took and whichever cell led at each. A cell is "
        f"`worse` when its interval lies above 0, `equivalent` when it lies inside the "
        f"margin ({margins or 'none given: --margin'}), `tied exactly` when it equals the "
        f"best on every seed, else `undecided`. The t interval assumes roughly normal mean "
        f"differences; equal non-zero differences on every seed give none (undecided). "
        f"Runs that never reached the target count one epoch more than they trained. "
        f"Ranking: the mean; exact ties are named, and ordered by the lower mean loss, then "
        f"by name. IQM: the interquartile mean of the cell's seeds (25% trimmed each side) "
        f"with a percentile-bootstrap 95% interval; P(beats best): the share of seed pairs "
        f"(this, best) in which this cell is better (ties count half), as Agarwal et al., "
        f"NeurIPS 2021 (rliable) recommend for few runs.")


def _curves(report: Report) -> dict[str, Any]:
    """shown label -> (epochs, mean, std, key) of the monitored accuracy over the seeds."""
    found = {}
    for row in report.rows:
        histories = [run.history for run in row.runs.values() if run.history]
        if not histories:
            continue
        key = monitored(histories[0])[0]
        length = min(len(h) for h in histories)
        values = np.array([[r[key] for r in h[:length]] for h in histories])
        epochs = np.array([r["epoch"] for r in histories[0][:length]])
        found[row.shown] = (epochs, values.mean(axis=0), values.std(axis=0), key)
    return found


def _gradient_flow(folder: Path, results: list[CellResult], report: Report
                   ) -> dict[str, Any]:
    """shown label -> mean gradient norm per layer over the logged epochs and seeds, best
    cell first."""
    shown = {row.label: row.shown for row in report.rows}
    by_label: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in results:
        if r.status != "completed":
            continue
        rows = folders.read_rows(folder / "cells" / r.cell.id / "diagnostics.csv")
        keys = [k for k in rows[0] if k.startswith("grad_norm/")] if rows else []
        if keys:
            by_label[shown[r.cell.label]].append(
                np.array([[row[k] for k in keys] for row in rows]).mean(axis=0))
    return {row.shown: np.mean(by_label[row.shown], axis=0) for row in report.rows
            if row.shown in by_label and len({len(x) for x in by_label[row.shown]}) == 1}


def _activations(results: list[CellResult]) -> list[Any]:
    """The activations a compare varies (a name, a formula, a Python reference or a mapping
    with options, as the plan has them), in plan order."""
    found: dict[str, Any] = {}
    for r in results:
        value = r.cell.values.get("model.activation")
        if isinstance(value, str | dict):
            found.setdefault(json.dumps(value, sort_keys=True), value)
    return list(found.values())


def is_plane(task: str) -> bool:
    """Whether task ``task`` is 2-D (its picture is a decision map)."""
    from actcli.tasks import TASKS
    from actcli.tasks.base import PlanePicture

    return TASKS.get(task).task.picture_type is PlanePicture


def _decision_maps(folder: Path, report: Report) -> Any:  # a Figure, or None
    """A 2-D task's decision maps side by side, one per cell (its lowest seed's model), in
    the report's order: the Figure, or None when the task is not 2-D (or nothing ran)."""
    import torch

    from actcli.inspection import predict
    from actcli.tasks.base import PlanePicture

    maps, titles, points, grids = [], [], [], []
    data_of: dict[str, Any] = {}  # task options -> the task's data (the grid, the points)
    for row in report.rows[:NAMED]:
        run = row.runs[min(row.runs)]
        loaded = predict.load(folder / "cells" / run.cell_id)
        task = loaded.task
        if task.picture_type is not PlanePicture:
            return None
        options = loaded.config.task
        key = options.model_dump_json()
        if key not in data_of:
            data_of[key] = task.load(options)
        data = data_of[key]

        def score(x: torch.Tensor, loaded: Any = loaded) -> torch.Tensor:
            with torch.inference_mode():
                return loaded.score(loaded.net(x))

        picture = task.picture(options, data, score)
        maps.append(picture.values)
        points.append(plots.PlanePoints(picture.train_x, picture.train_y))
        titles.append(f"{row.shown} (seed {run.seed}): {run.accuracy:.3f}")
        grids.append(plots.PlaneGrid(picture.xs, picture.ys))
        regression = picture.regression
    if not maps:
        return None
    # each cell's own grid and points (cells may differ in set, noise, count)
    return plots.decision_grid(grids, maps, titles, points, regression=regression)
