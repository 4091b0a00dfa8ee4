"""The loss over the (a, b) plane of a one-neuron model, and the paths optimizers take on it.

For output(a x + b) on a 1-D task, every (a, b) is a whole model: the loss surface can be
drawn as contours, and SGD, SGD with momentum and Adam started from the same point show how
the learning rate, momentum and per-parameter scaling move across flat and steep regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from actcli import devices
from actcli.config import Config
from actcli.errors import ConfigError
from actcli.tasks import TASKS
from actcli.training.parts import build_parts


@dataclass(frozen=True)
class Trajectory:
    name: str
    a: np.ndarray  # (steps + 1,), the start included
    b: np.ndarray
    loss: np.ndarray


@dataclass(frozen=True)
class Landscape:
    a: np.ndarray  # (points,) grid of the weight a
    b: np.ndarray  # (points,) grid of the bias b
    loss: np.ndarray  # (points, points): loss[i, j] at (a[j], b[i])
    paths: list[Trajectory]
    lr: float


def compute(config: Config, *, steps: int = 200, lr: float | None = None,
            momentum: float = 0.9, points: int = 101) -> Landscape:
    """Run the three optimizers full-batch from the config's initial (a, b); grid the loss."""
    task = TASKS.get(config.task.name).task
    input_shape, n_outputs = task.shape(config.task)
    if config.model.hidden or config.model.kind != "mlp" or input_shape != (1,) \
            or n_outputs != 1:
        raise ConfigError("landscape needs a one-neuron model on a 1-D task "
                          "(rice_cooker or beans with model.hidden: [])")
    if steps < 1:
        raise ConfigError(f"--steps: must be >= 1, got {steps}")
    if lr is not None and not lr > 0:
        raise ConfigError(f"--lr: must be > 0, got {lr}")
    if not 0 <= momentum < 1:
        raise ConfigError(f"--momentum: must be in [0, 1), got {momentum}")
    lr = float(config.optimizer.kwargs["lr"]) if lr is None else lr
    data = task.load(config.task)
    parts = build_parts(config, data, devices.resolve("cpu"), input_shape)
    start = {k: v.clone() for k, v in parts.net.state_dict().items()}
    x, y = data.train.x, data.train.y
    from actcli.engine import updates
    from actcli.inspection.surfaces import OptimizerChoice, optimizer_ref

    # torch's kernels without torch.optim's import of its compiler (engine.updates)
    refs = {"sgd": optimizer_ref(OptimizerChoice("sgd"), lr),
            f"sgd momentum {momentum:g}": optimizer_ref(
                OptimizerChoice("sgd", {"momentum": momentum}), lr),
            "adam": optimizer_ref(OptimizerChoice("adam"), lr)}
    makers = {name: (lambda ps, ref=ref: updates.make(ref, list(ps)))
              for name, ref in refs.items()}
    layer = parts.net.layers[0]
    assert isinstance(layer, torch.nn.Linear)  # a one-neuron model: checked above
    paths = []
    for name, make in makers.items():
        parts.net.load_state_dict(start)
        optimizer = make(parts.net.parameters())
        a, b, losses = [], [], []
        for step in range(steps + 1):
            optimizer.zero_grad()
            loss = parts.objective(parts.net(x), y)
            a.append(float(layer.weight.detach()))
            b.append(float(layer.bias.detach()))
            losses.append(float(loss.detach()))
            if step < steps:
                loss.backward()
                optimizer.step()
        paths.append(Trajectory(name, np.array(a), np.array(b), np.array(losses)))
    a_grid, b_grid = _span([p.a for p in paths], points), _span([p.b for p in paths], points)
    surface = np.empty((points, points))
    with torch.no_grad():
        for i, bi in enumerate(b_grid):
            for j, aj in enumerate(a_grid):
                layer.weight.fill_(aj)
                layer.bias.fill_(bi)
                surface[i, j] = float(parts.objective(parts.net(x), y))
    return Landscape(a_grid, b_grid, surface, paths, lr)


def _span(series: list[np.ndarray], points: int) -> np.ndarray:
    """A grid covering every path with a margin (at least 1 wide)."""
    lo = min(float(s.min()) for s in series)
    hi = max(float(s.max()) for s in series)
    middle, half = (lo + hi) / 2, max((hi - lo) * 0.6, 0.5)
    return np.linspace(middle - half, middle + half, points)


def draw(config: Config, found: Landscape, out: Path) -> Path:
    """The landscape picture, saved where ``--out`` says; returns its path."""
    from actcli import folders, plots

    path = folders.picture_path(out, f"landscape-{config.name}.png")
    steps = len(found.paths[0].a) - 1
    figure = plots.loss_landscape(found.a, found.b, found.loss,
                                  [(t.name, t.a, t.b) for t in found.paths],
                                  f"{config.name}: {config.loss.name} over (a, b), "
                                  f"lr {found.lr:g}, {steps} steps")
    folders.save_figure(figure, path)
    return path
