"""Optimizers: torch.optim classes with the options a config may set."""

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


OPTIMIZERS: Registry[OptimizerSpec] = Registry(
    "optimizer",
    [
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
    ],
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
    optimizer = OPTIMIZERS.get(ref.name).make(params, **ref.kwargs)
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
