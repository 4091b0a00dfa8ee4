"""Paths and small helpers shared by the tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def stop_requested_at(monkeypatch, call: int) -> type:
    """Make every run's StopRequests report a stop from its ``call``-th check on (the
    loop checks after each step), as if Ctrl-C came then; return the real class, to put
    back."""
    from actcli.engine import checkpoints

    real = checkpoints.StopRequests

    class StopSoon(real):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def __call__(self) -> bool:
            self.calls += 1
            return self.calls >= call

    monkeypatch.setattr(checkpoints, "StopRequests", StopSoon)
    return real


def fit_alone(net, objective, optimizer, x, y, *, epochs: int, batch_size: int | None,
              generator, evaluate=dict, correct=None, cosine=None, **kwargs):
    """The loop over one network trained with autograd (its one FitResult): run_fit with an
    AutogradEngine, as a CNN's run trains."""
    from actcli.engine.autograd import AutogradEngine
    from actcli.engine.loop import Orders, run_fit

    engine = AutogradEngine(net, objective, optimizer, correct, cosine)
    on_epoch = kwargs.pop("on_epoch", None)
    return run_fit(engine, x, y, epochs=epochs, batch_size=batch_size,
                   orders=Orders.one(generator), evaluate=lambda: [evaluate()],
                   on_epoch=None if on_epoch is None else
                   (lambda _, epoch, loss, row: on_epoch(epoch, loss, row)), **kwargs)[0]


def epoch_alone(net, objective, optimizer, x, y, batch_size: int | None, generator,
                correct=None) -> tuple[float, float]:
    """One epoch of one network trained with autograd: (mean loss, accuracy or NaN)."""
    import math

    import torch

    from actcli.engine.autograd import AutogradEngine
    from actcli.engine.loop import EpochResult, Orders, run_epoch

    engine = AutogradEngine(net, objective, optimizer, correct)
    alive = torch.ones(1, dtype=torch.bool)
    found = run_epoch(engine, x, y, batch_size, Orders.one(generator), alive)
    assert isinstance(found, EpochResult)  # no stop asked for: the whole epoch
    if not math.isfinite(float(found.loss[0])):
        return math.nan, math.nan
    accuracy = found.accuracy
    return float(found.loss[0]), float(accuracy[0]) if accuracy is not None else math.nan
