"""One process at a time per run folder and per compare folder: an advisory lock.

The lock is ``flock`` on a ``.lock`` file in the folder, held for as long as the process
works there; the kernel lets go of it when the process ends, however it ends (SIGKILL
included). So a folder whose summary.json says ``running`` while nobody holds its lock
belongs to a process that is gone. The file also says who holds it (pid, host, command,
since when), so a second process is refused with a line that names the holder.

Where ``fcntl`` does not exist (Windows) folders are not locked.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from actcli.errors import ActcliError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks
    fcntl = None  # type: ignore[assignment]

FILE = ".lock"


class FolderBusy(ActcliError):
    """Another live process works in the folder (exit code 2)."""


class FolderLock:
    """Hold ``folder``'s lock (``with FolderLock(folder, "train"):``), or raise FolderBusy."""

    def __init__(self, folder: Path, what: str) -> None:
        self.folder, self.what = folder, what
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        if self._fd is None:  # not taken already (by whoever made the folder)
            self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()

    def acquire(self) -> None:
        if fcntl is None:
            return
        path = self.folder / FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy(self.folder) from None
        except OSError:  # a file system without locks (some network mounts): go on unlocked
            os.close(fd)
            return
        info = {"pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(sys.argv)[:300]}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def busy(folder: Path) -> FolderBusy:
    """The error for a folder another live process holds, naming that process."""
    return FolderBusy(f"{folder}: in use by {describe(holder(folder))}; wait for it to "
                      "finish, or stop it first")


def holder(folder: Path) -> dict[str, Any]:
    """What the lock file says of its holder (empty when it says nothing readable)."""
    try:
        found = json.loads((folder / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def describe(found: dict[str, Any]) -> str:
    if not found:
        return "another process"
    return (f"{found.get('what', 'actcli')} (pid {found.get('pid')} on {found.get('host')}, "
            f"since {found.get('since')})")


def is_held(folder: Path) -> bool:
    """Whether a live process holds ``folder``'s lock now (False where there is no lock
    file, or no locks on this system)."""
    if fcntl is None or not (folder / FILE).exists():
        return False
    try:
        fd = os.open(folder / FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def status(folder: Path, recorded: object) -> str:
    """A run's status as it stands: what summary.json records, except that a "running" run
    is ``running`` only while its process holds the folder's lock, ``killed`` when the lock
    was left (the process is gone), ``unfinished`` when there is no lock to tell (a run
    from before locks)."""
    if recorded != "running":
        return str(recorded)
    if is_held(folder):
        return "running"
    return "killed" if (folder / FILE).exists() else "unfinished"
