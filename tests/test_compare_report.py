"""A compare's report on hand-built compare folders, nothing trained: time to a target with
runs that never reach it, exact ties, one seed, an interrupted compare, a validation split,
the robust summaries in summary.csv and equivalence within a margin. Every number is
checked against a value computed here from the raw figures (or by scipy)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from actcli.sweep import report, report_files
from actcli.sweep.executing import CellResult
from actcli.sweep.planning import Cell

KEY = "model.activation"
FINAL = ("loss", "accuracy")  # summary.json's (loss, accuracy) of a task without validation
EPOCHS = 10


def history(accuracies, losses=None, prefix=""):
    """metrics.csv rows: one an epoch, the monitored accuracy (and loss) as given."""
    losses = losses or [1.0 / e for e in range(1, len(accuracies) + 1)]
    loss_column = f"{prefix}loss" if prefix else "test_loss"
    return [{"epoch": e, "train_loss": loss, loss_column: loss, f"{prefix}accuracy": a}
            for e, (a, loss) in enumerate(zip(accuracies, losses, strict=True), 1)]


def run(accuracy, loss=0.2, curve=None, seconds=1.0):
    """One completed run: its final figures (summary.json) and its metrics.csv."""
    return {"metrics": {"loss": loss, "accuracy": accuracy},
            "history": curve or history([accuracy] * EPOCHS), "seconds": seconds}


def build(folder: Path, spec: dict[str, list[dict | None]]) -> list[CellResult]:
    """A compare folder of ``--activations <spec's keys>`` as executing.execute leaves it:
    plan.json, and for each cell and seed cells/<id>/summary.json and metrics.csv; a seed
    given as None was interrupted (its folder says so, no figures). Every cell trained
    alone (stack 1)."""
    cells = [Cell(f"activation={name}__seed{seed}", f"{KEY}={name}",
                  (f"{KEY}={name}", f"train.seed={seed}"), seed, {KEY: name})
             for name, runs in spec.items() for seed in range(len(runs))]
    folder.mkdir(parents=True)
    (folder / "plan.json").write_text(json.dumps({
        "over": {KEY: list(spec)},
        "cells": [{"id": c.id, "label": c.label, "overrides": list(c.overrides),
                   "seed": c.seed, "values": c.values} for c in cells],
        "stacks": []}))
    results = []
    for cell in cells:
        given = spec[cell.values[KEY]][cell.seed]
        where = folder / "cells" / cell.id
        where.mkdir(parents=True)
        if given is None:
            (where / "summary.json").write_text(json.dumps({
                "status": "interrupted", "metrics": {}, "seconds": 0.5, "epochs": 3}))
            results.append(CellResult(cell, "interrupted", {}, 0.0))
            continue
        rows = given["history"]
        (where / "summary.json").write_text(json.dumps({
            "status": "completed", "metrics": given["metrics"], "seconds": given["seconds"],
            "epochs": len(rows), "stack": 1}))
        columns = list(rows[0])
        (where / "metrics.csv").write_text(",".join(columns) + "\n" + "".join(
            ",".join(repr(float(row[k])) for k in columns) + "\n" for row in rows))
        results.append(CellResult(cell, "completed", dict(given["metrics"]),
                                  given["seconds"], stack=1))
    return results


def summarize(folder, results, final=FINAL, **kwargs):
    return report.summarize(folder, results, final, [KEY], **kwargs)


def by_shown(found):
    return {row.shown: row for row in found.rows}


def table_row(text, shown):
    """report.md's table line of the cell shown as ``shown``."""
    (line,) = [line for line in text.splitlines()
               if line.startswith("| ") and line.split(" | ")[1] == shown]
    return line


def reaching_at(epoch):
    """Accuracy 0.8 until ``epoch``, 0.95 from it on (None: 0.85 throughout, never 0.9)."""
    if epoch is None:
        return history([0.85] * EPOCHS)
    return history([0.8 if e < epoch else 0.95 for e in range(1, EPOCHS + 1)])


# ---- time to a target, runs that never reach it ------------------------------------------

