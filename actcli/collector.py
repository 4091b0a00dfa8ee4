"""Python's cyclic garbage collector around a command: held while the command starts,
released where its long work begins, and kept off the objects that live until exit.

Importing torch (and matplotlib) makes about a million objects that live as long as the
process. Python's collector walks every tracked object on each full collection: several
run while the modules import, and the interpreter runs more at exit (even with the
collector disabled), together about a third of a rice cooker run (``benchmarks/
startup.py``: the same command with and without this module). None of them can free
anything: reference counting frees what is not in a cycle, and start-up makes few cycles.

- :func:`hold` (the console entry and a spawned compare worker call it first) disables
  the collector and arranges that, at exit, every object is frozen (``gc.freeze``: moved
  where no collection looks) before the interpreter's own last collections.
- :func:`release` (where a training loop begins) freezes what start-up made and enables
  the collector again, so a long run collects its own cycles as usual.

A short command (``plot``, ``list``, ``predict``) ends with the collector held: what it
leaks in cycles is bounded by its work and returned at exit. Library use is unchanged:
nothing here runs unless :func:`hold` was called. What an object in a cycle would do only
when collected at exit (a file flushed by its finaliser) does not happen after ``hold``;
actcli closes every file it writes itself.
"""

from __future__ import annotations

import atexit
import gc

_held = False
_freeze_at_exit = False


def hold() -> None:
    """Disable the collector until :func:`release`, and freeze everything at exit."""
    global _held, _freeze_at_exit
    if gc.isenabled():
        gc.disable()
        _held = True
    if not _freeze_at_exit:
        # atexit runs before the interpreter's final collections; registered first, this
        # runs after every other exit function (they run last-in, first-out)
        atexit.register(gc.freeze)
        _freeze_at_exit = True


def release() -> None:
    """Where long work begins: freeze what start-up made, and collect as usual from here.
    Does nothing unless :func:`hold` disabled the collector (and only once)."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def held() -> bool:
    """Whether :func:`hold` has the collector disabled now."""
    return _held
