"""Which device a run uses (``auto`` picks cuda, then mps, then cpu), and how much memory it has."""

from __future__ import annotations

import os

import torch

from actcli.errors import DeviceError, quote


def resolve(name: str) -> torch.device:
    """The torch device for ``name``; DeviceError when this machine has no such device."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "mps":
        if not mps:
            raise DeviceError("device: 'mps' is not available on this machine; use cpu or auto")
        return torch.device("mps")
    if name.startswith("cuda"):
        if not cuda:
            raise DeviceError(
                f"device: {quote(name)} is not available (no CUDA GPU on this machine); "
                "use cpu or auto"
            )
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"device: {quote(name)} does not exist; this machine has cuda:0..cuda:{count - 1}"
            )
        return torch.device(name)
    raise DeviceError(f"device: {quote(name)} is not a device; valid: auto, cpu, cuda, cuda:N, mps")


def available_memory(device: torch.device) -> int | None:
    """Bytes free for new tensors on ``device``, or None where it cannot be told."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def require_memory(device: torch.device, needed: int, what: str) -> None:
    """DeviceError (exit 2) before anything is allocated when ``needed`` bytes cannot fit."""
    free = available_memory(device)
    if free is not None and needed > free:
        raise DeviceError(f"{what} needs about {_bytes(needed)} but {device} has "
                          f"{_bytes(free)} free; make the model or the batch smaller")


def _bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
