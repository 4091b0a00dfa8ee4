"""Weight initializers: what each draws, and torch's ``nn.init`` function that draws it.

Element-wise distributions (uniform, normal, zeros, ones, constant) fill the bias too, so
``constant`` really makes every parameter equal (the lesson of symmetric init). The
fan-based schemes (xavier, kaiming, orthogonal) need a matrix and set the bias to 0.
``default`` keeps PyTorch's own initialisation of the layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor, nn

from actcli.components import Param, Ref, Registry
from actcli.errors import ConfigError

_GAIN = {"gain": Param(1.0, "scale factor on the std", gt=0.0)}
_KAIMING = {
    "a": Param(0.0, "negative slope of the following leaky_relu", ge=0.0),
    "mode": Param("fan_in", "keep the variance of activations (fan_in) or of gradients",
                  choices=("fan_in", "fan_out")),
    "nonlinearity": Param("relu", "the activation the gain is computed for",
                          choices=("relu", "leaky_relu", "tanh", "sigmoid", "linear", "selu")),
}


@dataclass(frozen=True)
class InitSpec:
    name: str
    doc: str
    formula: str
    fill: Callable[..., Any] | None  # fill(tensor, **params) in place; None = keep torch's
    bias: Literal["same", "zeros", "keep"]
    params: Mapping[str, Param] = field(default_factory=dict)


INITIALIZERS: Registry[InitSpec] = Registry(
    "init",
    [
        InitSpec("uniform", "uniform in [low, high]", "w ~ U(low, high)",
                 lambda w, low, high: nn.init.uniform_(w, low, high), "same",
                 {"low": Param(-1.0, "lower bound"), "high": Param(1.0, "upper bound")}),
        InitSpec("normal", "normal with a mean and std", "w ~ N(mean, std^2)",
                 lambda w, mean, std: nn.init.normal_(w, mean, std), "same",
                 {"mean": Param(0.0, "mean"), "std": Param(1.0, "standard deviation", ge=0.0)}),
        InitSpec("zeros", "every weight and bias 0", "w = 0", nn.init.zeros_, "same"),
        InitSpec("ones", "every weight and bias 1", "w = 1", nn.init.ones_, "same"),
        InitSpec("constant", "every weight and bias the same value", "w = value",
                 lambda w, value: nn.init.constant_(w, value), "same",
                 {"value": Param(1.0, "the value")}),
        InitSpec("xavier_uniform", "Glorot uniform, for tanh/sigmoid",
                 "w ~ U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))",
                 lambda w, gain: nn.init.xavier_uniform_(w, gain), "zeros", _GAIN),
        InitSpec("xavier_normal", "Glorot normal, for tanh/sigmoid",
                 "w ~ N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out))",
                 lambda w, gain: nn.init.xavier_normal_(w, gain), "zeros", _GAIN),
        InitSpec("kaiming_uniform", "He uniform, for ReLU-like units",
                 "w ~ U(-b, b), b = gain sqrt(3 / fan)",
                 lambda w, a, mode, nonlinearity: nn.init.kaiming_uniform_(
                     w, a=a, mode=mode, nonlinearity=nonlinearity), "zeros", _KAIMING),
        InitSpec("kaiming_normal", "He normal, for ReLU-like units",
                 "w ~ N(0, s^2), s = gain / sqrt(fan)",
                 lambda w, a, mode, nonlinearity: nn.init.kaiming_normal_(
                     w, a=a, mode=mode, nonlinearity=nonlinearity), "zeros", _KAIMING),
        InitSpec("orthogonal", "a (semi-)orthogonal matrix", "W^T W = gain^2 I",
                 lambda w, gain: nn.init.orthogonal_(w, gain), "zeros", _GAIN),
        InitSpec("default", "PyTorch's own: U(-1/sqrt(fan_in), 1/sqrt(fan_in))",
                 "w, b ~ U(-k, k), k = 1/sqrt(fan_in)", None, "keep"),
    ],
    aliases={"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
             "he_uniform": "kaiming_uniform", "he_normal": "kaiming_normal", "zero": "zeros"},
)


def check_params(name: str, params: dict[str, Any]) -> None:
    """Checks that look at an initializer's options together."""
    if name == "uniform" and not params["low"] < params["high"]:
        raise ConfigError(
            f"uniform: low must be < high, got low={params['low']} and high={params['high']}"
        )


def apply(ref: Ref, weight: Tensor, bias: Tensor | None) -> None:
    """Initialise one layer's ``weight`` (and ``bias``) in place as ``ref`` says."""
    spec = INITIALIZERS.get(ref.name)
    if spec.fill is None:
        return
    spec.fill(weight, **ref.kwargs)
    if bias is not None:
        if spec.bias == "same":
            spec.fill(bias, **ref.kwargs)
        elif spec.bias == "zeros":
            nn.init.zeros_(bias)
