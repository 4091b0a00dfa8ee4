"""Losses: formula, what the loss reads from the network, torch module.

The network hands its logits ``z`` (before the output activation) to the objective built
here. Each loss says what it reads: the output activation's values (``output``: bce on
sigmoid probabilities, mse/mae/smooth_l1), the logits (``logits``: bce_with_logits,
cross_entropy, which apply the sigmoid/softmax themselves, stably) or log-probabilities
(``log_probability``: nll, fed log_softmax(z)). So ``output: softmax`` with
``cross_entropy`` trains on logits, never softmax twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from actcli.components import Param, Ref, Registry
from actcli.errors import ConfigError, quote

Reads = Literal["output", "logits", "log_probability"]


@dataclass(frozen=True)
class LossSpec:
    name: str
    doc: str
    formula: str
    reads: Reads
    module: Callable[..., nn.Module]  # module(**params), mean reduction
    outputs: tuple[str, ...]  # output activations it fits
    classes: Literal["binary", "multiclass", "any"]
    params: Mapping[str, Param] = field(default_factory=dict)
    notes: str = ""


LOSSES: Registry[LossSpec] = Registry(
    "loss",
    [
        LossSpec(
            "mae", "mean absolute error (L1)", "L = mean |y - p|", "output", nn.L1Loss,
            ("sigmoid", "softmax", "identity"), "any",
            notes="Targets are 0/1 (binary) or one-hot (classes).",
        ),
        LossSpec(
            "mse", "mean squared error (L2)", "L = mean (y - p)^2", "output", nn.MSELoss,
            ("sigmoid", "softmax", "identity"), "any",
            notes="With a sigmoid output its gradient vanishes when the unit saturates.",
        ),
        LossSpec(
            "smooth_l1", "Huber-like: squared near 0, absolute beyond beta",
            "L = mean(0.5 d^2 / beta if |d| < beta else |d| - beta/2), d = y - p", "output",
            lambda beta: nn.SmoothL1Loss(beta=beta), ("sigmoid", "softmax", "identity"), "any",
            {"beta": Param(1.0, "where the square turns into the absolute value", gt=0.0)},
        ),
        LossSpec(
            "bce", "binary cross-entropy on probabilities",
            "L = -mean(y ln p + (1 - y) ln(1 - p))", "output", nn.BCELoss, ("sigmoid",),
            "binary", notes="Needs one sigmoid output unit.",
        ),
        LossSpec(
            "bce_with_logits", "binary cross-entropy on logits (sigmoid inside, stable)",
            "L = -mean(y ln s(z) + (1 - y) ln(1 - s(z))), s = sigmoid", "logits",
            nn.BCEWithLogitsLoss, ("sigmoid", "identity"), "binary",
        ),
        LossSpec(
            "cross_entropy", "softmax cross-entropy on logits",
            "L = -mean ln(e^(z_y) / sum_j e^(z_j))", "logits", nn.CrossEntropyLoss,
            ("softmax", "identity"), "multiclass",
            notes="Reads the logits, so it pairs with output softmax without a double softmax.",
        ),
        LossSpec(
            "nll", "negative log-likelihood of log-probabilities",
            "L = -mean log_softmax(z)_y", "log_probability", nn.NLLLoss, ("softmax",),
            "multiclass", notes="Fed log_softmax of the logits.",
        ),
    ],
    aliases={"l1": "mae", "l2": "mse", "huber": "smooth_l1", "ce": "cross_entropy"},
)


def check_fit(loss: Ref, output: str, n_outputs: int, regression: bool = False) -> None:
    """Raise ConfigError when ``loss`` does not fit the output layer (and the task: a
    regression needs a loss of numbers)."""
    spec = LOSSES.get(loss.name)
    if regression and spec.classes != "any":
        fits = ", ".join(s.name for s in LOSSES if s.classes == "any")
        raise ConfigError(f"{spec.name} is for classes, but the task is a regression (it "
                          f"predicts a number); use one of: {fits}")
    if regression and output == "softmax":
        raise ConfigError("output softmax is for classes, but the task is a regression; "
                          "use identity")
    if spec.classes == "binary" and n_outputs != 1:
        raise ConfigError(
            f"{spec.name} is for one output unit (two classes), but the task has "
            f"{n_outputs} classes; use cross_entropy"
        )
    if spec.classes == "multiclass" and n_outputs < 2:
        raise ConfigError(
            f"{spec.name} needs two or more classes, but the task has one output unit; "
            "use bce or bce_with_logits"
        )
    if output not in spec.outputs:
        raise ConfigError(
            f"{spec.name} does not fit output {quote(output)}; it fits: {', '.join(spec.outputs)}"
        )


def objective(loss: Ref, output: nn.Module, n_outputs: int) -> Callable[[Tensor, Tensor], Tensor]:
    """``f(z, y) -> loss``: z are logits (N, n_outputs); y is (N, 1) float or (N,) long."""
    spec = LOSSES.get(loss.name)
    fn = spec.module(**loss.kwargs)

    def one_hot(y: Tensor) -> Tensor:
        return nn.functional.one_hot(y, n_outputs).to(torch.get_default_dtype())

    if spec.reads == "logits":
        return lambda z, y: fn(z, y)
    if spec.reads == "log_probability":
        return lambda z, y: fn(torch.log_softmax(z, dim=-1), y)
    if n_outputs > 1:
        return lambda z, y: _nan_when_not_finite(fn, output(z), one_hot(y))
    return lambda z, y: _nan_when_not_finite(fn, output(z), y)


def _nan_when_not_finite(fn: Callable[[Tensor, Tensor], Tensor], p: Tensor, y: Tensor
                         ) -> Tensor:
    """``fn(p, y)``, or NaN when ``p`` is not finite: torch's BCE raises on a NaN input
    ("should be between 0 and 1"), and a diverged run must read as diverged, not crash."""
    try:
        return fn(p, y)
    except RuntimeError:
        if torch.isfinite(p).all():
            raise
        return p.sum() * math.nan  # NaN that still has a graph: the NaN guard skips the step


def stacked(loss: Ref, output: nn.Module, n_outputs: int) -> Callable[[Tensor, Tensor], Tensor]:
    """``f(z, y) -> [K]``: the loss of each of K models at once, as :func:`objective` gives
    it for one; z are logits (K, N, n_outputs), y (K, N, 1) float or (K, N) long. A model
    whose output is not finite gets a NaN loss; the others' losses are untouched."""
    spec = LOSSES.get(loss.name)
    fn = spec.module(**loss.kwargs)
    setattr(fn, "reduction", "none")  # every torch loss module: the per-element losses  # noqa: B010

    def per_model(z: Tensor, y: Tensor) -> Tensor:
        k, n = z.shape[0], z.shape[1]
        flat_z, flat_y = z.reshape(k * n, -1), y.reshape(k * n, *y.shape[2:])
        if spec.reads == "logits":
            return fn(flat_z, flat_y).reshape(k, -1).mean(dim=1)
        if spec.reads == "log_probability":
            return fn(torch.log_softmax(flat_z, dim=-1), flat_y).reshape(k, -1).mean(dim=1)
        p = output(flat_z)
        finite = torch.isfinite(p)
        bad = ~finite.reshape(k, -1).all(dim=1)
        # torch's BCE raises on a NaN input: give those models a harmless value, then NaN
        p = torch.where(finite, p, torch.full_like(p, 0.5))
        target = (nn.functional.one_hot(flat_y, n_outputs).to(p.dtype) if n_outputs > 1
                  else flat_y)
        each = fn(p, target).reshape(k, -1).mean(dim=1)
        return torch.where(bad, torch.full_like(each, math.nan), each)

    return per_model


LogitGradient = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # z, y -> (loss, dL/dz)


def _stacked_softmax_cross_entropy(z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """-mean log_softmax(z)_y and its gradient (softmax(z) - one_hot(y)) / N, without
    autograd, of K models at once: z (K, N, C), y (K, N) -> each model's loss (K,) and
    dL_k/dz_k (K, N, C)."""
    log_p = torch.log_softmax(z, dim=-1)
    picked = log_p.gather(-1, y.unsqueeze(-1))  # (K, N, 1)
    loss = -picked.squeeze(-1).mean(dim=1)
    grad = log_p.exp_()
    grad.scatter_add_(-1, y.unsqueeze(-1), torch.full_like(picked, -1.0))
    return loss, grad.div_(z.shape[1])


def stacked_logit_gradient(loss: Ref) -> LogitGradient | None:
    """K models' losses and their gradients with respect to the logits ((K, N, C)) in
    closed form, where one is written here (cross_entropy and nll: both are softmax
    cross-entropy on the logits); None means: let autograd differentiate the loss."""
    if loss.name in ("cross_entropy", "nll") and not loss.kwargs:
        return _stacked_softmax_cross_entropy
    return None
