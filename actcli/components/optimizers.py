"""Optimizers: torch.optim classes with the options a config may set.

Every optimizer also takes ``l1`` and ``l2``, the Playground's regularisation rates: the
penalty ``l1 * sum |w| + l2 * sum w^2 / 2`` over the weights of every layer (biases,
batch-norm and learned activation parameters excluded) is added to the loss being
minimised, so its gradient ``l1 * sign(w) + l2 * w`` joins each weight's gradient before the
optimizer's step, whatever the optimizer. The loss a run records is the data loss alone.
(``weight_decay`` is torch's own: biases included, decoupled in adamw.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components import Param, Ref, Registry
from actcli.errors import ConfigError


def _lr(default: float) -> Param:
    return Param(default, "learning rate", gt=0.0)


_WD = Param(0.0, "L2 penalty (weight decay)", ge=0.0)
_EPS = Param(1e-8, "term added to the denominator", gt=0.0)
PENALTIES = ("l1", "l2")  # every optimizer's regularisation rates (not torch options)
_PENALTY = {
    "l1": Param(0.0, "L1 regularisation rate: adds l1 * sum |w| over the weights to the loss "
                "minimised (gradient l1 * sign(w)); biases excluded", ge=0.0),
    "l2": Param(0.0, "L2 regularisation rate: adds l2 * sum w^2 / 2 over the weights to the "
                "loss minimised (gradient l2 * w); biases excluded", ge=0.0),
}


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    doc: str
    formula: str
    make: Callable[..., torch.optim.Optimizer]  # make(parameters, **params)
    params: Mapping[str, Param] = field(default_factory=dict)


def _adam(cls: Callable[..., torch.optim.Optimizer]) -> Callable[..., torch.optim.Optimizer]:
    def make(ps: Iterable[nn.Parameter], lr: float, beta1: float, beta2: float, eps: float,
             weight_decay: float, amsgrad: bool) -> torch.optim.Optimizer:
        return cls(ps, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                   amsgrad=amsgrad)

    return make


def _adam_params(weight_decay: float) -> dict[str, Param]:
    return {
        "lr": _lr(1e-3),
        "beta1": Param(0.9, "decay of the mean of gradients", ge=0.0, le=0.999999),
        "beta2": Param(0.999, "decay of the mean of squared gradients", ge=0.0, le=0.999999),
        "eps": _EPS,
        "weight_decay": Param(weight_decay, "weight decay", ge=0.0),
        "amsgrad": Param(False, "use the AMSGrad variant"),
    }


def _with_penalties(spec: OptimizerSpec) -> OptimizerSpec:
    return OptimizerSpec(spec.name, spec.doc, spec.formula, spec.make,
                         {**spec.params, **_PENALTY})


OPTIMIZERS: Registry[OptimizerSpec] = Registry(
    "optimizer",
    [_with_penalties(spec) for spec in [
        OptimizerSpec(
            "sgd", "stochastic gradient descent, optional (Nesterov) momentum",
            "v = m v + g;  w -= lr v  (nesterov: w -= lr (g + m v))",
            lambda ps, lr, momentum, nesterov, dampening, weight_decay: torch.optim.SGD(
                ps, lr=lr, momentum=momentum, nesterov=nesterov, dampening=dampening,
                weight_decay=weight_decay),
            {"lr": _lr(0.01), "momentum": Param(0.0, "momentum m", ge=0.0),
             "nesterov": Param(False, "Nesterov momentum (needs momentum > 0, dampening 0)"),
             "dampening": Param(0.0, "dampening of momentum", ge=0.0), "weight_decay": _WD},
        ),
        OptimizerSpec("adam", "adaptive moments", "w -= lr m_hat / (sqrt(v_hat) + eps)",
                      _adam(torch.optim.Adam), _adam_params(0.0)),
        OptimizerSpec("adamw", "Adam with decoupled weight decay",
                      "w -= lr (m_hat / (sqrt(v_hat) + eps) + wd w)",
                      _adam(torch.optim.AdamW), _adam_params(0.01)),
        OptimizerSpec(
            "rmsprop", "divide by a running RMS of gradients",
            "s = a s + (1 - a) g^2;  w -= lr g / (sqrt(s) + eps)",
            lambda ps, lr, alpha, eps, momentum, weight_decay: torch.optim.RMSprop(
                ps, lr=lr, alpha=alpha, eps=eps, momentum=momentum, weight_decay=weight_decay),
            {"lr": _lr(0.01), "alpha": Param(0.99, "smoothing constant", ge=0.0, le=1.0),
             "eps": _EPS, "momentum": Param(0.0, "momentum", ge=0.0), "weight_decay": _WD},
        ),
    ]],
)


def check_params(name: str, params: dict[str, Any]) -> None:
    """Checks that look at an optimizer's options together."""
    if params.get("nesterov") and (params["momentum"] <= 0 or params["dampening"] != 0):
        raise ConfigError(
            f"{name}: nesterov needs momentum > 0 and dampening 0, got "
            f"momentum={params['momentum']} and dampening={params['dampening']}"
        )


def build(ref: Ref, parameters: Iterable[Tensor]) -> torch.optim.Optimizer:
    """The torch optimizer ``ref`` names, over ``parameters``.

    Uses torch's fused implementation (one kernel for all parameters) where this torch
    build has one for these parameters' device, else the default.
    """
    params = list(parameters)
    options = {key: value for key, value in ref.kwargs.items() if key not in PENALTIES}
    optimizer = OPTIMIZERS.get(ref.name).make(params, **options)
    if params and _fused_supported(optimizer):
        for group in optimizer.param_groups:
            group["fused"] = True
            group["foreach"] = False
    return optimizer


def _fused_supported(optimizer: torch.optim.Optimizer) -> bool:
    """True when ``type(optimizer)(..., fused=True)`` works here (torch version, device)."""
    try:
        make: Callable[..., torch.optim.Optimizer] = type(optimizer)
        make([torch.zeros(1, device=optimizer.param_groups[0]["params"][0].device,
                          requires_grad=True)], lr=0.1, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def state_copies(ref: Ref) -> int:
    """How many tensors the size of the parameters ``ref``'s optimizer keeps as state."""
    kw = ref.kwargs
    if ref.name in ("adam", "adamw"):
        return 3 if kw.get("amsgrad") else 2
    if ref.name == "rmsprop":
        return 2 if kw.get("momentum") else 1
    return 1 if kw.get("momentum") else 0


def penalty_rates(ref: Ref) -> tuple[float, float]:
    """(l1, l2) of an optimizer section (0 where not set)."""
    return float(ref.kwargs.get("l1", 0.0)), float(ref.kwargs.get("l2", 0.0))


def penalty(weights: Iterable[Tensor], l1: float, l2: float) -> Tensor:
    """``l1 * sum |w| + l2 * sum w^2 / 2`` over ``weights`` (a differentiable scalar)."""
    total: Tensor | float = 0.0
    for w in weights:
        if l1:
            total = total + l1 * w.abs().sum()
        if l2:
            total = total + 0.5 * l2 * (w * w).sum()
    return torch.as_tensor(total) if not isinstance(total, Tensor) else total
