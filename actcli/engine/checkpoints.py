"""Stopping a run cleanly and picking it up again: signals, checkpoint state, restore.

A checkpoint holds everything the loop's next step depends on: model, optimizer and
schedule state, the epoch (and the position inside it), the batch-order generator and
torch's global RNG (dropout), plus what the run has recorded so far.

A stack's checkpoint (:class:`StackState`, one file for all its models, written at once so
that they never disagree about where the stack is) holds the same for K models: the
stack's parameters, every optimizer's state, the schedule's factor, the cursor, every
batch-order and dropout generator, which models still train (and why the others stopped),
each model's progress; and the name and config of each model, so that a resume can tell
whether the checkpoint fits the stack it is asked to continue.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from actcli.engine.loop import Cursor
from actcli.engine.stack import StackedMLP
from actcli.engine.stack_optim import StackedOptimizer
from actcli.errors import ActcliError

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


STACK_FORMAT = "actcli stack checkpoint"  # the mark of a stack's checkpoint file
STACK_VERSION = 1  # its layout; another one is refused (see read_stack)


@dataclass
class StackState:
    """Where a stack is, model by model in stack order (the order fused.run trains in)."""

    names: list[str]  # each model's folder name (a compare's cell id)
    configs: list[dict[str, Any]]  # each model's resolved config (config.to_dict)
    epoch: int  # epochs finished
    cursor: Cursor | None  # where an interrupted epoch stopped
    flat: Tensor  # every model's parameters (StackedMLP.flat) [K * P]
    optimizer: list[dict[str, Any]]  # StackedOptimizer.state()
    scale: float  # the schedule's factor of every learning rate
    orders: list[Tensor]  # states of the batch-order generators (one per distinct seed)
    dropout: list[Tensor]  # states of each model's dropout generator
    alive: list[bool]  # the models that still train
    stopped: list[dict[str, Any] | None]  # a model that stopped: {"reason", "epochs"}
    # each model's history, best and diagnostics; None: nothing recorded (a model that
    # trained along only, its folder complete already)
    records: list[dict[str, Any] | None]
    seconds: float  # the stack's training time so far

    def state(self) -> dict[str, Any]:
        """The checkpoint (plain tensors and containers: loadable with weights_only=True)."""
        return {"format": STACK_FORMAT, "version": STACK_VERSION, "names": self.names,
                "configs": self.configs, "epoch": self.epoch,
                "cursor": self.cursor.state() if self.cursor is not None else None,
                "flat": self.flat.detach().cpu(), "optimizer": self.optimizer,
                "scale": self.scale, "orders": self.orders, "dropout": self.dropout,
                "alive": self.alive, "stopped": self.stopped, "records": self.records,
                "seconds": self.seconds}

    def progress(self, k: int) -> Progress | None:
        """Model k's progress, for its Tracker (None when the checkpoint recorded none)."""
        record = self.records[k]
        if record is None:
            return None
        return Progress(self.epoch, self.cursor, list(record["history"]), dict(record["best"]),
                        list(record["diagnostics"]), self.seconds)


def read_stack(path: Path, device: torch.device | str = "cpu") -> StackState:
    """A stack's checkpoint, or one ActcliError line: unreadable, or not of this layout
    (another actcli version, or not a stack's checkpoint)."""
    import pickle
    import zipfile

    try:
        found = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ActcliError(f"{path}: no such file") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError,
            zipfile.BadZipFile, AttributeError, TypeError) as err:
        raise ActcliError(f"{path}: cannot be read (truncated, or not a checkpoint: "
                          f"{type(err).__name__})") from None
    if not isinstance(found, dict):
        found = {}
    if found.get("format") != STACK_FORMAT or found.get("version") != STACK_VERSION:
        version = found.get("version") if found.get("format") == STACK_FORMAT else None
        what = (f"a stack checkpoint of layout {version}, not {STACK_VERSION} (written by "
                "another actcli version)" if version is not None
                else "not a stack checkpoint of this actcli version")
        raise ActcliError(f"{path}: {what}")
    try:
        k = len(found["names"])
        state = StackState(
            [str(n) for n in found["names"]], [dict(c) for c in found["configs"]],
            int(found["epoch"]),
            Cursor.from_state(found["cursor"], torch.device(device))
            if found["cursor"] is not None else None,
            found["flat"], list(found["optimizer"]), float(found["scale"]),
            list(found["orders"]), list(found["dropout"]), [bool(a) for a in found["alive"]],
            list(found["stopped"]), list(found["records"]), float(found["seconds"]))
        if not isinstance(state.flat, Tensor) or not all(
                len(part) == k for part in (state.configs, state.dropout, state.alive,
                                            state.stopped, state.records)):
            raise ValueError("its parts disagree about how many models it holds")
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as err:
        raise ActcliError(f"{path}: damaged ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'missing parts'})"
                          ) from None
    return state


def stack_misfit(saved: StackState, names: Sequence[str], configs: Sequence[dict[str, Any]],
                 recorded: Sequence[bool]) -> str | None:
    """What keeps ``saved`` from continuing a stack of the models ``names`` with
    ``configs`` (config.to_dict), in stack order, of which those ``recorded`` need their
    record; None when it fits."""
    if saved.names != list(names):
        missing = [n for n in names if n not in saved.names]
        if not missing and len(saved.names) == len(names):
            return "it holds these models in another order"
        if len(saved.names) + len(names) <= 6:
            return f"it holds the models {', '.join(saved.names)}, not {', '.join(names)}"
        return (f"it holds {len(saved.names)} models, not these {len(names)}"
                + (f" (it lacks {missing[0]})" if missing else ""))
    for position, name in enumerate(names):
        differ = _first_difference(saved.configs[position], configs[position])
        if differ is not None:
            return f"{name}: its config is not the one the checkpoint was written with " \
                f"({differ})"
        if recorded[position] and saved.records[position] is None:
            return (f"it holds no record of {name} (that model had completed when the "
                    "checkpoint was written)")
    return None


def _first_difference(a: Any, b: Any, key: str = "") -> str | None:  # data
    """The first key where two config documents differ, as "key: a -> b", or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(name), b.get(name), f"{key}.{name}".lstrip("."))
            if found is not None:
                return found
        return None
    return None if a == b else f"{key}: {json.dumps(a)} -> {json.dumps(b)}"


def restore_stack(saved: StackState, path: Path, stack: StackedMLP,
                  optimizer: StackedOptimizer, orders: Sequence[torch.Generator]) -> None:
    """Load ``saved`` (read from ``path``; its models checked by :func:`stack_misfit`)
    into a freshly built stack, its optimizer and its batch-order generators; ActcliError
    when its tensors do not fit them. The caller restores the schedule's factor."""
    try:
        if saved.flat.shape != stack.flat.shape:
            raise ValueError(f"{saved.flat.numel():,} parameters, not the stack's "
                             f"{stack.flat.numel():,}")
        with torch.no_grad():
            stack.flat.copy_(saved.flat)
        dead = [k for k, alive in enumerate(saved.alive) if not alive]
        if dead:  # frozen again: the optimizer's state holds the others only
            optimizer.freeze(dead)
        optimizer.load(saved.optimizer)
        if len(saved.orders) != len(orders):
            raise ValueError(f"{len(saved.orders)} batch orders, not {len(orders)}")
        for generator, state in zip(orders, saved.orders, strict=True):
            generator.set_state(state)
        for generator, state in zip(stack.generators, saved.dropout, strict=True):
            generator.set_state(state)
    except (ValueError, RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ActcliError(f"{path}: does not fit the stack its configs build ({first}); "
                          "delete it to train the stack from zero") from None
