"""Python's cyclic garbage collector around a command: held while the command starts,
released where its long work begins, and kept off the objects that live until exit.

Importing torch (and matplotlib) makes hundreds of thousands of objects that live as long
as the process (``benchmarks/startup.py`` counts them). Python's collector walks every
tracked object on each full collection: several run while the modules import, and the
interpreter runs more at exit (even with the collector disabled). ``benchmarks/startup.py``
times the same commands with and without this module. Those collections free next to
nothing: reference counting frees what is not in a cycle, and start-up makes few cycles
(closures and typing's aliases, never a tensor or an array: tests/test_collector.py).

- :func:`hold` (the console entry and a spawned compare worker call it first) disables
  the collector and arranges that, at exit, every object is frozen (``gc.freeze``: moved
  where no collection looks) before the interpreter's own last collections.
- :func:`release` (where training begins: ``engine.loop.run_fit``, and
  ``sweep.executing.execute`` for a compare's parent) freezes what start-up made, its few
  cycles with it (kept until exit), and enables the collector again, so a long run
  collects its own cycles as usual.

The commands that never train (``plot``, ``list``, ``predict``, ``eval``, ``runs``,
``summary``, ``landscape``, ``backprop``) end with the collector held: each does bounded
work, and what it leaves in cycles is returned at exit. Library use is unchanged unless
it calls :func:`hold` (only the compare workers it spawns do). What an object in a cycle
would do only when collected at exit (a file flushed by its finaliser) does not happen
after ``hold``; actcli closes every file it writes itself.
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
