"""Where a run came from: versions, machine, threads, the command as typed, the git state."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from actcli import __version__


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_state(where: Path | None = None) -> dict[str, Any]:
    """{"git_commit", "git_dirty"} of the work tree ``where`` is in (default: the current
    folder); empty outside a git work tree or without git."""
    return dict(_git_state(str(where or Path.cwd())))


@cache  # once per process and folder: every cell of a compare would ask again
def _git_state(cwd: str) -> tuple[tuple[str, Any], ...]:

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                  timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return ()
    status = git("status", "--porcelain", "--untracked-files=no")
    return (("git_commit", commit), ("git_dirty", bool(status)))


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed: ``actcli train configs/x.yaml --seed 3``."""
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = Path(args[0]).name
        if args[0] in ("__main__.py", "-m"):
            args[0] = "actcli"
    return shlex.join(args)


COMMAND_LIMIT = 500  # characters of a command line a summary.json keeps


def shortened(command: str, limit: int = COMMAND_LIMIT) -> str:
    """``command`` whole when short, else its start and how long it was: a compare's cells
    each record the compare's command, and a sweep of a thousand values must not repeat it
    a thousand times (plan.json keeps it whole)."""
    if len(command) <= limit:
        return command
    return f"{command[:limit - 60]} ... ({len(command):,} characters; whole in plan.json)"


def collect(device: str | None = None, threads: int | None = None,
            command: str | None = None) -> dict[str, Any]:
    """The provenance a run's summary.json records (``device``: the GPU's name is added
    when it is a CUDA device; ``threads``: torch's thread count; ``command``: the command
    line, by default this process's)."""
    found: dict[str, Any] = {
        "actcli": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "command": shortened(command if command is not None else command_line()),
        "cwd": str(Path.cwd()),
    }
    if device is not None and device.startswith("cuda"):
        import torch

        found["gpu"] = torch.cuda.get_device_name(torch.device(device))
    elif device == "mps":
        found["gpu"] = "Apple MPS"
    return {**found, **git_state()}