def test_epochs_to_target_counts_a_never_reached_run_one_epoch_more_than_it_trained(tmp_path):
    reached = {"relu": [2, 3, 4], "tanh": [5, 6, None]}
    spec = {name: [run(0.95 if e else 0.85, curve=reaching_at(e)) for e in epochs]
            for name, epochs in reached.items()}
    folder = tmp_path / "compare"
    results = build(folder, spec)
    found = summarize(folder, results, target=("accuracy", 0.9), rank_by="epochs_to_target")
    assert found.target.key == "accuracy" and found.target.value == 0.9
    relu, tanh = by_shown(found)["relu"], by_shown(found)["tanh"]
    assert [relu.runs[s].epochs_to_target for s in range(3)] == [2, 3, 4]
    assert [tanh.runs[s].epochs_to_target for s in range(2)] == [5, 6]
    never = tanh.runs[2]
    assert never.epochs_to_target is None and never.epochs == EPOCHS
    assert never.value("epochs_to_target") == EPOCHS + 1
    # its seconds in proportion: 1 s for 10 epochs, so 1.1 s for the 11th
    assert never.value("seconds_to_target") == pytest.approx(1.0 * (EPOCHS + 1) / EPOCHS)
    # lower is better: relu first; tanh's time is the mean of the seeds that reached it
    assert [row.shown for row in found.rows] == ["relu", "tanh"]
    assert relu.verdict == "best"
    assert report.target_cell(relu) == "3.00"
    assert report.target_cell(tanh) == f"{(5 + 6) / 2:.2f} (2/3)" == "5.50 (2/3)"
    # the verdict: paired by seed number, best - this signed so that positive = the best
    # better; lower epochs are better, so each difference is this - best, never as 11
    told = tanh.verdicts["rank"]
    differences = [b - a for a, b in zip([2, 3, 4], [5, 6, EPOCHS + 1], strict=True)]
    assert differences == [3, 3, 7]
    assert told.pairs == 3 and told.best == relu.label
    assert told.mean == pytest.approx(sum(differences) / 3) == pytest.approx(13 / 3)
    assert found.coverage == pytest.approx(0.95)  # one look, one pair of cells
    low, high = scipy_stats.t.interval(found.coverage, 2, loc=np.mean(differences),
                                       scale=scipy_stats.sem(differences))
    assert (told.low, told.high) == pytest.approx((low, high), rel=1e-9)
    assert told.kind == ("worse" if low > 0 else "undecided")
    text = report_files.markdown(found, [])
    assert "5.50 (2/3)" in table_row(text, "tanh")


def test_a_cell_with_a_never_reached_run_ranks_below_one_whose_runs_all_reach_it(tmp_path):
    # fast: 1, 1, never (mean 13/3 with never as 11); steady: 5, 5, 5 (mean 5, every run
    # reached it). Runs that never reached it rank first: steady is best
    reached = {"relu": [1, 1, None], "tanh": [5, 5, 5]}
    spec = {name: [run(0.95 if e else 0.85, curve=reaching_at(e)) for e in epochs]
            for name, epochs in reached.items()}
    folder = tmp_path / "compare"
    found = summarize(folder, build(folder, spec), target=("accuracy", 0.9),
                      rank_by="epochs_to_target")
    fast = by_shown(found)["relu"]
    assert fast.mean_std("epochs_to_target")[0] == pytest.approx((1 + 1 + 11) / 3)
    assert (1 + 1 + 11) / 3 < 5
    assert [row.shown for row in found.rows] == ["tanh", "relu"]
    assert report.target_cell(fast) == "1.00 (2/3)"


# ---- exact ties -------------------------------------------------------------------------

def test_cells_equal_on_every_seed_are_tied_exactly_and_ordered_by_mean_loss(tmp_path):
    accuracies = [0.9, 0.92, 0.94]
    losses = {"relu": 0.30, "sigmoid": 0.25, "tanh": 0.20}  # names and losses in other orders
    spec = {name: [run(a, loss + 0.01 * seed) for seed, a in enumerate(accuracies)]
            for name, loss in losses.items()}
    folder = tmp_path / "compare"
    results = build(folder, spec)
    found = summarize(folder, results)
    order = sorted(losses, key=losses.get)
    assert order == ["tanh", "sigmoid", "relu"]
    assert [row.shown for row in found.rows] == order
    best, *others = found.rows
    assert best.verdict == "best"
    for row in others:
        assert row.verdict.startswith("tied exactly")
        told = row.verdicts["rank"]
        assert told.kind == "tied" and told.pairs == 3 and told.mean == 0
        assert told.interval() == "0 (every seed)"
        assert row.tie.startswith("ties tanh on accuracy") and "mean loss" in row.tie
    (line,) = found.ties
    mean = sum(accuracies) / 3
    assert line.startswith(f"equal mean accuracy ({mean:.6g}): tanh, sigmoid, relu")
    assert "ordered by their mean loss (the tie-break: " in line
    losses_shown = [f"{losses[n] + 0.01:.6g}" for n in order]  # mean of loss + 0, .01, .02
    assert ", ".join(losses_shown) in line
    report_files.write(folder, results, found)
    text = (folder / "report.md").read_text()
    assert f"- Equal mean accuracy ({mean:.6g}): tanh, sigmoid, relu" in text
    assert "tied exactly" in table_row(text, "relu")


