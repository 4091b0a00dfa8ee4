"""Activation functions: textbook formula, analytic derivative, torch module, range.

``fn`` and ``grad`` are written out from the formula with elementary tensor operations
(they are what ``actcli plot --analytic`` and the tests compare with torch); ``module``
builds torch's own ``nn.Module``, which is what models train with. At kinks the analytic
derivative follows torch's convention (e.g. relu'(0) = 0), so it can be compared with
autograd on a grid that contains the kink.

Besides the registry's names, ``model.activation`` takes your own activation (:func:`parse`
turns a config value into a :class:`~actcli.components.Ref`; :func:`make` builds its
module):

* a formula in x (``"x * tanh(softplus(x))"``, :mod:`actcli.components.formula`): the Ref
  ``formula`` with options ``formula`` (the text, whitespace normalised), ``params``
  (name -> starting value, as pairs), ``trainable`` (names learned with the weights) and
  ``per_unit`` (one learned value per hidden unit instead of one per layer). In a config:
  the bare text, or ``{formula: "x * sigmoid(beta * x)", params: {beta: 1.0},
  trainable: [beta], per_unit: false}``;
* a Python reference (``path/to/file.py:name`` or ``package.module:name``,
  :mod:`actcli.components.custom`): the Ref ``python`` with the option ``python`` (a file's
  path made absolute). In a config: the bare text, or ``{python: "file.py:name"}``.

Modules with learned parameters (prelu, swish_beta, rational, a formula's trainable
parameters, a Python nn.Module's own) keep them per layer; :func:`learned` reads them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import Tensor, nn

from actcli.components import FORMULA, PYTHON, Param, Ref, Registry, parse_ref
from actcli.components import formula as formula_mod
from actcli.components.custom import PythonActivation, check_output
from actcli.components.custom import check as check_python
from actcli.components.custom import parameter_count as python_parameter_count
from actcli.components.formula import Formula, FormulaActivation, FormulaError
from actcli.components.rational import Rational, rational, rational_grad
from actcli.errors import ConfigError, quote, suggest

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
    # fn and grad are one module's own, at its current (learned) parameters, and take no
    # options: what spec_of gives for swish_beta, rational, formulas and Python references
    bound: bool = False


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


def _swish_beta_grad(x: Tensor, beta: Any) -> Tensor:
    s = _sigmoid(beta * x)
    return s + beta * x * s * (1 - s)


class SwishBeta(nn.Module):
    """Swish with a learned sharpness: x sigmoid(beta x) (Ramachandran, Zoph and Le, 2017).
    ``shape`` () learns one beta for the layer; (units,) or (channels, 1, 1) one per unit.
    Its ``repr`` holds its ``id``: learned, so two models' modules are never one."""

    def __init__(self, init: float = 1.0, shape: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.beta = nn.Parameter(torch.full(tuple(shape), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.beta * x)

    def extra_repr(self) -> str:
        shape = f"per_unit={tuple(self.beta.shape)}, " if self.beta.dim() else ""
        return f"{shape}id={id(self):#x}"


def _swish_beta(init: float, per_unit: bool = False, shape: tuple[int, ...] = ()) -> nn.Module:
    return SwishBeta(init, tuple(shape) if per_unit else ())


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
            "swish_beta", "swish whose sharpness beta is learned",
            "f(x) = x sigmoid(b x)  (b learned)", "f'(x) = s + b x s (1 - s), s = sigmoid(b x)",
            lambda x, init, per_unit=False: x * _sigmoid(init * x),
            lambda x, init, per_unit=False: _swish_beta_grad(x, init),
            _swish_beta, "(-0.28/b, inf) for b > 0",
            "b = 1 is silu, b = 0 is x/2, large b approaches relu. One learned b per layer "
            "(per unit with per_unit: true), starting at `init`.",
            {"init": Param(1.0, "starting sharpness b"),
             "per_unit": Param(False, "learn one b per unit instead of one per layer")},
        ),
        ActivationSpec(
            "rational", "Pade activation unit: a learned rational function",
            "f(x) = P(x) / (1 + |b1| |x| + |b2| |x|^2 + |b3| |x|^3 + |b4| |x|^4), "
            "P(x) = a0 + a1 x + ... + a5 x^5  (a, b learned)",
            "f'(x) = (P'(x) - f(x) Q'(x)) / Q(x), Q'(x) = sign(x) sum_j j |b_j| |x|^(j-1)",
            rational, rational_grad, Rational, "(-inf, inf)",
            "The safe PAU of degrees (5, 4) (Molina, Schramowski and Kersting, ICLR 2020): "
            "ten coefficients learned per layer, starting at the paper's fit of leaky ReLU "
            "(slope 0.01) on [-3, 3]; no poles, since the denominator is at least 1.",
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


# ---------------------------------------------------------------------------------------
# your own activation in a config: a formula or a Python reference, as a Ref

_FORMULA_KEYS = ("formula", "params", "trainable", "per_unit")


def _formula_error(text: str, message: str) -> FormulaError:
    return FormulaError(f"formula {quote(text, 60)}: {message}")


@functools.lru_cache(maxsize=256)
def _parsed(text: str, params: tuple[tuple[str, float], ...]) -> Formula:
    return formula_mod.parse(text, dict(params))


@functools.lru_cache(maxsize=256)
def _probed(text: str, params: tuple[tuple[str, float], ...]) -> Formula:
    """The formula, once it is known to be finite on the probe (custom.PROBE)."""
    found = _parsed(text, params)
    check_output(found.text, found, _formula_error)
    return found


def _formula_ref(text: object, params: object, trainable: object, per_unit: object) -> Ref:
    if not isinstance(text, str):
        raise ConfigError(f"expected a formula in x such as x * sigmoid(x), got {quote(text)}",
                          "formula")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ConfigError(f"expected a mapping of parameter names to starting values, e.g. "
                          f"{{beta: 1.0}}, got {quote(params)}", "params")
    if trainable is None:
        trainable = []
    if isinstance(trainable, str):
        trainable = [trainable]
    if not isinstance(trainable, list | tuple) or not all(isinstance(t, str) for t in trainable):
        raise ConfigError(f"expected a list of parameter names, e.g. [beta], got "
                          f"{quote(trainable)}", "trainable")
    if not isinstance(per_unit, bool):
        raise ConfigError(f"expected bool, got {quote(per_unit)}", "per_unit")
    checked = _parsed(text, tuple(formula_mod._check_params(text, params).items()))
    for name in trainable:
        if name not in checked.params:
            names = ", ".join(checked.params) or "none (give them in params)"
            raise ConfigError(f"{quote(name, 40)} is not a parameter of the formula; its "
                              f"parameters: {names}", "trainable")
    if per_unit and not trainable:
        raise ConfigError("per_unit: true needs trainable parameters (it learns one value of "
                          "each per unit)", "per_unit")
    pairs = tuple(checked.params.items())
    _probed(text, pairs)
    return Ref("activation", FORMULA, (("formula", checked.text), ("params", pairs),
                                       ("trainable", tuple(dict.fromkeys(trainable))),
                                       ("per_unit", per_unit)))


def _own_name(given: dict[str, Any], key: str) -> Any:
    """The text of a formula or reference mapping: under ``key``, or as its ``name``
    (``--set model.activation.params.beta=2`` on a bare formula makes it the name)."""
    name = given.pop("name", None)
    value = given.pop(key, None)
    if name is not None and name != key:
        if value is not None:
            raise ConfigError(f"give the {key} once, under '{key}', not as the name too "
                              f"({quote(name, 40)})")
        value = name
    return value


def _formula_mapping(value: dict[str, Any]) -> Ref:
    given = dict(value)
    text = _own_name(given, "formula")
    unknown = [key for key in given if key not in _FORMULA_KEYS]
    if unknown:
        hint = suggest(unknown[0], _FORMULA_KEYS)
        extra = f" (did you mean '{hint}'?)" if hint else ""
        raise ConfigError(f"a formula has no option {quote(unknown[0], 40)}{extra}; its "
                          f"options: {', '.join(_FORMULA_KEYS)}")
    return _formula_ref(text, given.get("params"), given.get("trainable"),
                        given.get("per_unit", False))


def _python_ref(text: object) -> Ref:
    if not isinstance(text, str):
        raise ConfigError(f"expected path/to/file.py:name or package.module:name, got "
                          f"{quote(text)}", "python")
    return Ref("activation", PYTHON, (("python", check_python(text)),))


def _python_mapping(value: dict[str, Any]) -> Ref:
    given = dict(value)
    text = _own_name(given, "python")
    if given:
        raise ConfigError(f"a python reference has no option {quote(next(iter(given)), 40)}; "
                          "write {python: path/to/file.py:name}")
    return _python_ref(text)


def _is_reference(text: object) -> bool:
    return isinstance(text, str) and ":" in text and not formula_mod.is_formula(text)


def parse(value: object) -> Ref:
    """A config's activation -> Ref: a registry name or ``{name: ..., option: ...}``, a
    formula (text or ``{formula: ..., params: ..., trainable: ..., per_unit: ...}``), or a
    Python reference (``file.py:name``, ``package.module:name``, ``{python: ...}``).
    Raises one ConfigError line (a FormulaError for a formula)."""
    if isinstance(value, Ref):
        return value
    if isinstance(value, str):
        if value.strip().endswith(".py") and ":" not in value:
            raise ConfigError(f"python {quote(value, 80)}: name the function or class in the "
                              f"file too: {value.strip()}:name")
        if formula_mod.is_formula(value):
            return _formula_ref(value, None, None, False)
        if _is_reference(value):
            return _python_ref(value)
    if isinstance(value, dict):
        name = value.get("name")
        if "formula" in value or name == FORMULA or formula_mod.is_formula(name):
            return _formula_mapping(value)
        if "python" in value or name == PYTHON or _is_reference(name):
            return _python_mapping(value)
    return parse_ref(ACTIVATIONS, value, check_params)


def is_hidden(ref: Ref) -> bool:
    """May this activation be used between layers (softmax may not)."""
    return ref.name in (FORMULA, PYTHON) or ACTIVATIONS.get(ref.name).hidden


def make(ref: Ref, unit_shape: tuple[int, ...] = ()) -> nn.Module:
    """The module of a hidden activation's Ref. ``unit_shape``: the shape of one value per
    unit, for ``per_unit`` learned parameters: ``(units,)`` after a dense layer,
    ``(channels, 1, 1)`` after a conv layer."""
    kwargs = ref.kwargs
    if ref.name == FORMULA:
        text, params = str(kwargs["formula"]), tuple(kwargs["params"])
        shape = tuple(unit_shape) if kwargs["per_unit"] else ()
        return FormulaActivation(_parsed(text, params),
                                 trainable=tuple(kwargs["trainable"]),
                                 shape=shape)
    if ref.name == PYTHON:
        return PythonActivation(str(kwargs["python"]))
    spec = ACTIVATIONS.get(ref.name)
    if kwargs.get("per_unit"):
        return spec.module(**kwargs, shape=tuple(unit_shape))
    return spec.module(**kwargs)


def learned_count(ref: Ref, units: int) -> int:
    """Learned parameters of this activation in a layer of ``units`` units (channels)."""
    kwargs = ref.kwargs
    if ref.name == FORMULA:
        trainable = kwargs["trainable"]
        assert isinstance(trainable, tuple)
        return len(trainable) * (units if kwargs["per_unit"] else 1)
    if ref.name == PYTHON:
        return python_parameter_count(str(kwargs["python"]))
    if ref.name == "swish_beta":
        return units if kwargs["per_unit"] else 1
    return {"prelu": 1, "rational": 10}.get(ref.name, 0)


def learns(ref: Ref) -> bool:
    """Does this activation have parameters learned with the weights."""
    return learned_count(ref, 1) > 0


def _value(tensor: Tensor) -> float | None | list[float | None]:
    """A parameter as JSON: a number (one value) or a flat list; NaN and inf as None. Each
    is the shortest decimal that gives back the value in its own dtype (0.1, not
    0.10000000149 for a float32 0.1)."""
    flat = tensor.detach().cpu().reshape(-1)
    if flat.dtype not in (torch.float16, torch.float32, torch.float64):
        flat = flat.float()
    values = [float(str(v)) for v in flat.numpy()]
    finite = [v if math.isfinite(v) else None for v in values]
    return finite[0] if len(finite) == 1 else finite


LearnedValue = float | None | list[float | None]


def learned_values(module: nn.Module) -> dict[str, LearnedValue]:
    """The learned parameters of one activation module, by name (prelu's is ``slope``, a
    formula's by their names, a Python module's by its own, without ``inner.``)."""
    if isinstance(module, nn.PReLU):
        return {"slope": _value(module.weight)}
    if isinstance(module, FormulaActivation):
        return {name: _value(getattr(module, name)) for name in module.trainable}
    return {name.removeprefix("inner."): _value(p) for name, p in module.named_parameters()}


def learned(net: nn.Module) -> dict[str, dict[str, LearnedValue]]:
    """Every hidden activation's learned parameters, keyed ``layerK`` after the K-th weight
    layer (as diagnostics names them): ``{"layer1": {"beta": 1.37}}``. Layers whose
    activation learns nothing are left out. JSON as it is (NaN and inf become None)."""
    found: dict[str, dict[str, LearnedValue]] = {}
    k = 0
    layers = getattr(net, "layers", None)
    inside: set[int] = set()  # the submodules of an activation (a Python module's own)
    for module in (layers if isinstance(layers, nn.Module) else net).modules():
        if id(module) in inside:
            continue
        if isinstance(module, nn.Linear | nn.Conv2d):
            k += 1
        elif k and spec_of(module) is not None:
            inside.update(id(m) for m in module.modules())
            values = learned_values(module)
            if values:
                found[f"layer{k}"] = values
    return found


# ---------------------------------------------------------------------------------------
# the spec of a module

# the class of each hidden activation's torch module -> its spec
_BY_CLASS = {type(spec.module(**{k: p.default for k, p in spec.params.items()})): spec
             for spec in ACTIVATIONS if spec.hidden}


def autograd_slope(module: nn.Module, x: Tensor) -> Tensor:
    """d module(x) / dx elementwise, by autograd on a detached copy of ``x`` (the module's
    parameters get no gradient; forward hooks are not called). 0 where the output does not
    depend on x."""
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        out = module.forward(leaf)
        if not out.requires_grad:
            return torch.zeros_like(x)
        # the gradient of the sum: the same backward as grad_outputs of ones (which makes
        # torch import its symbolic-shapes machinery and sympy, 0.3 s, on first use)
        (grad,) = torch.autograd.grad(out.sum(), leaf, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad.detach()


def _forward(module: nn.Module) -> Callable[..., Tensor]:
    def fn(x: Tensor, **_: Any) -> Tensor:
        with torch.no_grad():
            return module.forward(x)
    return fn


def _bound(module: nn.Module, spec: ActivationSpec | None) -> ActivationSpec:
    """A spec whose fn and grad are ``module``'s own at its current parameters."""

    def grad(x: Tensor, **_: Any) -> Tensor:
        if isinstance(module, SwishBeta):
            return _swish_beta_grad(x, module.beta.detach())
        if isinstance(module, Rational):
            return module.grad(x)
        return autograd_slope(module, x)

    if spec is None:
        if isinstance(module, FormulaActivation):
            name, text = FORMULA, f"f(x) = {module.formula.text}"
        else:
            name, text = PYTHON, f"f(x) = {getattr(module, 'reference', type(module).__name__)}"
        spec = ActivationSpec(name, "your own activation", text, "f'(x) by autograd",
                              _forward(module), grad, lambda **_: module, "", "")
    return replace(spec, fn=_forward(module), grad=grad, params={}, bound=True)


def spec_of(module: nn.Module) -> ActivationSpec | None:
    """The hidden activation a torch module built by :func:`build` or :func:`make` is, or
    None. For swish_beta, rational, a formula and a Python reference it is bound to the
    module (``bound``): ``fn`` and ``grad`` take no options and compute the module at its
    current parameters; ``grad`` is analytic for swish_beta and rational, autograd
    (:func:`autograd_slope`) for a formula and a Python reference."""
    spec = _BY_CLASS.get(type(module))
    if spec is not None and spec.name not in ("swish_beta", "rational"):
        return spec
    if spec is not None or isinstance(module, FormulaActivation | PythonActivation):
        return _bound(module, spec)
    return None
