"""Promises of the command line that a new user found broken: values that must be refused,
names that must say what was measured, warnings that must not cry wolf, --threads."""

from __future__ import annotations

import csv
import json

import pytest

from actcli import config
from actcli.errors import ConfigError
from actcli.training import driver

from helpers import CONFIGS


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("override, key", [
    ("train.epochs=true", "train.epochs"), ("model.dropout=true", "model.dropout"),
    ("train.batch_size=false", "train.batch_size"), ("train.seed=true", "train.seed"),
    ("task.test_fraction=true", "task.test_fraction"),
])
def test_a_bool_is_never_taken_for_a_number(override, key):
    with pytest.raises(ConfigError, match=f"{key}: expected a number, got (true|false)"):
        config.load(CONFIGS / "beans.yaml", [override])


def test_bools_where_bools_belong_still_work():
    cfg = config.load(CONFIGS / "beans.yaml", ["log.tensorboard=true", "train.epochs=3"])
    assert cfg.log.tensorboard is True and cfg.train.epochs == 3


@pytest.mark.parametrize("target", ["accuracy=2", "accuracy=0", "accuracy=-0.5", "loss=-1"])
def test_a_target_that_can_never_be_reached_is_refused(tmp_path, invoke, target):
    line = one_line_error(invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path,
                                 "--target", target))
    assert "--target" in line
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("lo, hi", [("-inf", "inf"), ("nan", "1"), ("0", "inf")])
def test_plot_refuses_a_range_that_is_not_finite(tmp_path, invoke, lo, hi):
    line = one_line_error(invoke("plot", "relu", "--range", lo, hi, "--out", tmp_path))
    assert "--range: LO and HI must be finite" in line
    assert not any(tmp_path.iterdir())


def test_a_data_dir_variable_that_names_a_file_is_an_error(tmp_path, monkeypatch):
    from actcli.errors import DataError
    from actcli.tasks import fmnist_data

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setenv(fmnist_data.ENV, str(not_a_folder))
    with pytest.raises(DataError, match=r"\$ACTCLI_DATA_DIR: .*file is not a folder"):
        fmnist_data.locate(None, download=False)
    monkeypatch.setenv(fmnist_data.ENV, str(tmp_path))  # a folder without the files
    with pytest.raises(DataError, match=r"\$ACTCLI_DATA_DIR: .* does not hold the four"):
        fmnist_data.locate(None, download=False)


def test_with_nothing_held_out_the_figures_are_named_for_the_training_data(tmp_path, invoke):
    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=20"])
    assert cfg.task.test_fraction == 0
    run = driver.run(cfg, tmp_path, figures=False).path
    with open(run / "metrics.csv") as handle:
        header = next(csv.reader(handle))
    assert "test_loss" not in header and "train_set_loss" in header
    summary = json.loads((run / "summary.json").read_text())
    assert summary["measured_on"].startswith("the training data")
    shown = invoke("eval", run)
    assert shown.exit_code == 0 and "measured on the training data" in shown.stdout
    beans = driver.run(config.load(CONFIGS / "beans.yaml", ["train.epochs=5"]), tmp_path,
                           figures=False).path
    assert "test_loss" in (beans / "metrics.csv").read_text().splitlines()[0]
    assert json.loads((beans / "summary.json").read_text())["measured_on"] == "the test split"


def test_training_a_runs_own_config_again_warns_of_nothing(tmp_path, invoke):
    first = invoke("train", CONFIGS / "rice_cooker.yaml", "--smoke", "--quiet", "--out",
                   tmp_path)
    assert first.exit_code == 0 and first.stderr == ""
    (run,) = tmp_path.iterdir()
    again = invoke("train", run / "config.yaml", "--smoke", "--quiet", "--out", tmp_path)
    assert again.exit_code == 0 and again.stderr == ""
    # what the user writes themselves is still warned about
    written = tmp_path / "mine.yaml"
    written.write_text("task: rice_cooker\nmodel: {activation: tanh}\n")
    warned = invoke("train", written, "--smoke", "--quiet", "--out", tmp_path / "w")
    assert "warning: model.activation has no effect" in warned.stderr


