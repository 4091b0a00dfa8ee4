"""Stopping a run cleanly and picking it up again: signals, checkpoint state, restore.

A checkpoint holds everything the loop's next step depends on: model, optimizer and
schedule state, the epoch (and the position inside it), the batch-order generator and
torch's global RNG (dropout), plus what the run has recorded so far.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from actcli.errors import ActcliError
from actcli.training import Cursor

FILE = "checkpoint.pt"


@dataclass
class Progress:
    """How far a run got, and what it recorded on the way."""

    epoch: int  # epochs finished
    cursor: Cursor | None  # where an interrupted epoch stopped
    history: list[dict[str, float]]
    best: dict[str, Any]  # best validation accuracy, its epoch and weights
    diagnostics: list[dict[str, float]]
    seconds: float  # training time so far


def state(net: nn.Module, optimizer: torch.optim.Optimizer,
          scheduler: torch.optim.lr_scheduler.LRScheduler | None,
          generator: torch.Generator, progress: Progress) -> dict[str, Any]:
    """A checkpoint (plain tensors and containers: loadable with weights_only=True)."""
    return {
        "model": net.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": progress.epoch,
        "cursor": progress.cursor.state() if progress.cursor is not None else None,
        "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
        "history": progress.history, "best": progress.best, "seconds": progress.seconds,
        "diagnostics": progress.diagnostics,
    }


def restore(checkpoint: dict[str, Any], net: nn.Module, optimizer: torch.optim.Optimizer,
            scheduler: torch.optim.lr_scheduler.LRScheduler | None,
            generator: torch.Generator, device: torch.device) -> Progress:
    """Load a checkpoint into freshly built parts; return the progress it recorded."""
    try:
        net.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (KeyError, RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ActcliError(
            f"{FILE}: its model or optimizer state does not fit the network this config "
            f"builds (written by another actcli version?): {first}; start the run again"
        ) from None
    if scheduler is not None and checkpoint["scheduler"] is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    generator.set_state(checkpoint["generator"])
    torch.set_rng_state(checkpoint["torch_rng"])
    cursor = (Cursor.from_state(checkpoint["cursor"], device)
              if checkpoint["cursor"] is not None else None)
    return Progress(int(checkpoint["epoch"]), cursor, list(checkpoint["history"]),
                    dict(checkpoint["best"]), list(checkpoint.get("diagnostics", [])),
                    float(checkpoint["seconds"]))


class StopRequests:
    """SIGINT/SIGTERM ask the loop to stop after its current step; a second Ctrl-C is final.

    Inside :meth:`held` (a run's wrap-up: its checkpoint, model.pt, summary.json) no signal
    raises: a request there only asks the wrap-up to leave out what it has not drawn yet,
    so an interrupt at any moment leaves a run that is complete or resumes.
    """

    def __init__(self) -> None:
        self.requested = False
        self._holding = False
        self._old: dict[int, Any] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT and not self._holding:
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def held(self) -> Iterator[StopRequests]:
        """No KeyboardInterrupt inside: a Ctrl-C here only sets :attr:`requested`."""
        self._holding = True
        try:
            yield self
        finally:
            self._holding = False

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