# ---- one seed ---------------------------------------------------------------------------

def test_a_cell_of_one_seed_shows_n_1_and_never_a_spread_of_zero(tmp_path):
    spec = {"relu": [run(0.9, 0.31), run(0.95, 0.22), run(0.93, 0.27)],
            "tanh": [run(0.91, 0.3)]}
    folder = tmp_path / "compare"
    results = build(folder, spec)
    found = summarize(folder, results)
    relu, tanh = by_shown(found)["relu"], by_shown(found)["tanh"]
    assert tanh.seeds == 1 and tanh.complete
    assert tanh.spread("accuracy") == "0.9100 (n=1)"
    assert tanh.spread("loss") == "0.3000 (n=1)"
    mean, std = np.mean([0.9, 0.95, 0.93]), np.std([0.9, 0.95, 0.93], ddof=1)
    assert relu.spread("accuracy") == f"{mean:.4f} ± {std:.4f}"
    # relu is best; tanh pairs with it on seed 0 only: no interval from one difference
    told = tanh.verdicts["rank"]
    assert told.pairs == 1 and told.mean == pytest.approx(0.9 - 0.91)
    assert math.isnan(told.low) and "(n=1)" in told.interval()
    assert tanh.verdict == "undecided (1 seed)"
    report_files.write(folder, results, found)
    text = (folder / "report.md").read_text()
    assert "± 0.0000" not in text
    assert "0.9100 (n=1)" in table_row(text, "tanh")


# ---- an interrupted compare -------------------------------------------------------------

def test_an_interrupted_cell_is_listed_last_unranked_and_never_best(tmp_path):
    spec = {"relu": [run(0.90), run(0.91), run(0.92)],
            "tanh": [run(0.99), run(0.99), None]}  # higher, but its seed 2 was interrupted
    folder = tmp_path / "compare"
    results = build(folder, spec)
    found = summarize(folder, results)
    relu, tanh = by_shown(found)["relu"], by_shown(found)["tanh"]
    assert tanh.mean_std("accuracy")[0] > relu.mean_std("accuracy")[0]
    assert [row.shown for row in found.rows] == ["relu", "tanh"]
    assert found.best("rank") is relu and relu.verdict == "best"
    assert not tanh.complete and tanh.verdict.startswith("incomplete")
    assert tanh.verdict == "incomplete (2/3 seeds ran)"
    assert [r.cell.id for r in found.failures] == ["activation=tanh__seed2"]
    files = report_files.write(folder, results, found)
    text = (folder / "report.md").read_text()
    assert "**1 of 2 cells are complete**" in text
    assert table_row(text, "relu").startswith("| 1 | relu |")
    assert table_row(text, "tanh").startswith("| - | tanh |")  # no rank number
    assert "incomplete (2/3 seeds ran)" in table_row(text, "tanh")
    assert "- model.activation=tanh, seed 2: interrupted" in text
    assert all((folder / name).exists() for name in files)


# ---- a validation split -----------------------------------------------------------------

def test_with_a_validation_split_cells_rank_by_validation_and_show_test_beside(tmp_path):
    final = ("test_loss", "test_accuracy")

    def validated(val, val_losses, best_epoch, test):
        rows = history(val, val_losses, prefix="val_")
        return {"metrics": {"test_loss": 0.3, "test_accuracy": test,
                            "val_accuracy": val[best_epoch - 1], "best_epoch": best_epoch},
                "history": rows, "seconds": 1.0}

    # relu: better on validation (best 0.97 at epoch 3), worse on test (0.90)
    relu = [validated([0.9, 0.95, 0.97, 0.96], [0.5, 0.4, 0.3, 0.35], 3, 0.90),
            validated([0.9, 0.96, 0.97, 0.95], [0.5, 0.4, 0.32, 0.38], 3, 0.91)]
    tanh = [validated([0.9, 0.95, 0.94, 0.93], [0.5, 0.42, 0.45, 0.47], 2, 0.93),
            validated([0.9, 0.95, 0.93, 0.92], [0.5, 0.41, 0.44, 0.46], 2, 0.94)]
    folder = tmp_path / "compare"
    results = build(folder, {"relu": relu, "tanh": tanh})
    found = summarize(folder, results, final=final)
    assert (found.accuracy_name, found.loss_name, found.test_name) == \
        ("val_accuracy", "val_loss", "test_accuracy")
    assert [row.shown for row in found.rows] == ["relu", "tanh"]
    first = found.rows[0].runs[0]
    # the kept model's figures: the best validation epoch's, not the last
    assert (first.accuracy, first.loss, first.test) == (0.97, 0.3, 0.90)
    assert found.rows[1].runs[1].loss == 0.41
    assert found.rows[0].mean_std("test")[0] < found.rows[1].mean_std("test")[0]
    files = report_files.write(folder, results, found)
    text = (folder / "report.md").read_text()
    assert "test_accuracy (mean ± std)" in text and "val_accuracy (mean ± std)" in text
    assert f"{np.mean([0.90, 0.91]):.4f} ± {np.std([0.90, 0.91], ddof=1):.4f}" in \
        table_row(text, "relu")
    with open(folder / "summary.csv", newline="") as handle:
        rows = {row["cell"]: row for row in csv.DictReader(handle)}
    assert float(rows["activation=relu__seed0"]["val_accuracy"]) == 0.97
    assert float(rows["activation=relu__seed0"]["test_accuracy"]) == 0.90
    assert "summary.csv" in files