def test_compare_help_says_where_the_seeds_come_from(invoke):
    text = " ".join(invoke("compare", "--help").stdout.split())
    assert "compare.seeds" in text and "default 1)" not in text


def test_train_threads_sets_torchs_threads_and_is_recorded(tmp_path, invoke):
    import torch

    before = torch.get_num_threads()
    try:
        result = invoke("train", CONFIGS / "beans.yaml", "--smoke", "--quiet", "--out",
                        tmp_path, "--threads", "1")
        assert result.exit_code == 0, result.output
        (run,) = tmp_path.iterdir()
        assert json.loads((run / "summary.json").read_text())["provenance"]["threads"] == 1
        assert driver.recorded_threads(run) == 1
    finally:
        torch.set_num_threads(before)
    bad = invoke("train", CONFIGS / "beans.yaml", "--threads", "0")
    assert bad.exit_code == 2 and "--threads" in bad.stderr


@pytest.mark.parametrize("override, key", [
    ("optimizer.lr=.inf", "optimizer.lr"), ("optimizer.lr=1e400", "optimizer.lr"),
    ("model.init={name: xavier_uniform, gain: .inf}", "model.init.gain"),
    ("task.noise=.inf", "task.noise"), ("model.dropout=.nan", "model.dropout"),
    ("train.checkpoint_seconds=.inf", "train.checkpoint_seconds"),
])
def test_a_number_that_is_not_finite_is_refused(override, key):
    with pytest.raises(ConfigError, match=f"{key}: must be a finite number, got (inf|nan)"):
        config.load(CONFIGS / "beans.yaml", [override])


@pytest.mark.parametrize("argv, message", [
    (["--over", "optimizer.lr=0.1,0.2", "--set", "optimizer.lr=0.5"],
     "--set optimizer.lr=... and --over optimizer.lr both set optimizer.lr"),
    (["--activations", "relu,tanh", "--set", "model.activation=gelu"],
     "--set model.activation=... and --activations both set model.activation"),
    (["--activations", ""], "--activations: give one or more names"),
])
def test_compare_refuses_settings_that_would_be_silently_lost(tmp_path, invoke, argv,
                                                              message):
    line = one_line_error(invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, *argv))
    assert message in line and not any(tmp_path.iterdir())


def test_a_sweep_may_still_tune_inside_a_component_set_whole(tmp_path, invoke):
    result = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                    "relu", "--set", "optimizer={name: sgd, lr: 0.1}", "--over",
                    "optimizer.momentum=0.0,0.9", "--set", "model.hidden=[4]",
                    "--set", "train.epochs=2")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("argv, message", [
    (["schema", "--out", "{tmp}"], "is a folder; give a file name"),
    (["train", str(CONFIGS / "beans.yaml"), "--smoke", "--out", "{file}"],
     "is a file; the runs root is a folder"),
    (["runs", "{file}"], "is a file, not a folder"),
    (["compare", "--resume", "{file}"], "not a compare folder"),
])
def test_a_file_where_a_folder_belongs_and_back_is_one_line(tmp_path, invoke, argv, message):
    afile = tmp_path / "afile"
    afile.write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)).replace("{file}", str(afile)) for a in argv]
    assert message in one_line_error(invoke(*args))


def test_runs_into_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    cfg = config.load(CONFIGS / "beans.yaml", ["train.epochs=2"])
    for _ in range(3):
        driver.run(cfg, tmp_path, figures=False)
    shell = subprocess.run(f"{sys.executable} -m actcli runs {tmp_path} --format csv | head -1",
                           shell=True, capture_output=True, text=True, timeout=60)
    assert shell.stdout.startswith("path,") and shell.stderr == ""
