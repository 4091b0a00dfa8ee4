"""A Ray cluster that is not there, or goes away: one line, exit 1, and how to go on.
Every Ray here is on the loopback address."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import CONFIGS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_address_where_nothing_answers_is_refused_within_seconds(tmp_path, invoke):
    dead = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                    "relu", "--backend", "ray", "--ray-address", dead)
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: --ray-address '{dead}': no Ray cluster answers there")
    assert "--backend processes" in line
    assert not any(tmp_path.iterdir())


def test_resume_gives_up_on_the_plans_dead_ray_address_with_the_hint(tmp_path, invoke):
    first = invoke("compare", CONFIGS / "beans.yaml", "--out", tmp_path, "--activations",
                   "relu,tanh", "--set", "model.hidden=[4]", "--set", "train.epochs=2")
    assert first.exit_code == 0, first.output
    (folder,) = tmp_path.iterdir()
    shutil.rmtree(next((folder / "cells").iterdir()))  # one cell still to train
    plan = json.loads((folder / "plan.json").read_text())
    plan["execution"].update(backend="ray", address=f"127.0.0.1:{free_port()}")
    (folder / "plan.json").write_text(json.dumps(plan))
    started = time.monotonic()
    result = invoke("compare", "--resume", folder)
    assert time.monotonic() - started < 15 and result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert "no Ray cluster answers there" in line
    assert f"actcli compare --resume {folder} --backend processes" in line
    here = invoke("compare", "--resume", folder, "--backend", "processes")
    assert here.exit_code == 0, here.output


@pytest.mark.slow
def test_a_lost_ray_cluster_is_one_line_and_its_cells_resume_here(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'actcli[ray]')")
    ray = Path(sys.executable).parent / "ray"
    import tempfile

    port = free_port()
    short = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must be short
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "COLUMNS": "200"}
    up = subprocess.run([str(ray), "start", "--head", "--node-ip-address=127.0.0.1",
                         f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                         f"--temp-dir={short}"], env=env, capture_output=True,
                        text=True, timeout=120)
    if up.returncode != 0:
        pytest.skip(f"a local Ray head does not start here: {up.stderr.strip()[-200:]}")
    out = tmp_path / "runs"
    process = None
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "actcli", "compare", str(CONFIGS / "beans.yaml"), "--out",
             str(out), "--no-fuse", "--activations", "relu,tanh",
             "--set", "model.hidden=[8]", "--set", "train.epochs=15000", "--backend", "ray",
             "--ray-address", f"127.0.0.1:{port}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(out.glob("*/cells/*/summary.json")):
            time.sleep(0.2)
        time.sleep(2)
    finally:
        subprocess.run([str(ray), "stop", "--force"], env=env, capture_output=True,
                       timeout=120)
        shutil.rmtree(short, ignore_errors=True)
    assert process is not None
    started = time.monotonic()
    _, err = process.communicate(timeout=120)
    assert time.monotonic() - started < 60
    assert process.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the Ray cluster") and "--backend processes" in last
    (folder,) = out.iterdir()
    statuses = {json.loads(p.read_text())["status"]
                for p in (folder / "cells").glob("*/summary.json")}
    assert "running" not in statuses and "interrupted" in statuses
    here = subprocess.run([sys.executable, "-m", "actcli", "compare", "--resume",
                           str(folder), "--backend", "processes"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert here.returncode == 0, here.stderr
