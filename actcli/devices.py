"""Which device a run uses: ``auto`` picks cuda, then mps, then cpu."""

from __future__ import annotations

import torch

from actcli.errors import DeviceError


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
                f"device: {name!r} is not available (no CUDA GPU on this machine); "
                "use cpu or auto"
            )
        index = int(name.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise DeviceError(
                f"device: {name!r} does not exist; this machine has cuda:0..cuda:{count - 1}"
            )
        return torch.device(name)
    raise DeviceError(f"device: {name!r} is not a device; valid: auto, cpu, cuda, cuda:N, mps")
