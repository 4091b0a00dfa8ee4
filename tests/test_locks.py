"""One process at a time per folder, and what a killed process leaves: real processes,
SIGKILL included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_resume import actcli, wait_for

from actcli import locks
from actcli.inspection import listing

from helpers import CONFIGS


def test_a_lock_is_exclusive_names_its_holder_and_goes_with_its_holder(tmp_path):
    lock = locks.FolderLock(tmp_path, "actcli train")
    with lock:
        assert locks.is_held(tmp_path)
        with pytest.raises(locks.FolderBusy) as info:
            locks.FolderLock(tmp_path, "actcli train --resume").acquire()
        message = str(info.value)
        assert f"in use by actcli train (pid {os.getpid()} on " in message
        assert info.value.exit_code == 2
    assert not locks.is_held(tmp_path) and (tmp_path / locks.FILE).exists()
    with locks.FolderLock(tmp_path, "again"):  # free again once released
        assert locks.holder(tmp_path)["what"] == "again"


@pytest.mark.slow
def test_a_second_process_on_a_live_run_is_refused_and_a_killed_run_is_shown_killed(
        tmp_path, invoke):
    process = actcli("train", str(CONFIGS / "beans.yaml"), "--quiet", "--out",
                     str(tmp_path), "--set", "train.epochs=8000",
                     "--set", "train.checkpoint_seconds=0.3")
    try:
        checkpoint = wait_for("*/checkpoint.pt", tmp_path)
        # stopped, not ended: it holds the folder's lock however long the checks take
        process.send_signal(signal.SIGSTOP)
        run = checkpoint.parent
        refused = invoke("train", "--resume", run)
        assert refused.exit_code == 2
        line = refused.stderr.strip()
        assert line.startswith(f"error: {run}: in use by actcli train (pid {process.pid} on ")
        assert len(line.splitlines()) == 1
        (listed,) = listing.collect(tmp_path)
        assert listed.flat["status"] == "running"
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    assert json.loads((run / "summary.json").read_text())["status"] == "running"
    (listed,) = listing.collect(tmp_path)
    assert listed.flat["status"] == "killed"  # the summary says running; nobody holds it
    shown = invoke("runs", tmp_path)
    assert shown.exit_code == 0 and "killed" in shown.stdout
    resumed = invoke("train", "--resume", run, "--quiet")  # from its last time checkpoint
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_compare_folder_in_use_is_refused_in_one_line(tmp_path, invoke):
    first = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                   "relu", "--set", "model.hidden=[4]", "--set", "train.epochs=2")
    assert first.exit_code == 0, first.output
    (folder,) = tmp_path.iterdir()
    with locks.FolderLock(folder, "actcli compare"):
        again = invoke("compare", "--resume", folder)
    assert again.exit_code == 2
    assert again.stderr.strip().startswith(f"error: {folder}: in use by actcli compare (pid ")
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_workers_end_when_their_compare_is_killed(tmp_path):
    process = actcli("compare", str(CONFIGS / "beans.yaml"), "--out", str(tmp_path),
                     "--no-fuse", "--workers", "2", "--activations", "relu,tanh,elu,selu",
                     "--set", "model.hidden=[8]", "--set", "train.epochs=20000")
    try:
        children = _children_once_training(process, tmp_path)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def _children_once_training(process: subprocess.Popen, root: Path) -> list[int]:
    """The compare's child processes, once a cell has started training under ``root``."""
    wait_for("*/cells/*/summary.json", root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = [pid for pid in _pids() if _ppid(pid) == process.pid]
        if children:
            return children
        time.sleep(0.1)
    raise AssertionError("the compare started no worker process")


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_a_killed_worker_ends_the_compare_in_one_line_and_resume_finishes(tmp_path, invoke):
    process = actcli("compare", str(CONFIGS / "beans.yaml"), "--out", str(tmp_path),
                     "--no-fuse", "--workers", "2", "--activations", "relu,tanh,elu,selu",
                     "--set", "model.hidden=[8]", "--set", "train.epochs=4000")
    try:
        workers = [pid for pid in _children_once_training(process, tmp_path)
                   if "resource_tracker" not in _cmdline(pid)]
        assert workers, "the compare started no worker process"
        os.kill(workers[0], signal.SIGKILL)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: a worker process died") and "compare --resume" in last
    assert "Traceback" not in err
    (folder,) = tmp_path.iterdir()
    resumed = invoke("compare", "--resume", folder)
    assert resumed.exit_code == 0, resumed.output


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
