"""Outputs that cannot be written and run folders that are damaged: one line, never a
traceback, and never an answer made up to stand in for what is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from actcli import config
from actcli.training import driver

from helpers import CONFIGS


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A real rice cooker run (a few hundred epochs: the model answers as trained)."""
    cfg = config.load(CONFIGS / "rice_cooker.yaml", ["train.epochs=400"])
    return driver.run(cfg, tmp_path_factory.mktemp("runs"), figures=False).path


@pytest.fixture
def run(trained, tmp_path) -> Path:
    """A copy of the trained run to damage."""
    return Path(shutil.copytree(trained, tmp_path / "run"))


def file_in_the_way(tmp_path: Path) -> Path:
    (tmp_path / "a_file").write_text("x")
    return tmp_path / "a_file"


@pytest.mark.parametrize("argv", [
    ["plot", "relu", "--out", "/proc/x.png"],
    ["plot", "relu", "--out", "{file}/x.png"],
    ["landscape", "--surface", "bowl", "--out", "/proc/"],
    ["init", "beans", "--out", "/proc/beans.yaml"],
    ["init", "beans", "--out", "{file}/b.yaml"],
    ["schema", "--out", "/proc/s.json"],
    ["schema", "--out", "{file}/deeper/s.json"],
    ["train", str(CONFIGS / "beans.yaml"), "--smoke", "--out", "{file}/runs"],
    ["train", str(CONFIGS / "beans.yaml"), "--smoke", "--out", "/proc"],
    ["compare", str(CONFIGS / "compare_beans.yaml"), "--out", "/proc"],
])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path, invoke, argv):
    in_the_way = file_in_the_way(tmp_path)
    line = one_line_error(invoke(*(a.replace("{file}", str(in_the_way)) for a in argv)))
    assert "cannot" in line and ("/proc" in line or "a_file" in line)
    assert in_the_way.read_text() == "x"


@pytest.mark.parametrize("damage, message", [
    (b"\x00garbage bytes, not a torch file", "cannot be read (it is truncated or not a "
     "PyTorch file"),
    ("truncated", "cannot be read (it is truncated or not a PyTorch file"),
    ("other network", "its weights do not fit the network"),
    ("pickled code", "it holds more than tensors and plain values"),
])
@pytest.mark.parametrize("command", ["eval", "predict"])
def test_a_damaged_model_pt_is_one_line(run, invoke, damage, message, command):
    model = run / "model.pt"
    if damage == "truncated":
        model.write_bytes(model.read_bytes()[:200])
    elif damage == "other network":
        torch.save({"net.0.weight": torch.zeros(3, 1), "net.0.bias": torch.zeros(3)}, model)
    elif damage == "pickled code":
        torch.save({"net.0.weight": torch.zeros(1, 1), "extra": Path("x")}, model)
    else:
        model.write_bytes(damage)
    argv = ["eval", run] if command == "eval" else ["predict", run, "125"]
    line = one_line_error(invoke(*argv))
    assert message in line and "weights_only" not in line and str(model) in line


@pytest.mark.parametrize("summary, message", [
    ({"status": 5, "metrics": "x"}, "status is 5, not one of"),
    ({"status": "completed", "metrics": "x"}, "metrics is 'x', not dict"),
    ({"status": "completed", "metrics": {"accuracy": "high"}}, "metrics.accuracy is 'high'"),
    ([1, 2], "expected a JSON object, got list"),
])
@pytest.mark.parametrize("command", ["eval", "predict", "resume"])
def test_a_damaged_summary_is_one_line(run, invoke, summary, message, command):
    (run / "summary.json").write_text(json.dumps(summary))
    argv = {"eval": ["eval", run], "predict": ["predict", run, "125"],
            "resume": ["train", "--resume", run]}[command]
    line = one_line_error(invoke(*argv))
    assert "summary.json: damaged: " in line and message in line


def test_predict_refuses_a_run_that_records_no_input_scaling(run, invoke, trained):
    answered = invoke("predict", trained, "125", "135")
    assert answered.exit_code == 0, answered.output
    summary = json.loads((run / "summary.json").read_text())
    del summary["data"]["input_scaling"]
    (run / "summary.json").write_text(json.dumps(summary))
    line = one_line_error(invoke("predict", run, "125"))
    assert "records no data.input_scaling" in line and "train the run again" in line


@pytest.mark.parametrize("plan", ['{"cells": 5}', "[]", "garbage",
                                  '{"cells": [{"id": "../x", "label": "a", "overrides": [], '
                                  '"seed": 0}]}'])
def test_compare_resume_of_a_damaged_plan_is_one_line(tmp_path, invoke, plan):
    folder = tmp_path / "compare"
    folder.mkdir()
    (folder / "plan.json").write_text(plan)
    line = one_line_error(invoke("compare", "--resume", folder))
    assert "plan.json" in line and ("damaged" in line or "not valid JSON" in line)
    assert sorted(p.name for p in folder.iterdir()) == ["plan.json"]


