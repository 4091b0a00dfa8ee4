"""A Ray cluster that is not there, or goes away: one line, exit 1, and how to go on.
Every Ray here is on the loopback address."""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time

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


class FakeRay:
    """Just enough of Ray's API for on_ray: tasks that never finish, on a 'cluster' whose
    address is a loopback listener this test closes (no Ray server is started)."""

    class exceptions:  # the attribute path ray.exceptions.RayError
        class RayError(Exception):
            pass

    def __init__(self, listener: socket.socket, fail_with: Exception | None = None) -> None:
        self.listener, self.fail_with, self.waits = listener, fail_with, 0

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs) -> None:
        pass

    def shutdown(self) -> None:  # after planning (cluster_resources) only
        if self.waits:
            raise AssertionError("a lost cluster must not be shut down (Ray would wait)")

    def cluster_resources(self) -> dict:
        return {"CPU": 2}

    def remote(self, num_cpus: int):
        return lambda run: type("Task", (), {"remote": staticmethod(lambda *a: object())})

    def wait(self, pending, num_returns: int, timeout: float):
        self.waits += 1
        if self.fail_with is not None:
            return pending[:1], pending[1:]
        self.listener.close()  # the head goes away while the units run
        return [], pending

    def get(self, ref):
        raise self.fail_with

    def cancel(self, ref) -> None:
        pass


@pytest.mark.parametrize("how", ["stops answering", "task error"])
def test_a_lost_ray_cluster_is_one_line_with_its_cells_marked_interrupted(
        tmp_path, invoke, monkeypatch, how):
    from actcli.sweep import planning

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    fake = FakeRay(listener, FakeRay.exceptions.RayError("node died") if how == "task error"
                   else None)
    monkeypatch.setitem(sys.modules, "ray", fake)
    made = planning.create(CONFIGS / "beans.yaml", ["model.hidden=[4]"],
                           {"model.activation": ["relu", "tanh"]}, 1, tmp_path,
                           execution=planning.Execution(backend="ray", address=address))
    folder, cells = made.folder, made.cells
    cell = folder / "cells" / cells[0].id  # one cell had started on the cluster
    cell.mkdir(parents=True)
    (cell / "summary.json").write_text(json.dumps({"status": "running", "metrics": {}}))
    (cell / ".lock").write_text("{}")
    result = invoke("compare", "--resume", folder)
    listener.close()
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("error: ")]
    expected = "stopped answering" if how == "stops answering" else "failed: 'node died'"
    assert expected in line
    assert line.endswith(f"to go on on this machine: actcli compare --resume {folder} "
                         "--backend processes")
    summary = json.loads((cell / "summary.json").read_text())
    assert summary["status"] == "interrupted" and "Ray cluster" in summary["reason"]
