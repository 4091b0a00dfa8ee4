"""Stopping a run cleanly and picking it up again: signals, checkpoint state.

A checkpoint (:class:`Checkpoint`: one file, a run alone's or a whole stack's, written at
once so that its models never disagree about where they are) holds everything the loop's
next step depends on: the engine's state (weights, every optimizer's state, the schedule,
the dropout streams: ``Engine.state``), the epoch and the position inside it, every
batch-order generator, which models still train (and why the others stopped), each
model's progress; and the name and config of each model, so that a resume can tell
whether the checkpoint fits what it is asked to continue. Files of earlier layouts (a
stack's layout 1, a run alone's before layout 2) are read and continued.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from actcli import folders
from actcli.engine.loop import Cursor
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
    # --animate's frames so far: (epoch, train loss, the picture's array)
    frames: list[tuple[int, float, Any]] = field(default_factory=list)


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


FORMAT = "actcli checkpoint"  # the mark of a checkpoint file (a run's or a stack's)
VERSION = 2  # its layout: the engine's state under "engine" (see read)
STACK_FORMAT_1 = "actcli stack checkpoint"  # layout 1 (stacks only): still read


@dataclass
class Checkpoint:
    """Where K models training together are (K = 1 for a run alone), model by model in
    the order they train in."""

    names: list[str]  # each model's folder name (a compare's cell id)
    configs: list[dict[str, Any]]  # each model's resolved config (config.to_dict)
    epoch: int  # epochs finished
    cursor: Cursor | None  # where an interrupted epoch stopped
    engine: dict[str, Any]  # the engine's state (Engine.state: weights, optimizer, ...)
    orders: list[Tensor]  # states of the batch-order generators (one per distinct seed)
    alive: list[bool]  # the models that still train
    stopped: list[dict[str, Any] | None]  # a model that stopped: {"reason", "epochs"}
    # each model's history, best and diagnostics (and an animated run's frames, their
    # arrays as tensors); None: nothing recorded (a model that trained along only, its
    # folder complete already)
    records: list[dict[str, Any] | None]
    seconds: float  # training time so far

    def state(self) -> dict[str, Any]:
        """The checkpoint (plain tensors and containers: loadable with weights_only=True)."""
        return {"format": FORMAT, "version": VERSION, "names": self.names,
                "configs": self.configs, "epoch": self.epoch,
                "cursor": self.cursor.state() if self.cursor is not None else None,
                "engine": self.engine, "orders": self.orders, "alive": self.alive,
                "stopped": self.stopped, "records": self.records, "seconds": self.seconds}

    def progress(self, k: int) -> Progress | None:
        """Model k's progress, for its Tracker (None when the checkpoint recorded none)."""
        record = self.records[k]
        if record is None:
            return None
        return Progress(self.epoch, self.cursor, list(record["history"]), dict(record["best"]),
                        list(record["diagnostics"]), self.seconds,
                        list(record.get("frames", [])))


def _array(picture: Any) -> Any:
    """A frame's picture as saved (a tensor) as the numpy array the animation draws."""
    if not isinstance(picture, Tensor):
        raise TypeError(f"a frame holds a {type(picture).__name__}, not a tensor")
    return picture.cpu().numpy()


