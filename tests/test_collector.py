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
from actcli import collector
# what start-up left in cycles when the collector is released (frozen with the rest, so
# kept until exit): counted here by a collection the product does not run
left = {"objects": None, "arrays": None}
release = collector.release
def probing():
    if collector.held():
        gc.set_debug(gc.DEBUG_SAVEALL)
        left["objects"] = gc.collect()
        gc.set_debug(0)
        import numpy, torch
        left["arrays"] = sum(isinstance(o, (numpy.ndarray, torch.Tensor)) for o in gc.garbage)
        gc.garbage.clear()
        runs.update({0: 0, 1: 0, 2: 0})  # (that collection is the probe's, not the run's)
    release()
collector.release = probing
from actcli.cli import main
sys.argv = ["actcli", *ARGS]
runs.update({0: 0, 1: 0, 2: 0})  # from the command's first line (typer is imported)
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print(json.dumps({"runs": runs, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "left": left}))
"""


def probe(args: list[str], cwd, entry: str = "main") -> dict:
    code = PROBE.replace("ARGS", repr(args))
    if entry == "app":  # the app without the console entry: the collector as Python has it
        code = code.replace("from actcli.cli import main", "from actcli.cli import app as main")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_train_starts_with_no_collection_and_trains_with_one(tmp_path):
    args = ["train", "rice_cooker", "-q", "--set", "train.epochs=3", "--out", str(tmp_path)]
    found = probe(args, tmp_path)
    # released at the loop: start-up's objects (torch's modules) are frozen, out of every
    # later collection, and the run collects its own cycles
    assert found["enabled"] is True
    assert found["frozen"] > 100_000
    # start-up leaves small objects in cycles (closures, typing's aliases), never data
    assert found["left"]["arrays"] == 0
    # the same run through the app (the collector as Python leaves it) runs full
    # collections over torch's objects while they import; held, none runs before release
    plain = probe(args, tmp_path, entry="app")
    assert plain["frozen"] == 0 and plain["runs"]["2"] >= 1
    assert found["runs"]["2"] < plain["runs"]["2"]


def test_a_short_command_runs_no_collection_at_all(tmp_path):
    found = probe(["plot", "sigmoid", "--grad", "--out", str(tmp_path / "s.png")], tmp_path)
    assert found == {"runs": {"0": 0, "1": 0, "2": 0}, "enabled": False, "frozen": 0,
                     "left": {"objects": None, "arrays": None}}  # never released
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
    gc.freeze()  # the session's objects frozen again, as conftest left them
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
    made = [[] for _ in range(3)]  # objects made while held
    assert id(made) in {id(o) for o in gc.get_objects()}
    collector.release()
    assert gc.isenabled() and not collector.held()
    # frozen: in no generation a collection walks (gc.get_objects lists those only)
    assert id(made) not in {id(o) for o in gc.get_objects()}
    later = [[] for _ in range(3)]
    collector.release()  # released already: nothing is frozen again
    assert id(later) in {id(o) for o in gc.get_objects()}


def test_release_without_hold_leaves_a_library_user_alone(fresh):
    gc.disable()  # the user's own choice
    mine = [[] for _ in range(3)]
    collector.release()
    assert not gc.isenabled()
    gc.enable()
    collector.release()
    assert gc.isenabled() and id(mine) in {id(o) for o in gc.get_objects()}


def test_a_spawned_worker_holds_it_as_the_console_entry_does(fresh, monkeypatch):
    from actcli.sweep import workers

    followed: list[int] = []
    monkeypatch.setattr(workers, "follow_parent", followed.append)
    gc.enable()
    workers.start_worker(1234)
    assert not gc.isenabled() and followed == [1234] and gc.freeze in fresh
