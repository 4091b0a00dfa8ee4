"""Learning-rate range test: train briefly while the lr grows exponentially; pick one.

From the config's initial network, each step uses the next mini-batch (or the full batch)
at a learning rate growing from ``low`` to ``high``; the loss is smoothed (exponential
moving average, bias-corrected) and the test stops once it exceeds 4x its minimum or turns
non-finite. The chosen rate is the one at the smoothed minimum divided by 10: the usual
rule, since the minimum itself is already at the edge of divergence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from actcli.config import Config
from actcli.training.parts import engine_for, prepare


@dataclass(frozen=True)
class RangeTest:
    lrs: list[float]
    losses: list[float]  # smoothed
    chosen: float


def find_lr(config: Config, *, steps: int = 100, low: float = 1e-5, high: float = 1.0,
            smoothing: float = 0.9) -> RangeTest:
    """Run the range test for ``config`` (its seed, model, optimizer and batch size)."""
    p = prepare(config)
    engine = engine_for([p])  # what training it would use: the same step, the same numbers
    engine.train_mode()
    x, y = p.train.x, p.train.y
    n = len(y)
    size = n if config.train.batch_size is None else min(config.train.batch_size, n)
    order = torch.randperm(n, generator=p.generator)
    base = float(config.optimizer.kwargs["lr"])
    alive = torch.ones(1, dtype=torch.bool, device=x.device)
    lrs, losses = [], []
    average, best = 0.0, math.inf
    for step in range(steps):
        lr = low * (high / low) ** (step / max(steps - 1, 1))
        engine.set_lr_scale(lr / base)
        start = (step * size) % n
        idx = order[start:start + size] if size < n else slice(None)
        found, _, finite = engine.batch(x[idx], y[idx], False, alive)
        if not math.isfinite(float(found[0])) or (finite is not None and not bool(finite[0])):
            break  # loss or a gradient not finite
        value = float(found[0])
        average = smoothing * average + (1 - smoothing) * value
        smoothed = average / (1 - smoothing ** (step + 1))
        lrs.append(lr)
        losses.append(smoothed)
        best = min(best, smoothed)
        if smoothed > 4 * best:
            break
    at_min = lrs[losses.index(min(losses))] if losses else low
    return RangeTest(lrs, losses, max(at_min / 10, low))
