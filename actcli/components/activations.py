"""Activation functions: textbook formula, analytic derivative, torch module, range.

``fn`` and ``grad`` are written out from the formula with elementary tensor operations
(they are what ``actcli plot --analytic`` and the tests compare with torch); ``module``
builds torch's own ``nn.Module``, which is what models train with. At kinks the analytic
derivative follows torch's convention (e.g. relu'(0) = 0), so it can be compared with
autograd on a grid that contains the kink.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components import Param, Registry
from actcli.errors import ConfigError

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class ActivationSpec:
    name: str
    doc: str
    formula: str  # f(x), as in a textbook
    derivative: str  # f'(x), as in a textbook
    fn: Callable[..., Tensor]  # fn(x, **params): the formula in tensor operations
    grad: Callable[..., Tensor]  # grad(x, **params): the analytic derivative
    module: Callable[..., nn.Module]  # module(**params): torch's own nn.Module
    output_range: str
    notes: str
    params: Mapping[str, Param] = field(default_factory=dict)
    elementwise: bool = True  # False for softmax: a function of the whole vector
    hidden: bool = True  # may be used between layers (softmax: output only)


class _StepFunction(torch.autograd.Function):
    """Heaviside step whose gradient is 0 everywhere (torch's heaviside has none)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> Tensor:
        return torch.zeros_like(grad_output)


class Step(nn.Module):
    """Heaviside step, 1 for x > 0 and 0 otherwise, with a zero gradient."""

    def forward(self, x: Tensor) -> Tensor:
        return _StepFunction.apply(x)


def _sigmoid(x: Tensor) -> Tensor:
    return 1 / (1 + torch.exp(-x))


def _softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    # ln(1 + e^{bx}) / b, written as max(bx, 0) + ln(1 + e^{-|bx|}) so it cannot overflow
    bx = beta * x
    return (torch.clamp(bx, min=0) + torch.log1p(torch.exp(-bx.abs()))) / beta


def _tanh(x: Tensor) -> Tensor:
    # (e^x - e^-x) / (e^x + e^-x) = sign(x) (1 - e^{-2|x|}) / (1 + e^{-2|x|}): no overflow
    e = torch.exp(-2 * x.abs())
    return torch.sign(x) * (1 - e) / (1 + e)


def _inside(x: Tensor, lo: float, hi: float) -> Tensor:
    """1 where lo < x < hi, else 0: the derivative of a clamp (0 at the corners, as torch)."""
    return ((x > lo) & (x < hi)).to(x.dtype)


def _gelu_grad(x: Tensor) -> Tensor:
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


def _mish_grad(x: Tensor) -> Tensor:
    t = _tanh(_softplus(x))
    return t + x * _sigmoid(x) * (1 - t * t)


def _softmax(x: Tensor) -> Tensor:
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)  # shift: same value, no overflow
    return e / e.sum(dim=-1, keepdim=True)


def _softmax_grad(x: Tensor) -> Tensor:
    """Jacobian ds_i/dx_j = s_i (delta_ij - s_j), shape (..., n, n)."""
    s = _softmax(x)
    return torch.diag_embed(s) - s.unsqueeze(-1) * s.unsqueeze(-2)


def _prelu(init: float) -> nn.Module:
    return nn.PReLU(init=init)


_ALPHA = {"alpha": Param(1.0, "scale of the negative part", gt=0.0)}

