"""Losses against hand-written formulas, and the loss/output fit rules."""

from __future__ import annotations

import math

import pytest
import torch

from actcli.components import parse_ref
from actcli.components.activations import ACTIVATIONS
from actcli.components.losses import LOSSES, check_fit, objective
from actcli.errors import ConfigError

P = torch.tensor([[0.9], [0.2], [0.6]], dtype=torch.float64)
Y = torch.tensor([[1.0], [0.0], [0.0]], dtype=torch.float64)


def ref(name, **params):
    return parse_ref(LOSSES, {"name": name, **params})


def test_registry_has_the_issue_list():
    assert {"mae", "mse", "smooth_l1", "bce", "bce_with_logits", "cross_entropy",
            "nll"} <= set(LOSSES.names())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mae", (0.1 + 0.2 + 0.6) / 3),
        ("mse", (0.01 + 0.04 + 0.36) / 3),
        ("smooth_l1", (0.5 * 0.01 + 0.5 * 0.04 + 0.5 * 0.36) / 3),
        ("bce", -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3),
    ],
)
def test_losses_on_probabilities(name, expected):
    loss = LOSSES.get(name).module(**{k: p.default for k, p in LOSSES.get(name).params.items()})
    assert loss(P, Y).item() == pytest.approx(expected, rel=1e-12)


def test_smooth_l1_beyond_beta_is_absolute():
    loss = LOSSES.get("smooth_l1").module(beta=0.1)
    assert loss(P, Y).item() == pytest.approx(((0.5 * 0.01 / 0.1) + (0.2 - 0.05)
                                               + (0.6 - 0.05)) / 3)


def test_bce_with_logits_is_bce_of_sigmoid():
    z = torch.logit(P)
    fn = objective(ref("bce_with_logits"), ACTIVATIONS.get("identity").module(), 1)
    assert fn(z, Y).item() == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3)


def test_cross_entropy_reads_logits_even_with_softmax_output():
    z = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], dtype=torch.float64)
    y = torch.tensor([0, 2])
    by_hand = -(math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
                + math.log(math.exp(3) / (2 * math.exp(0.5) + math.exp(3)))) / 2
    softmax = ACTIVATIONS.get("softmax").module()
    assert objective(ref("cross_entropy"), softmax, 3)(z, y).item() == pytest.approx(by_hand)
    assert objective(ref("nll"), softmax, 3)(z, y).item() == pytest.approx(by_hand)


def test_mse_on_classes_uses_one_hot_targets():
    z = torch.tensor([[2.0, 0.0]], dtype=torch.float64)
    p = torch.softmax(z, dim=-1)[0]
    fn = objective(ref("mse"), ACTIVATIONS.get("softmax").module(), 2)
    assert fn(z, torch.tensor([1])).item() == pytest.approx(((p[0]) ** 2 + (1 - p[1]) ** 2) / 2)


@pytest.mark.parametrize(
    ("name", "output", "n", "message"),
    [
        ("cross_entropy", "sigmoid", 1, "needs two or more classes"),
        ("bce", "sigmoid", 10, "10 classes; use cross_entropy"),
        ("bce", "identity", 1, "does not fit output 'identity'; it fits: sigmoid"),
        ("nll", "identity", 3, "does not fit output 'identity'"),
    ],
)
def test_mismatched_output_is_an_error(name, output, n, message):
    with pytest.raises(ConfigError, match=message):
        check_fit(ref(name), output, n)


@pytest.mark.parametrize(("name", "output", "n"), [
    ("bce", "sigmoid", 1), ("bce_with_logits", "identity", 1), ("cross_entropy", "softmax", 10),
    ("nll", "softmax", 10), ("mse", "sigmoid", 1), ("mae", "softmax", 3),
])
def test_matching_output_is_accepted(name, output, n):
    check_fit(ref(name), output, n)
