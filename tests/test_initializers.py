"""Initializers: exact values for constants, the textbook bounds and spreads for the rest."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from actcli.components import parse_ref
from actcli.components.initializers import INITIALIZERS, apply
from actcli.errors import ConfigError


def layer(fan_in=400, fan_out=300, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(fan_in, fan_out)


def init(name, lin, **params):
    apply(parse_ref(INITIALIZERS, {"name": name, **params}), lin.weight, lin.bias)
    return lin


def test_registry_has_the_issue_list():
    assert {"uniform", "normal", "zeros", "ones", "constant", "xavier_uniform", "xavier_normal",
            "kaiming_uniform", "kaiming_normal", "orthogonal", "default"} <= set(
        INITIALIZERS.names())


@pytest.mark.parametrize(("name", "params", "value"), [
    ("zeros", {}, 0.0), ("ones", {}, 1.0), ("constant", {"value": 5.0}, 5.0),
])
def test_constant_fills_weights_and_bias(name, params, value):
    lin = init(name, layer(3, 2), **params)
    assert torch.equal(lin.weight, torch.full((2, 3), value))
    assert torch.equal(lin.bias, torch.full((2,), value))


def test_uniform_stays_in_its_bounds():
    lin = init("uniform", layer(), low=-0.3, high=0.1)
    assert lin.weight.min() >= -0.3 and lin.weight.max() <= 0.1
    assert lin.weight.mean().item() == pytest.approx(-0.1, abs=0.005)


def test_normal_has_its_mean_and_std():
    lin = init("normal", layer(), mean=2.0, std=0.5)
    assert lin.weight.mean().item() == pytest.approx(2.0, abs=0.01)
    assert lin.weight.std().item() == pytest.approx(0.5, rel=0.02)


def test_xavier_uniform_bound_is_the_glorot_formula():
    lin = init("xavier_uniform", layer(400, 300))
    bound = math.sqrt(6 / (400 + 300))
    assert lin.weight.abs().max() <= bound
    assert lin.weight.abs().max() > 0.99 * bound
    assert torch.equal(lin.bias, torch.zeros(300))


def test_xavier_normal_std():
    lin = init("xavier_normal", layer(400, 300), gain=2.0)
    assert lin.weight.std().item() == pytest.approx(2 * math.sqrt(2 / 700), rel=0.02)


def test_kaiming_normal_std_is_he():
    lin = init("kaiming_normal", layer(400, 300))
    assert lin.weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)


def test_kaiming_uniform_bound_fan_out():
    lin = init("kaiming_uniform", layer(400, 300), mode="fan_out")
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    assert bound * 0.99 < lin.weight.abs().max() <= bound


def test_orthogonal_rows_are_orthonormal():
    lin = init("orthogonal", layer(50, 20))
    torch.testing.assert_close(lin.weight @ lin.weight.T, torch.eye(20), atol=1e-5, rtol=0)


def test_default_keeps_pytorch_initialisation():
    reference = layer(seed=7)
    lin = init("default", layer(seed=7))
    assert torch.equal(lin.weight, reference.weight) and torch.equal(lin.bias, reference.bias)


def test_uniform_bounds_are_checked_together():
    from actcli.components.initializers import check_params

    with pytest.raises(ConfigError, match="low must be < high"):
        parse_ref(INITIALIZERS, {"name": "uniform", "low": 1, "high": 0}, check_params)