# ---- the robust summaries ---------------------------------------------------------------

def test_summary_csv_has_each_cells_iqm_and_its_chance_of_beating_the_best(tmp_path):
    scores = {"relu": [0.95, 0.97, 0.90, 0.99, 0.96],
              "tanh": [0.93, 0.97, 0.91, 0.95, 0.80]}
    folder = tmp_path / "compare"
    results = build(folder, {name: [run(a) for a in values]
                             for name, values in scores.items()})
    found = summarize(folder, results)
    assert found.rows[0].shown == "relu"
    files = report_files.write(folder, results, found)
    with open(folder / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10
    # tanh against the best: every (tanh, relu) pair of seeds, ties counting half
    pairs = [(t, r) for t in scores["tanh"] for r in scores["relu"]]
    share = sum(1.0 if t > r else 0.5 if t == r else 0.0 for t, r in pairs) / len(pairs)
    # 0.93, 0.91 beat 0.90; 0.97 beats 0.95, 0.90, 0.96 and ties 0.97; 0.95 beats 0.90
    # and ties 0.95
    assert share == pytest.approx((1 + 1 + 3 + 0.5 + 1 + 0.5) / 25)
    for row in rows:
        name = row["label"].split("=")[1]
        assert float(row["cell_iqm"]) == pytest.approx(
            scipy_stats.trim_mean(scores[name], 0.25), rel=1e-12)
        low, high = float(row["cell_iqm_low"]), float(row["cell_iqm_high"])
        assert min(scores[name]) <= low <= float(row["cell_iqm"]) <= high <= max(scores[name])
        if name == "tanh":
            assert float(row["p_beats_best"]) == pytest.approx(share, rel=1e-12)
        else:  # the best is not compared with itself
            assert row["p_beats_best"] in ("", "nan")
    assert "seeds.png" in files
    assert (folder / "seeds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- equivalence within a margin --------------------------------------------------------

def test_a_margin_just_beyond_the_intervals_reach_is_equivalence_just_short_undecided(
        tmp_path):
    scores = {"relu": [0.950, 0.960, 0.970, 0.980],
              "tanh": [0.949, 0.958, 0.972, 0.975],
              "sigmoid": [0.70, 0.72, 0.75, 0.71]}
    folder = tmp_path / "compare"
    results = build(folder, {name: [run(a) for a in values]
                             for name, values in scores.items()})
    differences = [r - t for r, t in zip(scores["relu"], scores["tanh"], strict=True)]

    def verdict(margin):
        found = summarize(folder, results, margins={"accuracy": margin})
        assert found.rows[0].shown == "relu"
        # three cells: three pairs, one metric, one look: alpha 0.05 spent over 3
        assert found.coverage == pytest.approx(1 - 0.05 / 3)
        return found, by_shown(found)["tanh"]

    found, _ = verdict(0.0)
    low, high = scipy_stats.t.interval(found.coverage, len(differences) - 1,
                                       loc=np.mean(differences),
                                       scale=scipy_stats.sem(differences))
    assert low < 0 < high  # not worse: only a margin can decide it
    reach = max(-low, high)
    above, below = reach * (1 + 1e-6), reach * (1 - 1e-6)
    found, tanh = verdict(above)
    assert tanh.verdicts["rank"].kind == "equivalent"
    assert tanh.verdict == f"equivalent within ±{above:g} (4 seeds)"
    assert "equivalent within ±" in table_row(report_files.markdown(found, []), "tanh")
    found, tanh = verdict(below)
    assert tanh.verdict == "undecided (4 seeds)"
    assert by_shown(found)["sigmoid"].verdict == "worse (4 seeds)"  # 0.2 and more below
