"""Every activation: textbook formula == torch's own module, formula derivative == autograd."""

from __future__ import annotations

import math

import pytest
import torch

from actcli.components.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE

ELEMENTWISE = [s for s in ACTIVATIONS if s.elementwise]
# a dense grid to +-20, plus the kinks and points next to them
GRID = torch.cat([
    torch.linspace(-20, 20, 4001, dtype=torch.float64),
    torch.tensor([0.0, 1e-7, -1e-7, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 20.0, -20.0],
                 dtype=torch.float64),
])


def defaults(spec):
    return {k: p.default for k, p in spec.params.items()}


def test_registry_has_the_issue_list():
    wanted = {"step", "identity", "sigmoid", "hard_sigmoid", "tanh", "hardtanh", "relu", "relu6",
              "leaky_relu", "prelu", "elu", "celu", "selu", "gelu", "silu", "mish", "softplus",
              "softsign", "hardswish", "logsigmoid", "softmax"}
    assert wanted <= set(ACTIVATIONS.names())


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda s: s.name)
def test_formula_matches_torch_module(spec):
    kwargs = defaults(spec)
    ours = spec.fn(GRID, **kwargs)
    theirs = spec.module(**kwargs).double()(GRID)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda s: s.name)
def test_analytic_derivative_matches_autograd(spec):
    kwargs = defaults(spec)
    x = GRID.clone().requires_grad_(True)
    (autograd,) = torch.autograd.grad(spec.module(**kwargs).double()(x).sum(), x)
    torch.testing.assert_close(spec.grad(GRID, **kwargs), autograd, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("spec", ELEMENTWISE, ids=lambda s: s.name)
def test_formula_is_finite_far_out(spec):
    far = torch.tensor([-1e4, -100.0, 100.0, 1e4])
    kwargs = defaults(spec)
    if spec.name in ("identity", "leaky_relu", "prelu", "relu", "elu", "celu", "selu", "gelu",
                     "silu", "mish", "softplus", "hardswish", "logsigmoid"):
        assert torch.isfinite(spec.fn(far, **kwargs)).all()
    assert torch.isfinite(spec.grad(far, **kwargs)).all()


@pytest.mark.parametrize("spec", list(ACTIVATIONS), ids=lambda s: s.name)
def test_every_spec_is_documented(spec):
    assert spec.formula and spec.derivative and spec.output_range and spec.notes and spec.doc


@pytest.mark.parametrize(
    ("name", "x", "expected", "slope"),
    [
        ("sigmoid", 0.0, 0.5, 0.25),
        ("tanh", 0.0, 0.0, 1.0),
        ("relu", -2.0, 0.0, 0.0),
        ("relu", 0.0, 0.0, 0.0),  # torch's convention at the kink
        ("relu", 2.0, 2.0, 1.0),
        ("leaky_relu", -2.0, -0.02, 0.01),
        ("elu", -1.0, math.exp(-1) - 1, math.exp(-1)),
        ("selu", -1.0, SELU_SCALE * SELU_ALPHA * (math.exp(-1) - 1),
         SELU_SCALE * SELU_ALPHA * math.exp(-1)),
        ("softplus", 0.0, math.log(2), 0.5),
        ("softsign", 1.0, 0.5, 0.25),
        ("hard_sigmoid", 0.0, 0.5, 1 / 6),
        ("hardswish", 1.0, 4 / 6, 1 / 3 + 0.5),
        ("gelu", 1.0, 0.5 * (1 + math.erf(1 / math.sqrt(2))),
         0.5 * (1 + math.erf(1 / math.sqrt(2))) + math.exp(-0.5) / math.sqrt(2 * math.pi)),
        ("silu", 1.0, 1 / (1 + math.exp(-1)),
         (1 / (1 + math.exp(-1))) * (1 + (1 - 1 / (1 + math.exp(-1))))),
        ("logsigmoid", 0.0, -math.log(2), 0.5),
        ("step", 0.5, 1.0, 0.0),
        ("step", 0.0, 0.0, 0.0),
    ],
)
def test_values_worked_out_by_hand(name, x, expected, slope):
    spec = ACTIVATIONS.get(name)
    t = torch.tensor([x], dtype=torch.float64)
    assert spec.fn(t, **defaults(spec)).item() == pytest.approx(expected, abs=1e-12)
    assert spec.grad(t, **defaults(spec)).item() == pytest.approx(slope, abs=1e-12)


def test_step_trains_with_zero_gradient():
    x = torch.linspace(-1, 1, 5, requires_grad=True)
    ACTIVATIONS.get("step").module()(x).sum().backward()
    assert torch.equal(x.grad, torch.zeros(5))
    assert torch.equal(ACTIVATIONS.get("step").fn(x.detach()), torch.heaviside(x.detach(),
                                                                          torch.tensor(0.0)))


def test_options_change_the_function():
    spec = ACTIVATIONS.get("leaky_relu")
    x = torch.tensor([-2.0], dtype=torch.float64)
    assert spec.fn(x, negative_slope=0.2).item() == pytest.approx(-0.4)
    assert spec.module(negative_slope=0.2)(x).item() == pytest.approx(-0.4)
    soft = ACTIVATIONS.get("softplus")
    assert soft.fn(x, beta=2.0).item() == pytest.approx(math.log1p(math.exp(-4)) / 2)


def test_softmax_matches_torch_and_its_jacobian_matches_autograd():
    spec = ACTIVATIONS.get("softmax")
    x = torch.tensor([[1.0, 2.0, 0.5, -1.0, 3.0], [1000.0, 0.0, -1000.0, 1.0, 2.0]],
                     dtype=torch.float64)
    torch.testing.assert_close(spec.fn(x), torch.softmax(x, dim=-1))
    torch.testing.assert_close(spec.fn(x).sum(dim=-1), torch.ones(2, dtype=torch.float64))
    for row in x:
        jacobian = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=-1), row)
        torch.testing.assert_close(spec.grad(row), jacobian)


def test_aliases_and_unknown_names():
    from actcli.errors import UnknownNameError

    assert ACTIVATIONS.get("swish").name == "silu"
    with pytest.raises(UnknownNameError, match=r"did you mean 'relu'\?.*valid: .*gelu"):
        ACTIVATIONS.get("relux")