def read(path: Path, device: torch.device | str = "cpu",
         alone: tuple[str, dict[str, Any], bool] | None = None) -> Checkpoint:
    """A checkpoint, or one ActcliError line: unreadable, damaged, or of a layout this
    version does not know. Layout 1 of a stack's checkpoint is read as it is. A run
    alone's checkpoint of earlier versions (no layout mark) is read where ``alone`` says
    whose it is: (folder name, config.to_dict, dense network), as :func:`legacy_run`."""
    found: Any = folders.load_state(path)  # (one line when it cannot be read)
    if not isinstance(found, dict):
        found = {}
    if "format" not in found and {"model", "optimizer", "generator"} <= set(found):
        if alone is None:
            raise ActcliError(f"{path}: not a stack's checkpoint (a run alone's, of an "
                              "earlier actcli version); delete it to train again")
        try:
            return legacy_run(found, *alone, device=device)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError,
                AssertionError) as err:
            raise ActcliError(f"{path}: damaged ({type(err).__name__}: "
                              f"{str(err).splitlines()[0] if str(err) else 'missing parts'}"
                              "); train the run again") from None
    if found.get("format") == STACK_FORMAT_1 and found.get("version") == 1:
        found = dict(found, engine={key: found.get(key) for key in
                                    ("flat", "optimizer", "scale", "dropout")})
    elif found.get("format") != FORMAT or found.get("version") != VERSION:
        version = found.get("version") if found.get("format") in (FORMAT, STACK_FORMAT_1) \
            else None
        what = (f"a checkpoint of layout {version}, not {VERSION} (written by another actcli "
                "version: continue it with that version, or delete it to train again)"
                if version is not None else "not a checkpoint of actcli")
        raise ActcliError(f"{path}: {what}")
    try:
        k = len(found["names"])
        state = Checkpoint(
            [str(n) for n in found["names"]], [dict(c) for c in found["configs"]],
            int(found["epoch"]),
            Cursor.from_state(found["cursor"], torch.device(device))
            if found["cursor"] is not None else None,
            dict(found["engine"]), list(found["orders"]), [bool(a) for a in found["alive"]],
            list(found["stopped"]), list(found["records"]), float(found["seconds"]))
        if not all(len(part) == k for part in (state.configs, state.alive, state.stopped,
                                                state.records)):
            raise ValueError("its parts disagree about how many models it holds")
        for record in state.records:  # an animated run's frames: their arrays as numpy
            if record is not None and "frames" in record:
                record["frames"] = [(int(epoch), float(loss), _array(picture))
                                    for epoch, loss, picture in record["frames"]]
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as err:
        raise ActcliError(f"{path}: damaged ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else 'missing parts'})"
                          ) from None
    return state


def legacy_run(found: dict[str, Any], name: str, config: dict[str, Any], dense: bool,
               device: torch.device | str = "cpu") -> Checkpoint:
    """A run alone's checkpoint of earlier versions as a :class:`Checkpoint`.

    Those held the network's state_dict, the torch optimizer's state, the schedule's
    state, the batch-order generator and torch's global generator (dropout drew from
    it). An autograd network's engine state is exactly that. A plain MLP trained then
    with its parameters in one flat tensor and one optimizer over it, in parameter order:
    the layout of a dense stack of one, whose dropout stream starts where the global
    generator was. ValueError/KeyError/TypeError when the file lacks a part.
    """
    if dense:
        held = [p for group in found["optimizer"]["param_groups"] for p in group["params"]]
        if len(held) != 1:  # then trained with autograd (prelu did), now in a stack
            raise ActcliError(f"{name}: its checkpoint was written by an earlier actcli, "
                              "which trained this network with autograd; it trains in the "
                              "dense engine now and cannot continue that state: train the "
                              "run again")
        flat = torch.cat([t.reshape(-1) for t in found["model"].values()])
        schedule = found.get("scheduler")
        scale = 1.0
        if schedule is not None:  # CosineAnnealingLR (eta_min 0) after last_epoch steps
            import math

            scale = (1 + math.cos(math.pi * int(schedule["last_epoch"]) /
                                  int(schedule["T_max"]))) / 2
        engine = {"flat": flat, "optimizer": [found["optimizer"]], "scale": scale,
                  "dropout": [found["torch_rng"]]}
    else:
        engine = {key: found[key] for key in ("model", "optimizer", "scheduler", "torch_rng")}
    cursor = found["cursor"]
    return Checkpoint([name], [config], int(found["epoch"]),
                      Cursor.from_state(cursor, torch.device(device))
                      if cursor is not None else None,
                      engine, [found["generator"]], [True], [None],
                      [{"history": list(found["history"]), "best": dict(found["best"]),
                        "diagnostics": list(found.get("diagnostics", []))}],
                      float(found["seconds"]))


def misfit(saved: Checkpoint, names: Sequence[str], configs: Sequence[dict[str, Any]],
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
        differ = first_difference(saved.configs[position], configs[position])
        if differ is not None:
            return f"{name}: its config is not the one the checkpoint was written with " \
                f"({differ})"
        if recorded[position] and saved.records[position] is None:
            return (f"it holds no record of {name} (that model had completed when the "
                    "checkpoint was written)")
    return None


def first_difference(a: Any, b: Any, key: str = "") -> str | None:  # data
    """The first key where two config documents differ, as "key: a -> b", or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for name in [*a, *(k for k in b if k not in a)]:
            found = first_difference(a.get(name), b.get(name), f"{key}.{name}".lstrip("."))
            if found is not None:
                return found
        return None
    return None if a == b else f"{key}: {json.dumps(a)} -> {json.dumps(b)}"
