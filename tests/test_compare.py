"""compare: the grid, cells as run folders, resume, failures, parallel workers, the report."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from scipy import stats as scipy_stats

from actcli import config
from actcli.cli.compare import parse_over, parse_target
from actcli.errors import ActcliError, ConfigError
from actcli.sweep import compare, executing, planning, report, report_files, sequential

from helpers import CONFIGS

FAST = ["model.hidden=[4]", "train.epochs=30"]


def create(*args, **kwargs):
    """planning.create, as (folder, cells)."""
    made = planning.create(*args, **kwargs)
    return made.folder, made.cells


def test_parse_over_reads_yaml_values():
    grid = parse_over(["model.activation=relu,tanh", "model.hidden=[8,8],[16]",
                               "model.init={name: constant, value: 5},zeros"])
    assert grid == {"model.activation": ["relu", "tanh"], "model.hidden": [[8, 8], [16]],
                    "model.init": [{"name": "constant", "value": 5}, "zeros"]}
    for bad in ("model.activation", "=relu", "x="):
        with pytest.raises(ConfigError, match="expected KEY=v1,v2"):
            parse_over([bad])


def test_plan_is_the_grid_times_seeds():
    cells = planning.expand({"model.activation": ["relu", "tanh"], "optimizer.lr": [0.1, 0.01]}, 3)
    assert len(cells) == 12 and len({c.id for c in cells}) == 12
    first = cells[0]
    assert first.overrides == ("model.activation=relu", "optimizer.lr=0.1", "train.seed=0")
    assert first.label == "model.activation=relu, optimizer.lr=0.1"
    assert [c.seed for c in cells[:3]] == [0, 1, 2]


def test_a_bad_cell_is_rejected_before_anything_runs(tmp_path):
    grid = parse_over(["model.activation=relu,relux"])
    with pytest.raises(ConfigError, match="cell model.activation=relux.*did you mean 'relu'"):
        create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_cells_are_runs_and_resume_runs_only_what_is_missing(tmp_path):
    grid = {"model.activation": ["relu", "tanh"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 2, tmp_path)
    results = executing.execute(folder, cells)
    assert [r.status for r in results] == ["completed"] * 4
    for cell in cells:
        summary = json.loads((folder / "cells" / cell.id / "summary.json").read_text())
        assert summary["seed"] == cell.seed and summary["status"] == "completed"
    shutil.rmtree(folder / "cells" / cells[1].id)
    seen = []
    again = executing.execute(folder, planning.load(folder).cells, on_done=seen.append)
    assert [r.cell.id for r in seen] == [cells[1].id]  # only the missing cell ran
    # and gave the same numbers: it trained in a stack of one, not of four, so the batched
    # products may differ in the last bits (the stack-against-alone tolerance)
    assert again[1].metrics == pytest.approx(results[1].metrics, rel=1e-5)


def test_without_fusing_a_resumed_cell_gives_bit_identical_numbers(tmp_path):
    grid = {"model.activation": ["relu", "tanh"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 2, tmp_path)
    alone = planning.Execution(fuse=False)
    results = executing.execute(folder, cells, alone)
    assert all(json.loads((folder / "cells" / c.id / "summary.json").read_text())["stack"] == 1
               for c in cells)
    assert [r.stack for r in results] == [1] * 4  # the result says it, as the folder does
    shutil.rmtree(folder / "cells" / cells[1].id)
    again = executing.execute(folder, cells, alone)
    assert again[1].metrics == results[1].metrics
    assert [r.stack for r in again] == [1] * 4  # those completed before: from summary.json


def test_a_failing_cell_does_not_stop_the_others_unless_fail_fast(tmp_path):
    # lr 100 with an identity output and mse diverges; the other cell completes
    base = [*FAST, "model.output=identity", "loss=mse", "optimizer=sgd"]
    grid = {"optimizer.lr": [100, 0.01]}
    folder, cells = create(CONFIGS / "beans.yaml", base, grid, 1, tmp_path / "a")
    results = executing.execute(folder, cells)  # one stack: the diverging model stops alone
    assert [r.status for r in results] == ["diverged", "completed"]
    assert "not finite" in results[0].error
    assert [r.stack for r in results] == [2, 2]
    alone = planning.Execution(fuse=False)
    folder, cells = create(CONFIGS / "beans.yaml", base, grid, 1, tmp_path / "b")
    unfused = executing.execute(folder, cells, alone)
    # nothing of the diverged model reached the other through the stack
    numbers = {k: v for k, v in results[1].metrics.items() if v is not None}
    assert {k: v for k, v in unfused[1].metrics.items() if v is not None} == pytest.approx(
        numbers, rel=1e-5)
    folder, cells = create(CONFIGS / "beans.yaml", base, grid, 1, tmp_path / "c")
    results = executing.execute(folder, cells, alone, fail_fast=True)
    assert [r.status for r in results] == ["diverged", "skipped"]
    assert results[1].error == "not run: stopped by --fail-fast"
    assert [r.stack for r in results] == [1, None]  # a cell not run trained with no model


def test_two_workers_give_the_same_numbers_as_one(tmp_path):
    # guaranteed by construction: every cell trains with the plan's thread count (here 1)
    # wherever it runs, so the same machine and build give bit-identical numbers
    import torch

    grid = {"model.activation": ["relu", "tanh"]}
    threads = torch.get_num_threads()
    one_folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path / "a")
    one = executing.execute(one_folder, cells, planning.Execution(workers=1, threads=1))
    assert torch.get_num_threads() == threads  # the in-process cell gave its threads back
    two_folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path / "b")
    two = executing.execute(two_folder, cells, planning.Execution(workers=2, threads=1))
    assert [r.metrics for r in one] == [r.metrics for r in two]


@pytest.mark.parametrize(("fuse", "unit", "expected"), [(False, "_run_cell", [2, 2]),
                                                       (True, "_run_stack", [2])])
def test_a_unit_trains_with_the_plans_threads(tmp_path, monkeypatch, fuse, unit, expected):
    import torch

    grid = {"model.activation": ["relu", "tanh"]}
    seen = []
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path)
    real = getattr(executing, unit)

    def spy(*args):
        seen.append(torch.get_num_threads())
        return real(*args)

    monkeypatch.setattr(executing, unit, spy)
    executing.execute(folder, cells, planning.Execution(workers=1, threads=2, fuse=fuse))
    assert seen == expected


def _summarize(folder, results, **kwargs):
    return report.summarize(folder, results, ("loss", "accuracy"), planning.load(folder).varied,
                            **kwargs)


def test_report_ranks_compares_with_the_best_and_writes_everything(tmp_path):
    grid = {"model.activation": ["relu", "step"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 3, tmp_path)
    results = executing.execute(folder, cells)
    found = _summarize(folder, results)
    assert found.rows[0].label == "model.activation=relu" and found.rows[0].verdict == "best"
    step = found.rows[1]
    told = step.verdicts["rank"]
    assert step.label == "model.activation=step" and step.seeds == 3 and told.pairs == 3
    # the difference is taken seed by seed, by seed number; one pair of cells and one look:
    # the interval is scipy's 95% t interval of those differences
    diffs = [found.rows[0].runs[s].accuracy - step.runs[s].accuracy for s in range(3)]
    assert told.mean == pytest.approx(sum(diffs) / 3)
    if np.std(diffs) > 0:
        low, high = scipy_stats.t.interval(0.95, 2, loc=np.mean(diffs),
                                           scale=scipy_stats.sem(diffs))
        assert (told.low, told.high) == pytest.approx((low, high), rel=1e-9)
        assert step.verdict == ("worse (3 seeds)" if low > 0 else "undecided (3 seeds)")
    else:  # equal differences on every seed give no interval
        assert step.verdict == "undecided (3 seeds)" and "no spread" in told.interval()
    files = report_files.write(folder, results, found)
    assert {"summary.csv", "report.md", "bars.png", "curves.png", "gradient_flow.png",
            "activations.png", "to_target.png", "seeds.png"} <= set(files)
    text = (folder / "report.md").read_text()
    assert "Bonferroni alpha spending" in text and "| 1 | relu | 3 |" in text
    assert "Varied: `model.activation`" in text
    with open(folder / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"completed"}
    assert {r["set:model.activation"] for r in rows} == {"relu", "step"}
    assert "epochs_to_target" in rows[0] and "seconds_to_target" in rows[0]


def test_seeds_are_paired_by_number_and_missing_ones_left_out(tmp_path):
    grid = {"model.activation": ["relu", "tanh"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 3, tmp_path)
    results = executing.execute(folder, cells)
    # relu loses seed 2 and tanh seed 0: only seed 1 is in both
    kept = [r for r in results if (r.cell.label, r.cell.seed) not in
            (("model.activation=relu", 2), ("model.activation=tanh", 0))]
    found = _summarize(folder, kept)
    best, other = found.rows
    told = other.verdicts["rank"]
    assert told.pairs == 1 and set(best.runs) & set(other.runs) == {1}
    assert told.mean == pytest.approx(best.runs[1].accuracy - other.runs[1].accuracy)


def test_time_to_target_is_the_first_epoch_that_meets_it(tmp_path):
    grid = {"model.activation": ["relu", "sigmoid"]}
    folder, cells = create(CONFIGS / "beans.yaml", ["model.hidden=[4]",
                                   "train.epochs=60"], grid, 1, tmp_path)
    results = executing.execute(folder, cells)
    found = _summarize(folder, results, target=("accuracy", 0.9))
    assert found.target.key == "accuracy" and found.target.how == "given with --target"
    for row in found.rows:
        (run,) = row.runs.values()
        history = run.history
        first = next((r["epoch"] for r in history if r["accuracy"] >= 0.9), None)
        assert run.epochs_to_target == first
        if first is not None:
            share = first / history[-1]["epoch"]
            assert run.seconds_to_target == pytest.approx(run.seconds * share)
    by_loss = _summarize(folder, results, target=("loss", 0.5), rank_by="epochs_to_target")
    assert by_loss.target.key == "test_loss"
    for row in by_loss.rows:
        (run,) = row.runs.values()
        first = next((r["epoch"] for r in run.history if r["test_loss"] <= 0.5), None)
        assert run.epochs_to_target == first
    ranked = [row.to_target() if row.reached else float("inf") for row in by_loss.rows]
    assert ranked == sorted(ranked)


def test_default_target_is_99_percent_of_the_best_final_accuracy(tmp_path):
    grid = {"model.activation": ["relu", "tanh"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 2, tmp_path)
    found = _summarize(folder, executing.execute(folder, cells))
    finals = [sum(run.history[-1]["accuracy"] for run in row.runs.values()) / 2
              for row in found.rows]
    assert found.target.value == pytest.approx(0.99 * max(finals))
    assert found.target.metric == "accuracy"


@pytest.mark.parametrize(("text", "expected"), [
    ("accuracy=0.89", ("accuracy", 0.89)), ("loss=0.3", ("loss", 0.3)), (None, None)])
def test_parse_target(text, expected):
    assert parse_target(text) == expected


@pytest.mark.parametrize("text", ["accuracy", "acc=0.9", "loss=fast", "loss=nan", "=1"])
def test_parse_target_refuses_bad_text(text):
    with pytest.raises(ConfigError, match="--target: .* must be accuracy=VALUE or loss=VALUE"):
        parse_target(text)


def test_a_sweep_that_changes_nothing_is_refused_before_anything_runs(invoke, tmp_path):
    result = invoke("compare", CONFIGS / "beans.yaml", "--activations", "relu,tanh",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: model.activation has no effect: model.hidden is [] (no hidden layer); the "
        "sweep would compare identical networks (model.activation=relu and "
        "model.activation=tanh)"]
    assert not (tmp_path / "runs").exists()
    result = invoke("compare", CONFIGS / "beans.yaml", "--over", "model.dropout=0.1,0.2",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "model.dropout has no effect" in result.stderr
    result = invoke("compare", CONFIGS / "beans.yaml", "--over", "train.log_every=1,2",
                    "--out", tmp_path / "runs")
    assert result.exit_code == 2 and "would train the same network: train.log_every" \
        in result.stderr
    with pytest.raises(ConfigError, match="model.channels has no effect: model.kind is mlp"):
        create(CONFIGS / "beans.yaml", ["model.hidden=[4]"],
                       {"model.channels": [[4], [8]]}, 1, tmp_path / "runs")
    # with a hidden layer the same sweep is real
    create(CONFIGS / "beans.yaml", ["model.hidden=[4]"],
                   {"model.activation": ["relu", "tanh"]}, 1, tmp_path / "runs")


def test_train_warns_about_a_key_it_ignores(invoke, tmp_path):
    result = invoke("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--set",
                    "model.activation=gelu", "--out", tmp_path)
    assert result.exit_code == 0
    assert "warning: model.activation has no effect: model.hidden is [] (no hidden layer)" \
        in result.stderr
    quiet = invoke("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--out", tmp_path)
    assert "warning" not in quiet.stderr  # the default activation is not the user's doing


def test_cli_compare_and_resume(invoke, tmp_path):
    result = invoke("compare", CONFIGS / "beans.yaml", "--activations", "relu,tanh",
                    "--seeds", "1", "--out", tmp_path, *sum((["--set", s] for s in FAST), []))
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    assert folder.name.endswith("-compare-beans")
    assert "compare: best first by accuracy, 1 seed(s)" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == str(folder / "report.md")
    again = invoke("compare", "--resume", folder)
    assert again.exit_code == 0 and "completed" not in again.stdout.split("compare: best")[0]
    bad = invoke("compare", CONFIGS / "beans.yaml", "--over", "model.activation")
    assert bad.exit_code == 2 and "expected KEY=v1,v2" in bad.stderr


def test_a_config_can_carry_its_compare_plan(invoke, tmp_path):
    text = (CONFIGS / "beans.yaml").read_text() + (
        "compare:\n  over:\n    model.activation: [relu, tanh]\n    optimizer.lr: [0.05]\n"
        "  seeds: 2\n")
    path = tmp_path / "c.yaml"
    path.write_text(text)
    result = invoke("compare", path, "--out", tmp_path / "runs", "--set", "train.epochs=20",
                    "--set", "model.hidden=[4]")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    cells = planning.load(folder).cells
    assert len(cells) == 4 and cells[0].overrides == (
        "model.activation=relu", "optimizer.lr=0.05", "train.seed=0")


def test_shipped_compare_configs_plan_the_eleven():
    from actcli import config

    for name in ("compare_beans.yaml", "compare_fashion_mnist.yaml"):
        planned = config.load(CONFIGS / name).compare
        assert planned.over["model.activation"] == list(planning.ELEVEN)
        assert planned.seeds == 3 and planned.until_decided
    beans = config.load(CONFIGS / "compare_beans.yaml").compare
    # beans decides how fast each reaches the target, and accuracy, within under a minute
    assert beans.rank_by == "epochs_to_target" and set(beans.margins) == {
        "epochs_to_target", "accuracy"} and sequential.parse_budget(beans.budget) <= 50
    fashion = config.load(CONFIGS / "compare_fashion_mnist.yaml").compare
    assert fashion.rank_by == "accuracy" and sequential.parse_budget(fashion.budget) == 600


def test_lr_range_test_picks_the_minimum_over_ten():
    from actcli import config
    from actcli.inspection.lr_finder import find_lr

    found = find_lr(config.load(CONFIGS / "beans.yaml", ["model.hidden=[8]"]), steps=80,
                    high=100.0)
    assert found.lrs == sorted(found.lrs) and found.lrs[0] == pytest.approx(1e-5)
    at_min = found.lrs[found.losses.index(min(found.losses))]
    assert found.chosen == pytest.approx(at_min / 10)
    assert found.losses[-1] > min(found.losses)  # it went past the minimum


def test_tune_lr_gives_each_cell_its_own_lr(tmp_path):
    grid = {"model.activation": ["relu", "sigmoid"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 2, tmp_path, tune_lr=True)
    tuned = planning.load(folder).tuned_lr
    assert set(tuned) == {"model.activation=relu", "model.activation=sigmoid"}
    for cell in cells:
        assert f"optimizer.lr={tuned[cell.label]}" in cell.overrides
    assert (folder / "lr_range_test.png").exists()
    results = executing.execute(folder, cells)
    found = _summarize(folder, results, tuned_lr=tuned)
    text = report_files.markdown(found, [])
    assert "lr (range test)" in text and "its own learning rate" in text
    from actcli import config

    written = config.load(folder / "cells" / cells[0].id / "config.yaml")
    assert written.optimizer.kwargs["lr"] == tuned[cells[0].label]


def test_ray_backend_runs_the_cells(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'actcli[ray]')")
    grid = {"model.activation": ["relu", "tanh"]}
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path / "a")
    by_ray = executing.execute(folder, cells, planning.Execution(workers=2, backend="ray"))
    folder, cells = create(CONFIGS / "beans.yaml", FAST, grid, 1, tmp_path / "b")
    here = executing.execute(folder, cells)
    assert [r.status for r in by_ray] == ["completed", "completed"]
    assert [r.metrics for r in by_ray] == [r.metrics for r in here]


def test_unknown_backend(tmp_path):
    with pytest.raises(ConfigError, match="--backend: 'dask' is not a backend"):
        executing.execute(tmp_path, [], planning.Execution(backend="dask"))


@pytest.mark.slow
def test_ctrl_c_keeps_finished_cells_and_resume_completes(tmp_path, invoke):
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "actcli", "compare", str(CONFIGS / "beans.yaml"),
            "--activations", "relu,tanh", "--seeds", "3", "--workers", "1", "--out", str(tmp_path),
            "--set", "model.hidden=[4]", "--set", "train.epochs=2000", "--no-fuse"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until one cell has finished
        done = [p for p in tmp_path.glob("*/cells/*/summary.json")
                if json.loads(p.read_text()).get("status") == "completed"]
        if done:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # into the next cell (between cells is handled too)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "resume with: actcli compare --resume" in err
    (folder,) = tmp_path.iterdir()
    statuses = [executing.cell_status(folder, c) for c in planning.load(folder).cells]
    assert statuses[0] == "completed" and statuses.count("completed") < 6
    assert "not run: interrupted" in (folder / "report.md").read_text()
    again = invoke("compare", "--resume", folder)
    assert again.exit_code == 0, again.output
    statuses = [executing.cell_status(folder, c) for c in planning.load(folder).cells]
    assert statuses == ["completed"] * 6


def test_tune_lr_starts_each_range_test_from_seed_0(tmp_path, monkeypatch):
    from actcli.inspection import lr_finder

    seen = []
    real = lr_finder.find_lr

    def record(cfg, **kwargs):
        seen.append(cfg.train.seed)
        return real(cfg, steps=5)

    monkeypatch.setattr(lr_finder, "find_lr", record)
    create(CONFIGS / "beans.yaml", FAST, {"model.activation": ["relu", "tanh"]}, 3,
                   tmp_path, tune_lr=True)
    assert seen == [0, 0]


def test_settle_takes_the_command_line_then_the_config_then_the_defaults(monkeypatch):
    planned = config.load(CONFIGS / "compare_beans.yaml", ["compare.workers=3"]).compare
    assert planned is not None
    found = planning.settle(planned, {}, None, None, None)
    assert found.grid == dict(planned.over) and found.seeds == planned.seeds
    assert (found.workers, found.threads) == (3, 1)
    found = planning.settle(planned, {"optimizer.lr": [0.1, 0.01]}, ["relu", "tanh"], 2, 1, 2)
    assert found.grid == {"model.activation": ["relu", "tanh"], "optimizer.lr": [0.1, 0.01]}
    assert (found.seeds, found.workers, found.threads) == (2, 1, 2)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    found = planning.settle(None, {}, None, None, None)
    assert found.grid == {"model.activation": list(planning.ELEVEN)}
    assert (found.seeds, found.workers, found.threads) == (1, 8, 1)  # cores / threads
    assert planning.settle(None, {}, None, None, None, 3).workers == 2
    with pytest.raises(ConfigError, match="--threads: must be >= 1, got 0"):
        planning.settle(None, {}, None, None, None, 0)


def test_resume_runs_as_the_plan_says_unless_told_otherwise(invoke, tmp_path, monkeypatch):
    result = invoke("compare", CONFIGS / "beans.yaml", "--activations", "relu", "--workers",
                    "1", "--threads", "2", "--out", tmp_path,
                    *sum((["--set", s] for s in FAST), []))
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    assert json.loads((folder / "plan.json").read_text())["execution"] == {
        "workers": 1, "threads": 2, "backend": "processes", "address": None,
        "cell_figures": False, "fuse": True}
    seen = []

    def fake(folder, cells, execution, **kwargs):
        seen.append(execution)
        return []

    monkeypatch.setattr(executing, "execute", fake)
    assert invoke("compare", "--resume", folder).exit_code == 0
    assert invoke("compare", "--resume", folder, "--workers", "2").exit_code == 0
    assert seen == [planning.Execution(1, 2, "processes", None),
                    planning.Execution(2, 2, "processes", None)]


def test_the_compare_table_fits_80_columns(tmp_path):
    from typer.testing import CliRunner

    from actcli.cli.main import app

    result = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}).invoke(
        app, ["compare", str(CONFIGS / "beans.yaml"), "--activations", "leaky_relu,hardswish",
              "--seeds", "2", "--out", str(tmp_path), *sum((["--set", s] for s in FAST), [])])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("compare: best")))
    end = lines.index(next(x for x in lines if x.startswith("└")))
    table = lines[start:end + 1]
    assert max(len(line) for line in table) <= 80
    rows = [line for line in table if line.startswith("│")]
    assert len(rows) == 2  # one line per cell: nothing wrapped
    assert all("±" in row for row in rows)


@pytest.mark.slow
def test_compare_beans_shows_sigmoid_and_softplus_slower_to_the_target_than_relu(tmp_path):
    grid = {"model.activation": ["relu", "sigmoid", "softplus"]}
    path = CONFIGS / "compare_beans.yaml"
    folder, cells = create(path, [], grid, 3, tmp_path)
    found = _summarize(folder, executing.execute(folder, cells, planning.Execution(workers=2)))
    epochs = {row.shown: row.to_target() for row in found.rows}
    assert all(row.reached == 3 for row in found.rows)
    assert epochs["sigmoid"] > 3 * epochs["relu"] and epochs["softplus"] > epochs["relu"]


def test_fail_fast_in_a_worker_pool_cancels_what_has_not_started(tmp_path):
    # the diverging cell ends in a moment, the others train for a while: the pool stops,
    # cancels every cell not yet started and records them as skipped
    grid = {"optimizer.lr": [1e30, 0.01]}
    folder, cells = create(CONFIGS / "beans.yaml",
                                   ["model.hidden=[4]", "train.epochs=3000"], grid, 4, tmp_path)
    ordered = [c for c in cells if "1e+30" in c.label or "1e30" in c.label]
    ordered += [c for c in cells if c not in ordered]
    results = executing.execute(folder, ordered, planning.Execution(workers=2, fuse=False),
                              fail_fast=True)
    statuses = [r.status for r in results]
    assert "diverged" in statuses and "skipped" in statuses
    skipped = [r for r in results if r.status == "skipped"]
    assert all(r.error == "not run: stopped by --fail-fast" for r in skipped)
    for r in skipped:  # a cancelled cell never started: no folder of its own
        assert not (folder / "cells" / r.cell.id).exists()


def test_cells_draw_no_pictures_of_their_own_unless_asked(invoke, tmp_path):
    args = ["compare", CONFIGS / "beans.yaml", "--activations", "relu,tanh", "--workers", "1",
            *sum((["--set", s] for s in FAST), [])]
    assert invoke(*args, "--out", tmp_path / "a").exit_code == 0
    (folder,) = (tmp_path / "a").iterdir()
    for cell in (folder / "cells").iterdir():
        assert not list(cell.glob("*.png"))
        assert {"metrics.csv", "diagnostics.csv", "model.pt", "summary.json"} <= {
            p.name for p in cell.iterdir()}
    assert (folder / "curves.png").exists()  # the compare's own figures
    assert invoke(*args, "--cell-figures", "--out", tmp_path / "b").exit_code == 0
    (folder,) = (tmp_path / "b").iterdir()
    for cell in (folder / "cells").iterdir():
        assert {"learning_curves.png", "fit.png", "weights.png"} <= {
            p.name for p in cell.glob("*.png")}


@pytest.mark.parametrize("argv, message", [
    (["--over", "model.hidden=[4],[4]"], "--over model.hidden: '[4]' is given twice"),
    (["--activations", "relu,tanh,relu"], "--activations: 'relu' is given twice"),
    (["--activations", "relu", "--over", "model.activation=tanh"],
     "--activations and --over model.activation=... both name the activations"),
])
def test_a_sweep_that_repeats_or_doubles_a_value_is_refused_before_any_folder(
        tmp_path, invoke, argv, message):
    result = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, *argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_a_cell_that_names_another_optimizer_drops_the_options_it_lacks(tmp_path, invoke):
    result = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                    "relu", "--over", "optimizer.name=sgd,adam,rmsprop", "--set",
                    "train.epochs=2")
    assert result.exit_code == 0, result.output
    assert "note: optimizer.name=sgd: dropped beta1" in result.stderr
    (folder,) = tmp_path.iterdir()
    for name, absent in (("sgd", "beta1"), ("rmsprop", "beta2")):
        (cell,) = (folder / "cells").glob(f"*name={name}__seed0")
        optimizer = config.load(cell / "config.yaml").optimizer
        assert optimizer.name == name and absent not in optimizer.kwargs
        assert optimizer.kwargs["lr"] == 0.05  # what the options share is kept


def test_a_long_sweep_command_is_kept_whole_once_in_the_plan_not_in_every_cell(
        tmp_path, invoke, monkeypatch):
    import sys

    lrs = ",".join(f"{0.001 + i * 1e-5:.5f}" for i in range(60))
    argv = ["compare", str(CONFIGS / "beans.yaml"), "--out", str(tmp_path), "--activations",
            "relu", "--over", f"optimizer.lr={lrs}", "--set", "model.hidden=[4]",
            "--set", "train.epochs=1"]
    monkeypatch.setattr(sys, "argv", ["actcli", *argv])  # the command as a shell gives it
    result = invoke(*argv)
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    plan = json.loads((folder / "plan.json").read_text())
    assert lrs in plan["command"]
    cell = next((folder / "cells").iterdir())
    recorded = json.loads((cell / "summary.json").read_text())["provenance"]["command"]
    assert recorded.startswith("actcli compare ") and len(recorded) <= 500
    assert recorded.endswith("characters; whole in plan.json)")


def test_the_compare_library_call_returns_what_it_wrote(tmp_path, monkeypatch):
    # compare_beans as its compare: section plans it (the eleven), 1 epoch, 2 seeds
    loads = []
    real_load = config.load

    def counted(*args, **kwargs):
        loads.append(args[0])
        return real_load(*args, **kwargs)

    monkeypatch.setattr(config, "load", counted)
    seen = []
    found = compare.run(CONFIGS / "compare_beans.yaml", ["train.epochs=1"], seeds=2,
                        workers=1, out=tmp_path / "runs", until_decided=False,
                        on_planned=lambda plan, notes: seen.append(("planned", plan)),
                        on_done=lambda result: seen.append(("done", result.cell.id)))
    assert loads == [CONFIGS / "compare_beans.yaml"]  # the config is read once
    folder = found.folder
    assert folder.parent == tmp_path / "runs" and folder.name.endswith("-compare-compare_beans")
    assert seen[0] == ("planned", found.plan) and len(seen) == 1 + 22
    assert sorted(cell_id for _, cell_id in seen[1:]) == sorted(c.id for c in found.plan.cells)
    assert found.plan.varied == ["model.activation"] and found.plan.tuned_lr == {}
    assert not found.interrupted and not found.report.failures
    # the plan it returns is the folder's plan.json
    plan = json.loads((folder / "plan.json").read_text())
    assert [c["id"] for c in plan["cells"]] == [c.id for c in found.plan.cells]
    assert plan["execution"]["workers"] == found.execution.workers == 1
    assert planning.load(folder) == found.plan
    # its results are the cells' folders and summary.csv, their stack sizes included
    assert [r.cell for r in found.results] == found.plan.cells
    (stack,) = plan["stacks"]
    with open(folder / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["cell"] for row in rows] == [r.cell.id for r in found.results]
    for r, row in zip(found.results, rows, strict=True):
        summary = json.loads((folder / "cells" / r.cell.id / "summary.json").read_text())
        assert r.status == row["status"] == summary["status"] == "completed"
        assert r.metrics == summary["metrics"]
        assert float(row["accuracy"]) == r.metrics["accuracy"]
        assert r.stack == summary["stack"] == int(row["stack"]) == len(stack) == 22
    # its report is report.md, and every file it names is there
    text = (folder / "report.md").read_text()
    assert found.files[-1] == "report.md" and all((folder / f).exists() for f in found.files)
    assert {"summary.csv", "bars.png", "curves.png"} <= set(found.files)
    assert [row.seeds for row in found.report.rows] == [2] * 11
    for rank, row in enumerate(found.report.rows, 1):
        assert f"| {rank} | {row.shown} | 2 |" in text
    assert "1 stack(s) of 22" in text

    # resumed: nothing left to train; the results are read back from the cells' folders
    loads.clear()
    seen.clear()
    again = compare.run(resume=folder, on_done=lambda result: seen.append(result))
    assert loads == [folder / "base.yaml"] and seen == []
    assert again.folder == folder and again.plan == found.plan
    assert [(r.status, r.metrics, r.stack) for r in again.results] == \
        [(r.status, r.metrics, r.stack) for r in found.results]
    assert [row.label for row in again.report.rows] == [row.label for row in found.report.rows]
    with pytest.raises(ActcliError, match="a resumed compare runs as it was planned"):
        compare.run(CONFIGS / "beans.yaml", resume=folder)
