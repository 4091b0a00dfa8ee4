"""Python's collector around a command (actcli.collector): held while a command starts,
released where training begins, everything frozen before the interpreter's exit."""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from actcli import collector

# a command in a fresh process, with every collection it ran counted by generation, and
# the collector's state after it: enabled, frozen objects
PROBE = """
import gc, json, sys
runs = {0: 0, 1: 0, 2: 0}
def count(phase, info):
    if phase == "start":
        runs[info["generation"]] += 1
gc.callbacks.append(count)
from actcli.cli import main
sys.argv = ["actcli", *ARGS]
runs.update({0: 0, 1: 0, 2: 0})  # from the command's first line (typer is imported)
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print(json.dumps({"runs": runs, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def probe(args: list[str], cwd) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE.replace("ARGS", repr(args))],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_train_starts_with_no_collection_and_trains_with_one(tmp_path):
    found = probe(["train", "rice_cooker", "-q", "--set", "train.epochs=3", "--out",
                   str(tmp_path)], tmp_path)
    # released at the loop: start-up's objects (torch's modules: far more than 100,000) are
    # frozen, out of every later collection, and the run collects its own cycles
    assert found["enabled"] is True
    assert found["frozen"] > 100_000
    # the same run as Python leaves it (the app without the console entry) runs full
    # collections over them while torch imports: the reference this is measured against
    plain = subprocess.run(
        [sys.executable, "-c", PROBE.replace("from actcli.cli import main",
                                             "from actcli.cli import app as main").replace(
            "ARGS", repr(["train", "rice_cooker", "-q", "--set", "train.epochs=3", "--out",
                          str(tmp_path)]))],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert json.loads(plain.stdout.strip().splitlines()[-1])["runs"]["2"] >= 1


def test_a_short_command_runs_no_collection_at_all(tmp_path):
    found = probe(["plot", "sigmoid", "--grad", "--out", str(tmp_path / "s.png")], tmp_path)
    assert found == {"runs": {"0": 0, "1": 0, "2": 0}, "enabled": False, "frozen": 0}
    assert (tmp_path / "s.png").stat().st_size > 0


@pytest.fixture
def fresh(monkeypatch):
    """The module's state as in a new process; the collector and atexit left untouched."""
    registered: list = []
    monkeypatch.setattr(collector, "_held", False)
    monkeypatch.setattr(collector, "_freeze_at_exit", False)
    monkeypatch.setattr(collector.atexit, "register", registered.append)
    was = gc.isenabled()
    yield registered
    gc.unfreeze()
    (gc.enable if was else gc.disable)()


def test_hold_disables_and_freezes_at_exit_once(fresh):
    gc.enable()
    collector.hold()
    assert not gc.isenabled() and collector.held()
    collector.hold()  # a second hold registers nothing more
    assert fresh == [gc.freeze]


def test_release_freezes_start_up_and_enables_once(fresh):
    gc.enable()
    collector.hold()
    made = [[] for _ in range(1000)]  # objects made while held
    collector.release()
    assert gc.isenabled() and not collector.held()
    assert gc.get_freeze_count() >= len(made)
    gc.unfreeze()
    collector.release()  # released already: nothing is frozen again
    assert gc.get_freeze_count() == 0


def test_release_without_hold_leaves_a_library_user_alone(fresh):
    gc.disable()  # the user's own choice
    collector.release()
    assert not gc.isenabled() and gc.get_freeze_count() == 0
    gc.enable()
    collector.release()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_spawned_worker_holds_it_as_the_console_entry_does(fresh, monkeypatch):
    from actcli.sweep import workers

    followed: list[int] = []
    monkeypatch.setattr(workers, "follow_parent", followed.append)
    gc.enable()
    workers.start_worker(1234)
    assert not gc.isenabled() and followed == [1234] and gc.freeze in fresh
