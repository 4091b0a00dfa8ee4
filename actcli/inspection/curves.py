"""Activation curves for ``actcli plot``: values, autograd and textbook derivatives."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from actcli import folders, plots
from actcli.components import activations
from actcli.errors import ConfigError

EXAMPLE_LOGITS = (1.0, 2.0, 0.5, -1.0, 3.0)  # what `plot softmax` shows


@dataclass(frozen=True)
class Drawn:
    path: Path
    max_gap: dict[str, float]  # name -> max |autograd - textbook derivative| on the grid


def _values(spec: activations.ActivationSpec, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """f(x), f'(x) by autograd through torch's module and f'(x) by the textbook formula, for
    an element-wise activation with its default options (x float64)."""
    kwargs = {key: p.default for key, p in spec.params.items()}
    leaf = x.detach().clone().requires_grad_(True)
    y = spec.module(**kwargs).double()(leaf)
    (dy,) = torch.autograd.grad(y.sum(), leaf)
    return y.detach(), dy, spec.grad(x.detach(), **kwargs)


def evaluate(name: str, lo: float, hi: float, points: int = 801) -> plots.Curve:
    """f, autograd f' and the textbook f' of activation ``name`` on [lo, hi] (float64)."""
    spec = activations.ACTIVATIONS.get(name)
    x = torch.linspace(lo, hi, points, dtype=torch.float64)
    y, dy, analytic = _values(spec, x)
    return plots.Curve(spec.name, x.numpy(), y.numpy(), dy.numpy(), analytic.numpy())


def softmax_example(logits: tuple[float, ...] = EXAMPLE_LOGITS) -> dict[str, np.ndarray]:
    """Probabilities, torch's autograd Jacobian and the textbook one for example logits."""
    spec = activations.ACTIVATIONS.get("softmax")
    x = torch.tensor(logits, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(spec.module(), x)
    return {"logits": x.numpy(), "probabilities": spec.module()(x).numpy(),
            "jacobian": jacobian.numpy(), "jacobian_analytic": spec.grad(x).numpy()}


def default_path(names: list[str], grad: bool) -> str:
    return "-".join(names) + ("-grad" if grad else "") + ".png"


def at_points(names: list[str], points: list[float]) -> list[tuple[str, ...]]:
    """Rows (name, x, f(x), f'(x) by autograd, f'(x) by the formula) at the given points.

    For softmax the points are one logit vector: rows give each probability and the
    diagonal of its Jacobian, d s_i / d x_i = s_i (1 - s_i).
    """
    rows: list[tuple[str, ...]] = []
    x = torch.tensor(points, dtype=torch.float64)
    for name in names:
        spec = activations.ACTIVATIONS.get(name)
        if not spec.elementwise:
            example = softmax_example(tuple(points))
            for i, xi in enumerate(points):
                rows.append((spec.name, f"{xi:g}", f"{example['probabilities'][i]:.10g}",
                             f"{example['jacobian'][i, i]:.10g}",
                             f"{example['jacobian_analytic'][i, i]:.10g}"))
            continue
        y, dy, analytic = _values(spec, x)
        for i, xi in enumerate(points):
            rows.append((spec.name, f"{xi:g}", f"{float(y[i]):.10g}", f"{float(dy[i]):.10g}",
                         f"{float(analytic[i]):.10g}"))
    return rows


def draw(names: list[str], *, grad: bool, lo: float, hi: float, out: Path,
         analytic: bool = False) -> Drawn:
    """Draw the named activations (and their derivatives) into a PNG; return where.

    ``out`` is a .png file, or a folder the file is put in. ``softmax`` is a function of a
    whole vector, so it is drawn on its own: a stem plot of example logits.
    """
    specs = [activations.ACTIVATIONS.get(name) for name in names]
    names = [spec.name for spec in specs]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConfigError(f"--range: LO and HI must be finite numbers, got {lo} and {hi}")
    if not lo < hi:
        raise ConfigError(f"--range: LO must be < HI, got {lo} and {hi}")
    if "softmax" in names and len(names) > 1:
        raise ConfigError("softmax is drawn on its own (example logits); plot it separately")
    grad = grad or analytic  # the textbook derivative is drawn in the derivative panel
    path = folders.picture_path(out, default_path(names, grad))
    if names == ["softmax"]:
        example = softmax_example()
        gap = float(np.abs(example["jacobian"] - example["jacobian_analytic"]).max())
        figure = plots.softmax_stem(example["logits"], example["probabilities"],
                                    example["jacobian"] if grad else None)
        folders.save_figure(figure, path)
        return Drawn(path, {"softmax": gap})
    curves = [evaluate(name, lo, hi) for name in names]
    gaps = {c.label: float(np.abs(c.dy - c.dy_analytic).max()) for c in curves}  # type: ignore[operator]
    shown = [plots.Curve(c.label, c.x, c.y, c.dy, c.dy_analytic if analytic else None)
             for c in curves]
    folders.save_figure(plots.activation_curves(shown, grad), path)
    return Drawn(path, gaps)