ACTIVATIONS: Registry[ActivationSpec] = Registry(
    "activation",
    [
        ActivationSpec(
            "step", "Heaviside step: the perceptron's all-or-nothing unit",
            "f(x) = 1 if x > 0 else 0", "f'(x) = 0 (undefined at 0)",
            lambda x: (x > 0).to(x.dtype), lambda x: torch.zeros_like(x), Step,
            "{0, 1}", "No gradient anywhere: gradient descent cannot train through it.",
        ),
        ActivationSpec(
            "identity", "no activation: a linear unit",
            "f(x) = x", "f'(x) = 1",
            lambda x: x.clone(), torch.ones_like, nn.Identity,
            "(-inf, inf)", "Stacked linear layers stay one linear map.",
        ),
        ActivationSpec(
            "sigmoid", "logistic function, squashes to (0, 1)",
            "f(x) = 1 / (1 + e^-x)", "f'(x) = f(x) (1 - f(x))",
            _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)), nn.Sigmoid,
            "(0, 1)", "Derivative at most 0.25: gradients vanish through deep stacks.",
        ),
        ActivationSpec(
            "hard_sigmoid", "piecewise-linear sigmoid",
            "f(x) = min(max(x/6 + 1/2, 0), 1)", "f'(x) = 1/6 on (-3, 3), else 0",
            lambda x: torch.clamp(x / 6 + 0.5, 0, 1), lambda x: _inside(x, -3, 3) / 6,
            nn.Hardsigmoid, "[0, 1]", "Cheap; flat (zero gradient) outside (-3, 3).",
        ),
        ActivationSpec(
            "tanh", "hyperbolic tangent, zero-centred",
            "f(x) = (e^x - e^-x) / (e^x + e^-x)", "f'(x) = 1 - f(x)^2",
            _tanh, lambda x: 1 - _tanh(x) ** 2, nn.Tanh,
            "(-1, 1)", "Zero-centred sigmoid (2 sigmoid(2x) - 1); saturates for |x| > 3.",
        ),
        ActivationSpec(
            "hardtanh", "piecewise-linear tanh",
            "f(x) = min(max(x, lo), hi)", "f'(x) = 1 on (lo, hi), else 0",
            lambda x, min_val, max_val: torch.clamp(x, min_val, max_val),
            lambda x, min_val, max_val: _inside(x, min_val, max_val),
            lambda min_val, max_val: nn.Hardtanh(min_val, max_val),
            "[lo, hi]", "Zero gradient outside (lo, hi).",
            {"min_val": Param(-1.0, "lower clamp lo"), "max_val": Param(1.0, "upper clamp hi")},
        ),
        ActivationSpec(
            "relu", "rectified linear unit",
            "f(x) = max(0, x)", "f'(x) = 1 if x > 0 else 0",
            lambda x: torch.clamp(x, min=0), lambda x: (x > 0).to(x.dtype), nn.ReLU,
            "[0, inf)", "Does not saturate for x > 0; a unit negative on all inputs is dead.",
        ),
        ActivationSpec(
            "relu6", "ReLU capped at 6",
            "f(x) = min(max(0, x), 6)", "f'(x) = 1 on (0, 6), else 0",
            lambda x: torch.clamp(x, 0, 6), lambda x: _inside(x, 0, 6), nn.ReLU6,
            "[0, 6]", "Bounded ReLU, used in mobile networks.",
        ),
        ActivationSpec(
            "leaky_relu", "ReLU with a small slope for x < 0",
            "f(x) = x if x > 0 else a x", "f'(x) = 1 if x > 0 else a",
            lambda x, negative_slope: torch.where(x > 0, x, negative_slope * x),
            lambda x, negative_slope: torch.where(
                x > 0, torch.ones_like(x), torch.full_like(x, negative_slope)
            ),
            lambda negative_slope: nn.LeakyReLU(negative_slope),
            "(-inf, inf)", "The slope a keeps negative units alive.",
            {"negative_slope": Param(0.01, "slope a for x < 0", ge=0.0)},
        ),
        ActivationSpec(
            "prelu", "leaky ReLU whose slope is learned",
            "f(x) = x if x > 0 else a x  (a learned)", "f'(x) = 1 if x > 0 else a",
            lambda x, init: torch.where(x > 0, x, init * x),
            lambda x, init: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, init)),
            _prelu, "(-inf, inf)", "One learned slope per layer, starting at `init`.",
            {"init": Param(0.25, "starting slope a for x < 0")},
        ),
        ActivationSpec(
            "elu", "exponential linear unit",
            "f(x) = x if x > 0 else alpha (e^x - 1)", "f'(x) = 1 if x > 0 else alpha e^x",
            lambda x, alpha: torch.where(x > 0, x, alpha * (torch.exp(x) - 1)),
            lambda x, alpha: torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x)),
            lambda alpha: nn.ELU(alpha), "(-alpha, inf)",
            "Smooth negative part pushes mean activations towards 0.", _ALPHA,
        ),
        ActivationSpec(
            "celu", "continuously differentiable ELU",
            "f(x) = max(0, x) + min(0, alpha (e^(x/alpha) - 1))",
            "f'(x) = 1 if x > 0 else e^(x/alpha)",
            lambda x, alpha: torch.clamp(x, min=0)
            + torch.clamp(alpha * (torch.exp(x / alpha) - 1), max=0),
            lambda x, alpha: torch.where(x > 0, torch.ones_like(x), torch.exp(x / alpha)),
            lambda alpha: nn.CELU(alpha), "(-alpha, inf)",
            "Like ELU, but its derivative is continuous at 0 for every alpha.", _ALPHA,
        ),
        ActivationSpec(
            "selu", "scaled ELU, self-normalising",
            "f(x) = l x if x > 0 else l a (e^x - 1), l = 1.0507, a = 1.6733",
            "f'(x) = l if x > 0 else l a e^x",
            lambda x: SELU_SCALE * torch.where(x > 0, x, SELU_ALPHA * (torch.exp(x) - 1)),
            lambda x: SELU_SCALE
            * torch.where(x > 0, torch.ones_like(x), SELU_ALPHA * torch.exp(x)),
            nn.SELU, "(-1.7581, inf)",
            "Keeps mean 0 and variance 1 through layers with lecun-normal init.",
        ),
        ActivationSpec(
            "gelu", "Gaussian error linear unit (exact)",
            "f(x) = x Phi(x) = x/2 (1 + erf(x / sqrt 2))", "f'(x) = Phi(x) + x phi(x)",
            lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2))), _gelu_grad, nn.GELU,
            "(-0.17, inf)", "Smooth ReLU used in transformers; dips slightly below 0.",
        ),
        ActivationSpec(
            "silu", "sigmoid-weighted linear unit (swish)",
            "f(x) = x sigmoid(x)", "f'(x) = s(x) (1 + x (1 - s(x))), s = sigmoid",
            lambda x: x * _sigmoid(x),
            lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), nn.SiLU,
            "(-0.28, inf)", "Smooth, non-monotonic near 0; also called swish.",
        ),
        ActivationSpec(
            "mish", "self-regularised non-monotonic activation",
            "f(x) = x tanh(softplus(x))",
            "f'(x) = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)",
            lambda x: x * _tanh(_softplus(x)), _mish_grad, nn.Mish,
            "(-0.31, inf)", "Close to silu; slightly smoother.",
        ),
        ActivationSpec(
            "softplus", "smooth ReLU",
            "f(x) = ln(1 + e^(b x)) / b", "f'(x) = sigmoid(b x)",
            _softplus, lambda x, beta: _sigmoid(beta * x),
            lambda beta: nn.Softplus(beta=beta), "(0, inf)",
            "Always positive; its derivative is the sigmoid.",
            {"beta": Param(1.0, "sharpness b", gt=0.0)},
        ),
        ActivationSpec(
            "softsign", "rational squashing function",
            "f(x) = x / (1 + |x|)", "f'(x) = 1 / (1 + |x|)^2",
            lambda x: x / (1 + x.abs()), lambda x: 1 / (1 + x.abs()) ** 2, nn.Softsign,
            "(-1, 1)", "Like tanh, but approaches its limits polynomially, not exponentially.",
        ),
        ActivationSpec(
            "hardswish", "piecewise approximation of swish",
            "f(x) = x min(max(x + 3, 0), 6) / 6",
            "f'(x) = 0 if x <= -3, 1 if x >= 3, else x/3 + 1/2",
            lambda x: x * torch.clamp(x + 3, 0, 6) / 6,
            lambda x: torch.where(
                x <= -3, torch.zeros_like(x), torch.where(x >= 3, torch.ones_like(x), x / 3 + 0.5)
            ),
            nn.Hardswish, "[-0.375, inf)", "Cheap swish used in MobileNetV3.",
        ),
        ActivationSpec(
            "logsigmoid", "logarithm of the sigmoid",
            "f(x) = ln(1 / (1 + e^-x)) = -softplus(-x)", "f'(x) = 1 - sigmoid(x)",
            lambda x: -_softplus(-x), lambda x: 1 - _sigmoid(x), nn.LogSigmoid,
            "(-inf, 0)", "Log-probability of the positive class; stable for large |x|.",
        ),
        ActivationSpec(
            "softmax", "normalised exponential over the last dimension (outputs only)",
            "f(x)_i = e^(x_i) / sum_j e^(x_j)", "df_i/dx_j = f_i (delta_ij - f_j)",
            _softmax, _softmax_grad, lambda: nn.Softmax(dim=-1),
            "(0, 1), sums to 1", "Turns logits into class probabilities.",
            elementwise=False, hidden=False,
        ),
    ],
    aliases={"swish": "silu", "heaviside": "step", "linear": "identity", "none": "identity"},
)


def check_params(name: str, params: dict[str, Any]) -> None:
    """Checks that look at an activation's options together."""
    if name == "hardtanh" and not params["min_val"] < params["max_val"]:
        raise ConfigError(
            f"hardtanh: min_val must be < max_val, got {params['min_val']} and {params['max_val']}"
        )


def build(name: str, **params: Any) -> nn.Module:
    """Torch's own module for activation ``name``."""
    return ACTIVATIONS.get(name).module(**params)


# the class of each hidden activation's torch module -> its spec
_BY_CLASS = {type(spec.module(**{k: p.default for k, p in spec.params.items()})): spec
             for spec in ACTIVATIONS if spec.hidden}


def spec_of(module: nn.Module) -> ActivationSpec | None:
    """The hidden activation a torch module built by :func:`build` is, or None."""
    return _BY_CLASS.get(type(module))