def test_compare_resume_trains_again_a_cell_whose_summary_is_damaged(tmp_path, invoke):
    argv = ["compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations", "relu,tanh",
            "--set", "model.hidden=[4]", "--set", "train.epochs=3"]
    assert invoke(*argv).exit_code == 0
    (folder,) = tmp_path.iterdir()
    (cell,) = (folder / "cells").glob("activation=relu__seed0")
    (cell / "summary.json").write_text('{"status": "completed", "metrics": "x"}')
    resumed = invoke("compare", "--resume", folder)
    assert resumed.exit_code == 0, resumed.output
    assert "completed  model.activation=relu, seed 0" in resumed.stdout
    assert "tanh" not in resumed.stdout.split("compare:")[0]  # the whole cell was kept
    assert json.loads((cell / "summary.json").read_text())["status"] == "completed"


@pytest.fixture
def small_disk(tmp_path):
    """A 300 KiB file system of its own (tmpfs), where this machine lets the test mount one."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root): "
                    f"{made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_a_resume_after_freeing_space_finishes(small_disk, invoke):
    import subprocess

    argv = ["compare", CONFIGS / "beans.yaml", "--out", small_disk, "--activations",
            "relu,tanh,elu,selu,gelu,silu", "--seeds", "2", "--set", "model.hidden=[8]",
            "--set", "train.epochs=30"]
    full = invoke(*argv)
    assert full.exit_code == 1, full.output
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "No space left on device" in last
    assert "Traceback" not in full.output and "compare --resume" in last
    (folder,) = small_disk.iterdir()
    assert "failed" in full.stdout  # the cells that could not be written say so
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    resumed = invoke("compare", "--resume", folder)
    assert resumed.exit_code == 0, resumed.output
    statuses = [json.loads(p.read_text())["status"]
                for p in (folder / "cells").glob("*/summary.json")]
    assert statuses == ["completed"] * 12
    assert (folder / "report.md").exists() and (folder / "summary.csv").exists()


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_a_config_yaml_of_another_task_than_the_summary_is_refused(run, invoke, command):
    other = config.load(CONFIGS / "beans.yaml", ["name=rice_cooker"])  # beans, same name
    (run / "config.yaml").write_text(config.dump(other))
    argv = ["eval", run] if command == "eval" else ["predict", run, "0.5"]
    line = one_line_error(invoke(*argv))
    assert "config.yaml says" in line and "summary.json" in line


@pytest.mark.parametrize("damage, message", [
    ({"epoch": "x"}, "checkpoint.pt: damaged"),
    ({"epoch": 295573}, "outside the config's 1..400"),
])
def test_a_checkpoint_that_does_not_belong_is_refused(run, invoke, damage, message):
    from actcli import config as config_mod
    from actcli.training.parts import prepare

    summary = json.loads((run / "summary.json").read_text())
    summary["status"] = "interrupted"
    (run / "summary.json").write_text(json.dumps(summary))
    cfg = config_mod.load(run / "config.yaml")
    p = prepare(cfg)
    from actcli.components import optimizers

    # the layout earlier versions wrote for a run alone (one flat tensor's optimizer)
    flat = torch.cat([t.reshape(-1) for t in p.parts.net.state_dict().values()])
    state = {"model": p.parts.net.state_dict(),
             "optimizer": optimizers.build(cfg.optimizer, [flat]).state_dict(),
             "scheduler": None, "epoch": 10, "cursor": None,
             "generator": p.generator.get_state(), "torch_rng": torch.get_rng_state(),
             "history": [], "best": {"accuracy": -1.0, "epoch": 0, "state": None},
             "seconds": 1.0, "diagnostics": []}
    state.update(damage)
    torch.save(state, run / "checkpoint.pt")
    line = one_line_error(invoke("train", "--resume", run))
    assert message in line


@pytest.mark.parametrize("execution, message", [
    ({"workers": "x", "threads": -1}, "execution.workers is 'x'"),
    ({"backend": "dask"}, "execution.backend is 'dask'"),
    ({"fuse": "yes"}, "execution.fuse is 'yes'"),
])
def test_compare_resume_of_a_plan_with_bad_execution_types_is_one_line(tmp_path, invoke,
                                                                      execution, message):
    first = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                   "relu", "--set", "model.hidden=[4]", "--set", "train.epochs=2")
    assert first.exit_code == 0
    (folder,) = tmp_path.iterdir()
    plan = json.loads((folder / "plan.json").read_text())
    plan["execution"].update(execution)
    (folder / "plan.json").write_text(json.dumps(plan))
    line = one_line_error(invoke("compare", "--resume", folder))
    assert "plan.json: damaged" in line and message in line


def test_train_resume_of_a_compare_cell_points_at_compare_resume(tmp_path, invoke):
    made = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                  "relu", "--set", "model.hidden=[4]", "--set", "train.epochs=2")
    assert made.exit_code == 0
    (folder,) = tmp_path.iterdir()
    (cell,) = (folder / "cells").iterdir()
    summary = json.loads((cell / "summary.json").read_text())
    summary["status"] = "interrupted"
    (cell / "summary.json").write_text(json.dumps(summary))
    line = one_line_error(invoke("train", "--resume", cell))
    assert line.endswith(f"actcli compare --resume {folder}")
